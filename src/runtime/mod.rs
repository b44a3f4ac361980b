//! Runs spells: picks the engine, builds the spell's session, applies limits,
//! reports the result. Each spell runs on its own OS thread, which owns its
//! engine; another thread can stop it through a [`StopHandle`].
//!
//! Nothing here may panic on user input: a spell's failure is a coded
//! [`Error`] in its [`Outcome`], and the host goes on.

mod repl;

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use repl::Repl;
// Where these lived before the session seam, for library users.
pub use crate::session::{LogSink, OutputSink};
pub use crate::spell::{Spell, SpellInfo, MAX_SOURCE_BYTES, SPELL_STACK};
pub use crate::stop::StopHandle;

use crate::bus::{now_ms, Bus};
use crate::config::{Config, LOG_LEVELS};
use crate::engine;
use crate::error::Result;
use crate::session::{Registry, Session, Setup};
use crate::store::Stores;
use crate::value::{Map, Value};

/// How to run one spell.
#[derive(Clone)]
pub struct RunOptions {
    pub config: Config,
    /// `spell.args`.
    pub args: serde_json::Map<String, serde_json::Value>,
    pub output: OutputSink,
    pub log: LogSink,
    pub stop: StopHandle,
    /// Record and/or replay model exchanges (`--record`, `--replay`).
    pub cassette: Option<Arc<Mutex<crate::provider::Cassette>>>,
    /// More journals that keep every exchange (and may answer it), asked
    /// after the cassette: the run history is one.
    pub journals: Vec<Arc<Mutex<dyn crate::session::Journal>>>,
    /// Hears every event of this run, as a bus subscriber would (the run
    /// history keeps them), without hearing other runs of the runtime.
    pub tap: Option<crate::session::EventTap>,
    /// Pauses the spell at its bridge calls (see [`crate::session::debug`]).
    pub debugger: Option<crate::session::debug::Debugger>,
    /// The seed of the spell's random numbers (JavaScript's `Math.random`
    /// and `crypto`): the same seed gives the same numbers, so a run can be
    /// reproduced. `None`: a fresh one from the system.
    pub seed: Option<[u8; 32]>,
    /// What the run starts that may outlive it (MCP servers): runs given
    /// the same one share it, and it lives as long as they do. `None`: the
    /// runtime's, shared by its runs until the last clone of the
    /// [`Runtime`] is dropped (the IDE's one runtime keeps its servers up
    /// across runs; `llmspell run`'s stops them when the run ends).
    pub resident: Option<crate::session::Resident>,
}

impl RunOptions {
    /// Output to stdout, logs at or above the config's level to stderr.
    /// A closed stdout (`llmspell run x | head -1`) stops the run, as a
    /// closed pipe ends any Unix program, and sets [`stdout_closed`]; a
    /// failing stderr drops the log line. Neither panics.
    pub fn new(config: Config) -> Self {
        use std::io::Write;
        let min = level_rank(&config.log.level);
        let stop = StopHandle::new();
        let on_close = stop.clone();
        RunOptions {
            config,
            args: serde_json::Map::new(),
            output: Arc::new(move |line| {
                let mut out = std::io::stdout().lock();
                if out
                    .write_all(line)
                    .and_then(|()| out.write_all(b"\n"))
                    .is_err()
                {
                    STDOUT_CLOSED.store(true, Ordering::Relaxed);
                    on_close.stop();
                }
            }),
            log: Arc::new(move |level, message, fields| {
                if level_rank(level) >= min {
                    let mut err = std::io::stderr().lock();
                    let _ = if fields.is_null() {
                        writeln!(err, "[{level}] {message}")
                    } else {
                        writeln!(err, "[{level}] {message} {fields}")
                    };
                }
            }),
            stop,
            cassette: None,
            journals: Vec::new(),
            tap: None,
            debugger: None,
            seed: None,
            resident: None,
        }
    }
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The spell API's type definitions for editors (`llmspell api --types`):
/// the registry's, and for JavaScript the engine's own globals beside them.
/// A declaration the registry cannot render is a bug of ours (`internal`).
pub fn definitions(lang: crate::session::Definitions) -> Result<String> {
    let mut text = Registry::standard().definitions(lang).map_err(|e| {
        crate::error::Error::new(
            crate::error::ErrorCode::Internal,
            format!("the registry's types: {e}"),
        )
    })?;
    if lang == crate::session::Definitions::Ts {
        text.push('\n');
        text.push_str(engine::JS_GLOBALS);
    }
    Ok(text)
}

/// True once the default output sink found stdout closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

fn level_rank(level: &str) -> usize {
    LOG_LEVELS.iter().position(|l| *l == level).unwrap_or(0)
}

/// What a run ended with.
#[derive(Debug)]
pub struct Outcome {
    /// The spell's result as data, or its coded error.
    pub result: Result<serde_json::Value>,
    pub duration: Duration,
}

/// The spell runtime: the bridge registry, the event bus, open stores,
/// the MCP servers its runs started. Cheap to clone; clones share
/// everything.
#[derive(Clone)]
pub struct Runtime {
    registry: Arc<Registry>,
    bus: Bus,
    stores: Stores,
    resident: crate::session::Resident,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    pub fn new() -> Self {
        Runtime::with_registry(Registry::standard())
    }

