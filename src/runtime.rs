//! Runs spells: picks the engine, builds the spell's session, applies limits,
//! reports the result. Each spell runs on its own OS thread, which owns its
//! engine; another thread can stop it through a [`StopHandle`].
//!
//! Nothing here may panic on user input: a spell's failure is a coded
//! [`Error`] in its [`Outcome`], and the host goes on.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bridge::{DispatchState, Registry, ScriptHost};
use crate::bus::{now_ms, Bus, Event};
use crate::config::{Config, Limits};
use crate::engine::{self, EngineKind};
use crate::error::{Error, ErrorCode, Result};
use crate::store::Store;
use crate::value::{Map, Value};

/// The largest spell file `Spell::load` reads.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// A spell to run: its source and where it came from.
#[derive(Debug, Clone)]
pub struct Spell {
    /// The file name errors and events show (`hello.lua`).
    pub name: String,
    /// The folder the spell lives in (`spell.dir`).
    pub dir: PathBuf,
    /// The file's bytes. Lua takes any bytes (a string literal may hold
    /// Latin-1); JavaScript and Rhai read UTF-8 text.
    pub source: Vec<u8>,
    pub engine: EngineKind,
}

impl Spell {
    /// Reads a spell file; the engine follows from the extension.
    pub fn load(path: &Path) -> Result<Spell> {
        use std::io::Read;
        let engine = EngineKind::from_path(path)?;
        let cannot = |e: &dyn std::fmt::Display| {
            Error::new(
                ErrorCode::SpellIo,
                format!("cannot read {}: {e}", path.display()),
            )
        };
        let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
        if !file.metadata().map_err(|e| cannot(&e))?.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        let mut bytes = Vec::new();
        file.take(MAX_SOURCE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| cannot(&e))?;
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(cannot(&format!(
                "a spell file may be at most {} MiB",
                MAX_SOURCE_BYTES >> 20
            )));
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Spell {
            name,
            dir,
            source: bytes,
            engine,
        })
    }

    /// A spell from source text, for tests, the REPL and library users.
    pub fn from_source(name: &str, source: &str) -> Result<Spell> {
        Ok(Spell {
            name: name.to_owned(),
            dir: PathBuf::from("."),
            source: source.as_bytes().to_vec(),
            engine: EngineKind::from_path(Path::new(name))?,
        })
    }
}

/// Where a spell's printed lines go, as bytes: a Lua string may hold any
/// bytes, and `print` writes them as they are, as Lua's does (JavaScript
/// and Rhai lines are always UTF-8).
pub type OutputSink = Arc<dyn Fn(&[u8]) + Send + Sync>;
/// Where `log.*` messages go besides the bus: `(level, message, fields)`.
pub type LogSink = Arc<dyn Fn(&str, &str, &serde_json::Value) + Send + Sync>;

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
    /// Pauses the spell at its bridge calls (see [`crate::debug`]).
    pub debugger: Option<crate::debug::Debugger>,
    /// The seed of the spell's random numbers (JavaScript's `Math.random`
    /// and `crypto`): the same seed gives the same numbers, so a run can be
    /// reproduced. `None`: a fresh one from the system.
    pub seed: Option<[u8; 32]>,
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
            debugger: None,
            seed: None,
        }
    }
}

static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once the default output sink found stdout closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

fn level_rank(level: &str) -> usize {
    crate::bridge::LOG_LEVELS
        .iter()
        .position(|l| *l == level)
        .unwrap_or(0)
}

/// What a run ended with.
#[derive(Debug)]
pub struct Outcome {
    /// The spell's result as data, or its coded error.
    pub result: Result<serde_json::Value>,
    pub duration: Duration,
}

/// Stops a running spell from any thread. The first reason set wins, and
/// once set, every later check in the spell fails with it: a spell cannot
/// catch its way past a stop or a limit.
#[derive(Clone, Default)]
pub struct StopHandle(Arc<AtomicU8>);

const REASONS: [ErrorCode; 5] = [
    ErrorCode::Cancelled,
    ErrorCode::LimitTime,
    ErrorCode::LimitInstructions,
    ErrorCode::LimitMemory,
    ErrorCode::LimitDepth,
];

