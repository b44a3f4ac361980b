//! The engine seam: Lua, JavaScript and Rhai behind one trait.
//!
//! An engine only marshals values and callbacks between its language and
//! the dispatcher, and enforces the sandbox and limits inside its VM. It
//! never implements a bridge itself.

mod js;
mod lua;
mod lua_lib;
mod lua_pattern;
mod rhai;
mod rhai_lib;

use std::fmt;
use std::path::Path;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::runtime::Session;
use crate::value::{Map, Value};

/// Which language a spell is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Lua,
    Js,
    Rhai,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [EngineKind::Lua, EngineKind::Js, EngineKind::Rhai];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Lua => "lua",
            EngineKind::Js => "js",
            EngineKind::Rhai => "rhai",
        }
    }

    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn parse(name: &str) -> Option<EngineKind> {
        match name {
            "lua" => Some(EngineKind::Lua),
            "js" | "javascript" | "mjs" => Some(EngineKind::Js),
            "rhai" => Some(EngineKind::Rhai),
            _ => None,
        }
    }

    pub fn from_path(path: &Path) -> Result<EngineKind> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(EngineKind::parse)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::ConfigInvalid,
                    format!(
                        "{}: a spell file ends in .lua, .js or .rhai",
                        path.display()
                    ),
                )
            })
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One engine instance, owning its VM and the spell's session. An engine
/// whose script functions need their VM alive (Lua, QuickJS) releases the
/// session's callbacks when it is dropped.
pub(crate) trait Engine {
    /// Runs the spell's main chunk and returns its result.
    fn run_main(&mut self, name: &str, source: &[u8]) -> Result<Value>;

    /// Evaluates one REPL entry in the engine's persistent state.
    fn eval(&mut self, source: &str) -> Result<Value>;

    /// True when the error means "the entry is not finished yet".
    fn is_incomplete(&self, source: &str) -> bool;

    /// Emits an event with the engine able to call the spell's handlers.
    fn emit(&mut self, topic: &str, data: Value) -> Result<()>;
}

fn new_engine(session: Rc<Session>) -> Result<Box<dyn Engine>> {
    let made: Result<Box<dyn Engine>> = match session.info.engine {
        EngineKind::Lua => lua::LuaEngine::new(session.clone()).map(|e| Box::new(e) as _),
        EngineKind::Js => js::JsEngine::new(session.clone()).map(|e| Box::new(e) as _),
        EngineKind::Rhai => rhai::RhaiEngine::new(session.clone()).map(|e| Box::new(e) as _),
    };
    // A stop that came while the engine was being made is why it failed
    // (the stop interrupts the prelude too).
    made.map_err(|e| match session.stop.reason() {
        Some(code) => session.stop_error(code),
        None => e,
    })
}

/// Runs a spell to its end in a fresh engine, then tells the spell's own
/// `spell.end` handlers and the bus how it went.
pub(crate) fn run(session: Rc<Session>, spell: &crate::Spell) -> Result<serde_json::Value> {
    let mut engine = new_engine(session.clone())?;
    // Into plain data while the engine lives: a value may hold its functions.
    let result = engine
        .run_main(&spell.name, &script_text(spell.engine, &spell.source))
        .and_then(|v| v.to_json())
        // A built-in that ran past the deadline in one call (a sort of
        // millions) could not be stopped inside, but it cannot succeed.
        .and_then(|v| crate::value::Limiter::check(&*session).map(|()| v))
        // However it surfaced (a failed allocation, a compile cut short),
        // a stopped run ends with the reason it was stopped.
        .map_err(|e| match session.stop.reason() {
            Some(code) if e.code.is_fatal() => session.stop_error(code),
            _ => e,
        });
    let mut data = Map::new();
    data.insert("ok".into(), Value::Bool(result.is_ok()));
    data.insert(
        "duration_ms".into(),
        Value::Int(session.started.elapsed().as_millis() as i64),
    );
    if let Err(e) = &result {
        let mut err = Map::new();
        err.insert("code".into(), Value::str(e.code.as_str()));
        err.insert("message".into(), Value::str(&e.message));
        data.insert("error".into(), Value::Map(err));
    }
    // A stopped spell gets no more script time: only the bus hears of it.
    let handlers_may_run = session.stop.reason().is_none();
    if handlers_may_run {
        if let Err(e) = engine.emit("spell.end", Value::Map(data)) {
            if result.is_ok() {
                return Err(e);
            }
        }
    } else if session.bus().has_subscribers() {
        session.publish(
            "spell.end",
            Value::Map(data).to_json()?,
            crate::bus::now_ms(),
        );
    }
    result
}