    /// A runtime with extra bridges a library user added to the registry.
    pub fn with_registry(registry: Registry) -> Self {
        Runtime {
            registry: Arc::new(registry),
            bus: Bus::new(),
            stores: Stores::default(),
            resident: crate::session::Resident::default(),
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Runs a spell on its own thread and waits for it.
    pub fn run(&self, spell: &Spell, opts: &RunOptions) -> Outcome {
        self.spawn(spell.clone(), opts.clone()).join()
    }

    /// Starts a spell on its own thread.
    pub fn spawn(&self, spell: Spell, opts: RunOptions) -> RunHandle {
        let rt = self.clone();
        let stop = opts.stop.clone();
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name(format!("spell {}", spell.name))
            .stack_size(SPELL_STACK)
            .spawn(move || rt.run_here(&spell, &opts));
        RunHandle {
            thread: thread.map_err(|e| e.to_string()),
            stop,
            started,
        }
    }

    /// Runs a spell on the calling thread (which must have a large stack).
    pub fn run_here(&self, spell: &Spell, opts: &RunOptions) -> Outcome {
        if let Err(e) = opts.config.limits.validate() {
            return Outcome {
                result: Err(e),
                duration: Duration::ZERO,
            };
        }
        let args = match declared_args(spell, &opts.args) {
            Ok(args) => args,
            Err(e) => {
                return Outcome {
                    result: Err(e),
                    duration: Duration::ZERO,
                }
            }
        };
        let session = Rc::new(self.session(spell, opts, args));
        let started = session.started();
        crate::store::watch_stop(Some(opts.stop.clone()));
        let start = serde_json::json!({
            "spell": spell.name,
            "engine": spell.engine.as_str(),
            "args": opts.args,
        });
        session.publish("spell.start", start, now_ms());
        let result = crate::panic::contain(|| run(session.clone(), spell));
        crate::store::watch_stop(None);
        Outcome {
            result,
            duration: started.elapsed(),
        }
    }

    pub(crate) fn session(
        &self,
        spell: &Spell,
        opts: &RunOptions,
        args: serde_json::Map<String, serde_json::Value>,
    ) -> Session {
        let setup = Setup {
            registry: self.registry.clone(),
            bus: self.bus.clone(),
            stores: self.stores.clone(),
            config: opts.config.clone(),
            args,
            output: opts.output.clone(),
            log: opts.log.clone(),
            stop: opts.stop.clone(),
            journal: {
                let mut journals = opts.journals.clone();
                if let Some(c) = opts.cassette.clone() {
                    journals.insert(0, c);
                }
                crate::session::JournalRef::all(journals)
            },
            tap: opts.tap.clone(),
            debugger: opts.debugger.clone(),
            seed: opts.seed.unwrap_or_else(|| {
                use rand_core::RngCore;
                let mut seed = [0; 32];
                rand_core::OsRng.fill_bytes(&mut seed);
                seed
            }),
            resident: opts
                .resident
                .clone()
                .unwrap_or_else(|| self.resident.clone()),
        };
        Session::new(setup, spell)
    }
}

/// `args` as the spell declares its own (`@param`, see
/// [`crate::spell::Signature`]): text read as the declared type where it
/// reads as one, then checked (`args.invalid` at the declaration's line).
/// A spell that declares nothing takes any args.
fn declared_args(
    spell: &Spell,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let Some(sig) = spell.signature()? else {
        return Ok(args.clone());
    };
    let mut args = args.clone();
    sig.read_text_args(&mut args);
    sig.check(&spell.name, &args)?;
    Ok(args)
}

/// Runs a spell to its end in a fresh engine, then tells the spell's own
/// `spell.end` handlers and the bus how it went.
fn run(session: Rc<Session>, spell: &Spell) -> Result<serde_json::Value> {
    let mut engine = engine::new(session.clone())?;
    // Into plain data while the engine lives: a value may hold its functions.
    let stop = session.stop_handle();
    let result = engine
        .run_main(
            &spell.name,
            &engine::script_text(spell.engine, &spell.source),
        )
        .and_then(|v| v.to_json())
        // A built-in that ran past the deadline in one call (a sort of
        // millions) could not be stopped inside, but it cannot succeed.
        .and_then(|v| crate::value::Limiter::check(&*session).map(|()| v))
        .map_err(|e| session.as_stopped(e));
    let mut data = Map::new();
    data.insert("ok".into(), Value::Bool(result.is_ok()));
    data.insert(
        "duration_ms".into(),
        Value::Int(session.started().elapsed().as_millis() as i64),
    );
    if let Err(e) = &result {
        let mut err = Map::new();
        err.insert("code".into(), Value::str(e.code.as_str()));
        err.insert("message".into(), Value::str(&e.message));
        data.insert("error".into(), Value::Map(err));
    }
    // A stopped spell gets no more script time: only the bus hears of it.
    if stop.reason().is_none() {
        if let Err(e) = engine.emit("spell.end", Value::Map(data)) {
            if result.is_ok() {
                return Err(e);
            }
        }
    } else if session.observed() {
        session.publish("spell.end", Value::Map(data).to_json()?, now_ms());
    }
    result
}

/// A spell running on its own thread.
pub struct RunHandle {
    thread: std::result::Result<std::thread::JoinHandle<Outcome>, String>,
    stop: StopHandle,
    started: Instant,
}

impl RunHandle {
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().map_or(true, |t| t.is_finished())
    }

    /// Waits for the spell. A panic inside an engine becomes an error
    /// outcome; it never takes the host down.
    pub fn join(self) -> Outcome {
        let internal = |what: String| Outcome {
            result: Err(crate::panic::internal(&what)),
            duration: self.started.elapsed(),
        };
        match self.thread {
            Err(e) => internal(format!("cannot start the spell thread: {e}")),
            Ok(t) => match t.join() {
                Ok(outcome) => outcome,
                Err(panic) => internal(crate::panic::payload_text(&*panic)),
            },
        }
    }
}