impl StopHandle {
    pub fn new() -> Self {
        StopHandle::default()
    }

    /// Asks the spell to stop; it ends with `cancelled`.
    pub fn stop(&self) {
        self.trip(ErrorCode::Cancelled);
    }

    /// Sets the reason the spell stops, unless one is set already.
    pub fn trip(&self, code: ErrorCode) {
        let n = REASONS
            .iter()
            .position(|c| *c == code)
            .map_or(1, |i| i as u8 + 1);
        let _ = self
            .0
            .compare_exchange(0, n, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn reason(&self) -> Option<ErrorCode> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            n => REASONS.get(n as usize - 1).copied(),
        }
    }

    /// A new start: no reason to stop. A REPL clears a limit an entry
    /// tripped itself; a stop from outside stays until its host clears it.
    pub fn clear(&self) {
        self.0.store(0, Ordering::Release);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

/// What the spell can ask about itself.
#[derive(Debug, Clone)]
pub struct SpellInfo {
    pub name: String,
    pub engine: EngineKind,
    pub dir: PathBuf,
    pub args: serde_json::Map<String, serde_json::Value>,
}

impl SpellInfo {
    /// `spell` as scripts see it.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "args".into(),
            Value::from_json(&serde_json::Value::Object(self.args.clone())),
        );
        m.insert("name".into(), Value::str(&self.name));
        m.insert("engine".into(), Value::str(self.engine.as_str()));
        m.insert("dir".into(), Value::str(self.dir.display().to_string()));
        Value::Map(m)
    }
}

/// One spell's view of the runtime; lives on the spell's thread.
pub struct Session {
    pub(crate) registry: Arc<Registry>,
    pub(crate) dispatch: DispatchState,
    pub info: SpellInfo,
    pub(crate) output: OutputSink,
    log_sink: LogSink,
    bus: Bus,
    stores: Stores,
    project_dir: PathBuf,
    store: OnceCell<Arc<Store>>,
    pub(crate) stop: StopHandle,
    pub(crate) limits: Limits,
    pub(crate) started: Instant,
    pub(crate) deadline: Deadline,
    /// The engine's work so far, for `[limits] instructions`.
    pub(crate) work: Work,
    config: Config,
    models: OnceCell<Arc<crate::provider::Models>>,
    pub(crate) cassette: Option<Arc<Mutex<crate::provider::Cassette>>>,
    /// Model calls and tokens so far, for `[limits] max_llm_calls/max_tokens`.
    pub(crate) llm_used: std::cell::Cell<(u64, u64)>,
    pub(crate) debugger: Option<crate::debug::Debugger>,
    /// See [`RunOptions::seed`].
    pub(crate) seed: [u8; 32],
    /// Bytes the engine's own heap holds now, when the engine can say.
    pub(crate) heap: OnceCell<Box<dyn Fn() -> usize>>,
    /// Bytes the host holds for the spell's work in flight (waiting calls,
    /// workflow fibers): charged to its memory cap while they last.
    held: Rc<Cell<usize>>,
    /// A Lua `print` line that is not UTF-8, as its bytes: bridge values
    /// are text, so the print bridge sees its lossy reading and writes
    /// these bytes instead while that reading is what it was given.
    pub(crate) print_bytes: RefCell<Option<Vec<u8>>>,
}

/// Memory the host holds for a spell while some work of its lasts; given
/// back when dropped. See [`Session::hold`].
pub(crate) struct Hold {
    held: Rc<Cell<usize>>,
    bytes: usize,
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.held.set(self.held.get().saturating_sub(self.bytes));
    }
}

impl crate::value::Limiter for Session {
    fn check(&self) -> Result<()> {
        self.check_stop()?;
        if self.past_deadline() {
            return Err(self.trip(ErrorCode::LimitTime));
        }
        Ok(())
    }

    fn over_memory(&self) -> Error {
        self.trip(ErrorCode::LimitMemory)
    }

    fn memory_left(&self) -> Option<usize> {
        Session::memory_left(self)
    }
}

/// When a run's time is up: its start plus its time limit, plus the time it
/// has spent paused in a debugger (a pause is the user's time, not the
/// spell's). Clones share it all, so engines' limit checks on other
/// threads see a pause, and a REPL's new entry ([`Deadline::restart`]).
#[derive(Clone, Debug)]
pub(crate) struct Deadline(Arc<DeadlineAt>);