/// Parses/compiles a spell without running it.
pub fn check(spell: &crate::Spell) -> Result<()> {
    let source = script_text(spell.engine, &spell.source);
    match spell.engine {
        EngineKind::Lua => lua::check(&spell.name, &source),
        EngineKind::Js => js::check(&spell.name, utf8_text(&spell.name, &source)?),
        EngineKind::Rhai => rhai::check(&spell.name, utf8_text(&spell.name, &source)?),
    }
}

/// A spell file as its engine reads it: without a UTF-8 byte-order mark,
/// and with a `#!` first line (an executable script's) blanked, so that
/// every engine takes it and line numbers stay as the file has them. Lua,
/// as its own loader does, skips any first line that starts with `#`.
fn script_text(kind: EngineKind, source: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let text = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    let skipped = match kind {
        EngineKind::Lua => text.starts_with(b"#"),
        EngineKind::Js | EngineKind::Rhai => text.starts_with(b"#!"),
    };
    if !skipped {
        return std::borrow::Cow::Borrowed(text);
    }
    let rest = text
        .iter()
        .position(|&b| b == b'\n')
        .map_or(&b""[..], |i| &text[i..]);
    std::borrow::Cow::Owned(rest.to_vec())
}

/// A JavaScript or Rhai spell's text: those languages read UTF-8 only, so
/// other bytes are a syntax error at their line.
fn utf8_text<'a>(name: &str, source: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(source).map_err(|e| {
        let before = &source[..e.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        Error::new(
            ErrorCode::SpellSyntax,
            format!(
                "byte {:#04x} is not UTF-8 text; JavaScript and Rhai spells are UTF-8",
                source[e.valid_up_to()]
            ),
        )
        .at(Some(crate::error::Location {
            file: name.to_owned(),
            line: line as u32,
        }))
    })
}

/// A live engine kept between entries, for the REPL.
pub struct Repl {
    engine: Box<dyn Engine>,
    session: Rc<Session>,
    /// The lines so far of an entry that needs more.
    pending: String,
}

impl Repl {
    pub fn new(
        runtime: &crate::Runtime,
        kind: EngineKind,
        opts: &crate::RunOptions,
    ) -> Result<Repl> {
        let spell = crate::Spell {
            name: format!("repl.{}", kind.extension()),
            dir: opts.config.project_dir.clone(),
            source: Vec::new(),
            engine: kind,
        };
        let session = Rc::new(runtime.session(&spell, opts));
        crate::store::watch_stop(Some(opts.stop.clone()));
        Ok(Repl {
            engine: crate::panic::contain(|| new_engine(session.clone()))?,
            session,
            pending: String::new(),
        })
    }

    /// Evaluates one entry; its value comes back as data. The limits
    /// apply to each entry, not to the REPL's life (see
    /// [`Session::begin_entry`]).
    pub fn eval(&mut self, source: &str) -> Result<serde_json::Value> {
        self.session.begin_entry();
        crate::panic::contain(|| self.engine.eval(source)?.to_json())
    }

    /// True when `source` is the start of an entry that needs more lines.
    pub fn is_incomplete(&self, source: &str) -> bool {
        self.engine.is_incomplete(source)
    }

    /// One typed line: the whole entry once it is complete (this line and
    /// the unfinished ones before it), or nothing while it needs more (see
    /// [`Repl::waiting`]) or for a blank line.
    pub fn line(&mut self, line: &str) -> Option<String> {
        if !self.pending.is_empty() {
            self.pending.push('\n');
        }
        self.pending.push_str(line);
        if self.pending.trim().is_empty() {
            self.pending.clear();
            return None;
        }
        if self.is_incomplete(&self.pending) {
            return None;
        }
        Some(std::mem::take(&mut self.pending))
    }

    /// Whether an unfinished entry waits for more lines.
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Forgets the unfinished entry (Ctrl+C).
    pub fn drop_pending(&mut self) {
        self.pending.clear();
    }

    /// Globals and bridge functions, for completion.
    pub fn completions(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .session
            .registry
            .bridges()
            .iter()
            .map(|b| b.name.to_owned())
            .collect();
        out.extend(
            self.session
                .registry
                .values()
                .iter()
                .map(|v| v.name.to_owned()),
        );
        out.sort();
        out.dedup();
        out
    }
}

/// Splits `name:line: message` as Lua and others print it.
pub(crate) fn split_location(text: &str, file: &str) -> Option<(u32, String)> {
    let rest = text.strip_prefix(file)?.strip_prefix(':')?;
    let (line, msg) = rest.split_once(':')?;
    let line = line.parse().ok()?;
    Some((line, msg.trim_start().to_owned()))
}
