//! The engine seam: Lua, JavaScript and Rhai behind one trait.
//!
//! An engine only marshals values and callbacks between its language and
//! the dispatcher, and enforces the sandbox and limits inside its VM. It
//! never implements a bridge itself.

mod js;
mod lua;
mod lua_debug;
mod lua_lib;
mod lua_pattern;
mod lua_values;
mod rhai;
#[cfg(feature = "rhai-debugger")]
mod rhai_debug;
mod rhai_lib;
mod rhai_tokens;
mod rhai_values;
mod skeleton;

use std::rc::Rc;

pub use crate::spell::EngineKind;

/// TypeScript declarations of what JavaScript spells have beside the
/// bridges: the prelude's and web/'s globals (timers, AbortController, URL…).
pub const JS_GLOBALS: &str = include_str!("js/globals.d.ts");

use crate::error::{Error, ErrorCode, Result};
use crate::session::{Registry, Session};
use crate::value::Value;

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

/// A fresh engine for the session's spell.
pub(crate) fn new(session: Rc<Session>) -> Result<Box<dyn Engine>> {
    let made: Result<Box<dyn Engine>> = match session.info.engine {
        EngineKind::Lua => lua::LuaEngine::new(session.clone()).map(|e| Box::new(e) as _),
        EngineKind::Js => js::JsEngine::new(session.clone()).map(|e| Box::new(e) as _),
        EngineKind::Rhai => rhai::RhaiEngine::new(session.clone()).map(|e| Box::new(e) as _),
    };
    // A stop that came while the engine was being made is why it failed
    // (the stop interrupts the prelude too).
    made.map_err(|e| session.stopped_as(e))
}

/// Parses/compiles a spell without running it, with `registry`'s bridges
/// (Rhai reads a bridge's member names as names, even where they are its
/// keywords).
pub fn check(spell: &crate::spell::Spell, registry: &Registry) -> Result<()> {
    let source = script_text(spell.engine, &spell.source);
    match spell.engine {
        EngineKind::Lua => lua::check(&spell.name, &source),
        EngineKind::Js => js::check(&spell.name, utf8_text(&spell.name, &source)?),
        EngineKind::Rhai => rhai::check(&spell.name, utf8_text(&spell.name, &source)?, registry),
    }
}

/// The lines of a spell that have code a line breakpoint can stop at, so
/// that a breakpoint elsewhere (a blank line, a comment) can say it never
/// fires; `None` when the spell does not compile.
pub fn code_lines(
    spell: &crate::spell::Spell,
    registry: &Registry,
) -> Option<std::collections::BTreeSet<u32>> {
    let source = script_text(spell.engine, &spell.source);
    match spell.engine {
        EngineKind::Lua => lua_debug::code_lines(&source),
        EngineKind::Js => js::code_lines(std::str::from_utf8(&source).ok()?),
        EngineKind::Rhai => rhai::code_lines(std::str::from_utf8(&source).ok()?, registry),
    }
}

/// A spell file as its engine reads it: without a UTF-8 byte-order mark,
/// and with a `#!` first line (an executable script's) blanked, so that
/// every engine takes it and line numbers stay as the file has them. Lua,
/// as its own loader does, skips any first line that starts with `#`.
pub(crate) fn script_text(kind: EngineKind, source: &[u8]) -> std::borrow::Cow<'_, [u8]> {
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

/// Splits `name:line: message` as Lua and others print it.
pub(crate) fn split_location(text: &str, file: &str) -> Option<(u32, String)> {
    let rest = text.strip_prefix(file)?.strip_prefix(':')?;
    let (line, msg) = rest.split_once(':')?;
    let line = line.parse().ok()?;
    Some((line, msg.trim_start().to_owned()))
}