#[derive(Debug)]
struct DeadlineAt {
    /// What the microseconds below count from.
    base: Instant,
    /// The time limit's end, `u64::MAX` for none.
    at_us: AtomicU64,
    paused_us: AtomicU64,
    /// All the time paused since `base`, which a new entry does not reset.
    paused_ever_us: AtomicU64,
}

impl Deadline {
    /// `limit` from now (none: never).
    pub(crate) fn new(limit: Option<Duration>) -> Deadline {
        let d = Deadline(Arc::new(DeadlineAt {
            base: Instant::now(),
            at_us: AtomicU64::new(u64::MAX),
            paused_us: AtomicU64::new(0),
            paused_ever_us: AtomicU64::new(0),
        }));
        d.restart(limit);
        d
    }

    /// The time limit starts again from now (a REPL's entry).
    pub(crate) fn restart(&self, limit: Option<Duration>) {
        let at = limit.map_or(u64::MAX, |l| {
            micros(self.0.base.elapsed()).saturating_add(micros(l))
        });
        self.0.paused_us.store(0, Ordering::Relaxed);
        self.0.at_us.store(at, Ordering::Relaxed);
    }

    /// Checked often (every few thousand instructions): two loads and a
    /// clock read, no 128-bit arithmetic.
    pub(crate) fn passed(&self) -> bool {
        let at = self.0.at_us.load(Ordering::Relaxed);
        at != u64::MAX && {
            let paused = self.0.paused_us.load(Ordering::Relaxed);
            self.0.base.elapsed() >= Duration::from_micros(at.saturating_add(paused))
        }
    }

    /// The run was paused this long: its time limit moves on by as much.
    pub(crate) fn add_pause(&self, d: Duration) {
        self.0.paused_us.fetch_add(micros(d), Ordering::Relaxed);
        self.0
            .paused_ever_us
            .fetch_add(micros(d), Ordering::Relaxed);
    }

    /// The spell's own clock: time since the run began less the time it
    /// spent paused in a debugger, so a timer set before a pause is still
    /// as far off after it. A REPL's new entry does not set it back.
    pub(crate) fn run_time(&self) -> Duration {
        let paused = Duration::from_micros(self.0.paused_ever_us.load(Ordering::Relaxed));
        self.0.base.elapsed().saturating_sub(paused)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The engine's own work so far in this run (or this REPL entry), in its
/// own units, for `[limits] instructions`. Only the spell's thread counts
/// (plain loads and stores, no locked add); a REPL sets it back to zero
/// between entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work(Arc<AtomicU64>);

impl Work {
    /// Counts `n` more; the total so far.
    #[inline]
    pub(crate) fn add(&self, n: u64) -> u64 {
        let total = self.0.load(Ordering::Relaxed).saturating_add(n);
        self.0.store(total, Ordering::Relaxed);
        total
    }

    fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl Session {
    /// Fails with the stop reason once the spell was stopped or tripped a limit.
    #[inline]
    pub fn check_stop(&self) -> Result<()> {
        match self.stop.reason() {
            None => Ok(()),
            Some(code) => Err(self.stop_error(code)),
        }
    }

    /// Trips a limit (first reason wins) and returns the error to raise.
    pub fn trip(&self, code: ErrorCode) -> Error {
        self.stop.trip(code);
        self.stop_error(self.stop.reason().unwrap_or(code))
    }

    pub fn stop_error(&self, code: ErrorCode) -> Error {
        let l = &self.limits;
        let message = match code {
            ErrorCode::LimitTime => format!(
                "the spell ran longer than {} s; raise [limits] timeout_secs or --timeout",
                l.timeout_secs
            ),
            ErrorCode::LimitInstructions => format!(
                "the spell ran more than {} instructions; raise [limits] instructions",
                l.instructions
            ),
            ErrorCode::LimitMemory => format!(
                "the spell used more than {} MiB; raise [limits] memory_mb",
                l.memory_mb
            ),
            ErrorCode::LimitDepth if l.call_depth == 0 => {
                "calls nested deeper than the engine's stack allows (stack overflow); recurse less"
                    .to_owned()
            }
            ErrorCode::LimitDepth => format!(
                "calls nested deeper than {}; raise [limits] call_depth or recurse less",
                l.call_depth
            ),
            _ => "the spell was stopped".to_owned(),
        };
        Error::new(code, message)
    }

    /// What the memory cap leaves for the host's copies of the spell's
    /// values: the cap less what the engine holds now.
    pub(crate) fn memory_left(&self) -> Option<usize> {
        let cap = self.limits.memory_bytes()?;
        let heap = self.heap.get().map_or(0, |used| used());
        Some(cap.saturating_sub(heap).saturating_sub(self.held.get()))
    }

    /// Charges `bytes` the host keeps for the spell (one waiting call, one
    /// workflow fiber) to its memory cap until the [`Hold`] is dropped: a
    /// spell that starts 200,000 calls at once ends with `limit.memory`
    /// instead of the host holding them all.
    pub(crate) fn hold(&self, bytes: usize) -> Result<Hold> {
        if self.memory_left().is_some_and(|left| left < bytes) {
            return Err(self.trip(ErrorCode::LimitMemory));
        }
        self.held.set(self.held.get() + bytes);
        Ok(Hold {
            held: self.held.clone(),
            bytes,
        })
    }

    /// Counts the host's work on one of the spell's values against its
    /// limits (see [`crate::value::Meter`]).
    pub(crate) fn meter(&self) -> crate::value::Meter<'_> {
        crate::value::Meter::new(self)
    }

    /// A REPL's next entry: the limits (time, instructions, model calls and
    /// tokens) apply to each entry afresh, and a limit an earlier entry
    /// tripped no longer stops this one. A stop from outside
    /// ([`StopHandle::stop`]) stays: it stops the entries sent before it
    /// until the host clears it. Memory is what the REPL holds, so its cap
    /// stays on all of it.
    pub(crate) fn begin_entry(&self) {
        if self.stop.reason() != Some(ErrorCode::Cancelled) {
            self.stop.clear();
        }
        self.deadline.restart(self.limits.timeout());
        self.work.reset();
        self.llm_used.set((0, 0));
    }

    /// True once the wall-clock limit has passed (engines call this rarely).
    pub fn past_deadline(&self) -> bool {
        self.deadline.passed()
    }

    /// The project's state database, opened on first use.
    pub fn store(&self) -> Result<Arc<Store>> {
        if let Some(s) = self.store.get() {
            return Ok(s.clone());
        }
        let store = self.stores.open(&self.project_dir)?;
        Ok(self.store.get_or_init(|| store).clone())
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The project's model providers, read from the config on first use.
    pub fn models(&self) -> Arc<crate::provider::Models> {
        self.models
            .get_or_init(|| Arc::new(crate::provider::Models::from_config(&self.config)))
            .clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Puts an event from this spell on the bus (not to its handlers).
    pub(crate) fn publish(&self, topic: &str, data: serde_json::Value, time_ms: u64) {
        self.bus.publish(&Event {
            topic: topic.to_owned(),
            data,
            time_ms,
            spell: self.info.name.clone(),
        });
    }

    /// Sends an event to the bus and to the spell's matching handlers.
    /// `data` is only built when someone listens.
    pub fn emit(
        &self,
        host: &mut dyn ScriptHost,
        topic: &str,
        data: impl FnOnce() -> Value,
    ) -> Result<()> {
        let to_bus = self.bus.has_subscribers();
        // Collecting no matches allocates nothing: no special case needed.
        let handlers = self.dispatch.subs.borrow().matching(topic);
        if !to_bus && handlers.is_empty() {
            return Ok(());
        }
        let data = data();
        let time_ms = now_ms();
        if to_bus {
            self.publish(topic, data.to_json()?, time_ms);
        }
        if handlers.is_empty() {
            return Ok(());
        }
        let mut event = Map::new();
        event.insert("topic".into(), Value::str(topic));
        event.insert("data".into(), data);
        event.insert("time_ms".into(), Value::Int(time_ms as i64));
        let event = Value::Map(event);
        for (func, running) in handlers {
            running.set(true);
            let out = host.call(&func, vec![event.clone()]);
            running.set(false);
            if let Err(e) = out {
                if e.code.is_fatal() {
                    return Err(e);
                }
                // A failing handler must not undo what caused the event
                // (a state.set that is already saved): report it instead,
                // to the log and the bus only, never to script handlers,
                // which could fail on the report and loop.
                let msg = format!("an events.on handler for {topic} failed: {}", e.report());
                (self.log_sink)("error", &msg, &serde_json::Value::Null);
                let data = serde_json::json!({"level": "error", "message": msg});
                self.publish("log", data, now_ms());
            }
        }
        Ok(())
    }

    /// A `log` event, and the log sink.
    pub fn log(
        &self,
        host: &mut dyn ScriptHost,
        level: &str,
        message: &str,
        fields: Value,
    ) -> Result<()> {
        let json = fields.to_json()?;
        (self.log_sink)(level, message, &json);
        self.emit(host, "log", || {
            let mut m = Map::new();
            m.insert("level".into(), Value::str(level));
            m.insert("message".into(), Value::str(message));
            if !fields.is_null() {
                m.insert("fields".into(), fields);
            }
            Value::Map(m)
        })
    }

    /// Drops every script function the session holds (hooks, handlers);
    /// engines call this before they are torn down.
    pub(crate) fn release_callbacks(&self) {
        self.dispatch.hooks.borrow_mut().clear();
        self.dispatch.subs.borrow_mut().clear();
        self.dispatch.hooked.set(false);
        self.dispatch.tools.borrow_mut().clear();
        self.dispatch.agents.borrow_mut().clear();
    }
}

/// Open state databases, one per project folder, shared by the spells of a
/// runtime.
#[derive(Clone, Default)]
struct Stores(Arc<Mutex<HashMap<PathBuf, Arc<Store>>>>);

impl Stores {
    fn open(&self, dir: &Path) -> Result<Arc<Store>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(dir) {
            return Ok(s.clone());
        }
        let store = Arc::new(Store::open(dir)?);
        map.insert(dir.to_path_buf(), store.clone());
        Ok(store)
    }
}

/// The spell runtime: the bridge registry, the event bus, open stores.
/// Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Runtime {
    registry: Arc<Registry>,
    bus: Bus,
    stores: Stores,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// Spell threads get a large stack: engines recurse on it, and the engines'
/// own depth limits must trip long before it runs out.
pub const SPELL_STACK: usize = 64 << 20;

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
        let session = std::rc::Rc::new(self.session(spell, opts));
        let started = session.started;
        crate::store::watch_stop(Some(opts.stop.clone()));
        let start = serde_json::json!({
            "spell": spell.name,
            "engine": spell.engine.as_str(),
            "args": opts.args,
        });
        session.publish("spell.start", start, now_ms());
        let result = crate::panic::contain(|| engine::run(session.clone(), spell));
        crate::store::watch_stop(None);
        Outcome {
            result,
            duration: started.elapsed(),
        }
    }

    pub(crate) fn session(&self, spell: &Spell, opts: &RunOptions) -> Session {
        let started = Instant::now();
        let limits = opts.config.limits.clone();
        Session {
            registry: self.registry.clone(),
            dispatch: DispatchState::default(),
            info: SpellInfo {
                name: spell.name.clone(),
                engine: spell.engine,
                dir: spell.dir.clone(),
                args: opts.args.clone(),
            },
            output: opts.output.clone(),
            log_sink: opts.log.clone(),
            bus: self.bus.clone(),
            stores: self.stores.clone(),
            project_dir: opts.config.project_dir.clone(),
            store: OnceCell::new(),
            stop: opts.stop.clone(),
            deadline: Deadline::new(limits.timeout()),
            work: Work::default(),
            limits,
            started,
            config: opts.config.clone(),
            models: OnceCell::new(),
            cassette: opts.cassette.clone(),
            llm_used: std::cell::Cell::new((0, 0)),
            debugger: opts.debugger.clone(),
            seed: opts.seed.unwrap_or_else(|| {
                use rand_core::RngCore;
                let mut seed = [0; 32];
                rand_core::OsRng.fill_bytes(&mut seed);
                seed
            }),
            heap: OnceCell::new(),
            held: Rc::default(),
            print_bytes: RefCell::default(),
        }
    }
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
