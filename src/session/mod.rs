//! The seam that engines and bridges both stand on: one spell's
//! [`Session`] (its limits, its sinks, its per-bridge state), the
//! [`Registry`] of bridges, the dispatcher every call passes through (with
//! its hooks, events and debugger), the waits, and the traits an engine
//! implements so that a bridge can call back into the spell.
//!
//! Nothing here knows a language or a particular bridge, and nothing here
//! imports an engine, a bridge or the runtime: they stand on this, not it
//! on them.

mod args;
pub mod debug;
mod definitions;
mod dispatch;
mod events;
pub(crate) mod fiber;
mod hooks;
mod host;
mod journal;
mod registry;
mod slots;
pub mod types;
pub use definitions::{Definitions, GENERATED};
pub mod wait;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

pub use args::{ArgList, Args};
pub use dispatch::{Call, Task};
pub use host::{AsyncHost, HostRef, ScriptHost};
pub use journal::{Journal, JournalRef, Outcome};
pub use registry::{
    Bridge, BridgeId, BridgeImpl, DueAfter, GlobalDoc, Method, Object, Registry, Shape, WaitingImpl,
};
pub use slots::{BridgeState, Resident};

use crate::bus::{Bus, Event};
use crate::config::{Config, Limits};
use crate::error::{Error, ErrorCode, Result};
use crate::provider::Models;
use crate::spell::{Spell, SpellInfo};
use crate::stop::{Deadline, StopHandle, Work};
use crate::store::{Store, Stores};
use crate::value::Value;

/// Where a spell's printed lines go, as bytes: a Lua string may hold any
/// bytes, and `print` writes them as they are, as Lua's does (JavaScript
/// and Rhai lines are always UTF-8).
pub type OutputSink = Arc<dyn Fn(&[u8]) + Send + Sync>;
/// Where `log.*` messages go besides the bus: `(level, message, fields)`.
pub type LogSink = Arc<dyn Fn(&str, &str, &serde_json::Value) + Send + Sync>;
/// One run's own listener for its events, besides the bus (the run
/// history keeps them): `(topic, data, time_ms)`. Events are built for it
/// as for a bus subscriber, but handed over as they are, not made into a
/// bus [`Event`] unless the bus listens too.
pub type EventTap = Arc<dyn Fn(&str, Tapped<'_>, u64) + Send + Sync>;

/// An event's data as a tap gets it: a bridge's value, or JSON.
#[derive(Clone, Copy)]
pub enum Tapped<'a> {
    Value(&'a Value),
    Json(&'a serde_json::Value),
}

impl serde::Serialize for Tapped<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Tapped::Value(v) => v.serialize(s),
            Tapped::Json(v) => v.serialize(s),
        }
    }
}

/// What a session is made from: the runtime's shared parts and one run's
/// options.
pub(crate) struct Setup {
    pub registry: Arc<Registry>,
    pub bus: Bus,
    pub stores: Stores,
    pub config: Config,
    pub args: serde_json::Map<String, serde_json::Value>,
    pub output: OutputSink,
    pub log: LogSink,
    pub stop: StopHandle,
    /// What the run receives from outside is kept in, and answered from.
    pub journal: Option<JournalRef>,
    pub tap: Option<EventTap>,
    pub debugger: Option<debug::Debugger>,
    pub seed: [u8; 32],
    pub resident: Resident,
}

/// One spell's view of the host; lives on the spell's thread.
pub struct Session {
    registry: Arc<Registry>,
    pub info: SpellInfo,
    output: OutputSink,
    log_sink: LogSink,
    bus: Bus,
    stores: Stores,
    store: OnceCell<Arc<Store>>,
    stop: StopHandle,
    limits: Limits,
    started: Instant,
    deadline: Deadline,
    /// The engine's work so far, for `[limits] instructions`.
    work: Work,
    config: Config,
    models: OnceCell<Arc<Models>>,
    journal: Option<JournalRef>,
    tap: Option<EventTap>,
    /// Model calls and tokens so far, for `[limits] max_llm_calls/max_tokens`.
    llm_used: Cell<(u64, u64)>,
    debugger: Option<debug::Debugger>,
    /// See [`crate::RunOptions::seed`]; the journal's, once asked for.
    seed: Cell<Option<[u8; 32]>>,
    /// The seed this session was made with, before the journal is asked.
    given_seed: [u8; 32],
    /// Bytes the engine's own heap holds now, when the engine can say.
    heap: OnceCell<Box<dyn Fn() -> usize>>,
    /// Bytes the host holds for the spell's work in flight (waiting calls,
    /// workflow fibers): charged to its memory cap while they last.
    held: Rc<Cell<usize>>,
    /// A Lua `print` line that is not UTF-8, as its bytes: bridge values
    /// are text, so the print bridge sees its lossy reading and writes
    /// these bytes instead while that reading is what it was given.
    print_bytes: RefCell<Option<Vec<u8>>>,
    /// The dispatcher's own state: the spell's hooks and handlers.
    hooks: RefCell<hooks::Hooks>,
    /// True when any hook is installed: the dispatcher leaves its fast path.
    hooked: Cell<bool>,
    subs: RefCell<events::Subscriptions>,
    /// Ids for hooks and handlers, one sequence for both.
    next_id: Cell<i64>,
    /// What each bridge keeps for this spell, by type.
    state: BridgeState,
    /// What this run shares with the runs it outlives or is outlived by.
    resident: Resident,
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

impl Session {
    pub(crate) fn new(setup: Setup, spell: &Spell) -> Session {
        let limits = setup.config.limits.clone();
        Session {
            registry: setup.registry,
            info: SpellInfo {
                name: spell.name.clone(),
                engine: spell.engine,
                dir: spell.dir.clone(),
                args: setup.args,
            },
            output: setup.output,
            log_sink: setup.log,
            bus: setup.bus,
            stores: setup.stores,
            store: OnceCell::new(),
            stop: setup.stop,
            deadline: Deadline::new(limits.timeout()),
            work: Work::default(),
            limits,
            started: Instant::now(),
            config: setup.config,
            models: OnceCell::new(),
            journal: setup.journal,
            tap: setup.tap,
            llm_used: Cell::new((0, 0)),
            debugger: setup.debugger,
            seed: Cell::new(None),
            given_seed: setup.seed,
            heap: OnceCell::new(),
            held: Rc::default(),
            print_bytes: RefCell::default(),
            hooks: RefCell::default(),
            hooked: Cell::new(false),
            subs: RefCell::default(),
            next_id: Cell::new(0),
            state: BridgeState::default(),
            resident: setup.resident,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stop_handle(&self) -> &StopHandle {
        &self.stop
    }

    pub(crate) fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    pub(crate) fn work(&self) -> &Work {
        &self.work
    }

    /// When the run began.
    pub fn started(&self) -> Instant {
        self.started
    }

    pub fn debugger(&self) -> Option<&debug::Debugger> {
        self.debugger.as_ref()
    }

    /// The seed of the spell's random numbers, asked for when the spell
    /// first draws one: a replayed run is answered with the recorded seed,
    /// so it draws the same numbers; a live one keeps its seed in the
    /// journal. A run that draws none keeps none.
    pub(crate) fn random_seed(&self) -> Result<[u8; 32]> {
        if let Some(seed) = self.seed.get() {
            return Ok(seed);
        }
        let seed = match &self.journal {
            None => self.given_seed,
            Some(journal) => {
                let request = serde_json::json!({});
                match journal.answer("seed", &request)? {
                    Some(kept) => seed_from_json(&kept?)?,
                    None => {
                        let hex: String =
                            self.given_seed.iter().map(|b| format!("{b:02x}")).collect();
                        journal.record("seed", &request, &Ok(hex.into()))?;
                        self.given_seed
                    }
                }
            }
        };
        self.seed.set(Some(seed));
        Ok(seed)
    }

    /// The journal the run keeps what it receives in, and is answered
    /// from when replayed (see [`journal`]).
    pub fn journal(&self) -> Option<&JournalRef> {
        self.journal.as_ref()
    }

    /// Model calls and tokens used so far (this REPL entry's, in a REPL).
    pub fn llm_used(&self) -> (u64, u64) {
        self.llm_used.get()
    }

    /// Counts one more model call of `tokens` tokens.
    pub fn count_llm_call(&self, tokens: u64) {
        let (calls, used) = self.llm_used.get();
        self.llm_used.set((calls + 1, used + tokens));
    }

    /// What bridges keep beyond this spell, shared with other runs (see
    /// [`Resident`]).
    pub fn resident(&self) -> &Resident {
        &self.resident
    }

    /// What bridges keep for this spell, by type (see [`BridgeState`]).
    pub fn state(&self) -> &BridgeState {
        &self.state
    }

    /// Tells the session how to read the engine's heap size, for the
    /// memory cap (once; later calls are ignored).
    pub(crate) fn set_heap(&self, used: Box<dyn Fn() -> usize>) {
        let _ = self.heap.set(used);
    }

    /// The bytes of a Lua `print` line that is not UTF-8 (see
    /// [`Session::print_line`]).
    pub(crate) fn set_print_bytes(&self, bytes: Vec<u8>) {
        *self.print_bytes.borrow_mut() = Some(bytes);
    }

    /// Writes one line of the spell's output: the bytes an engine set for
    /// it when `line` is their lossy reading, else the text.
    pub fn print_line(&self, line: &str) {
        match self.print_bytes.take() {
            Some(bytes) if String::from_utf8_lossy(&bytes) == line => (self.output)(&bytes),
            _ => (self.output)(line.as_bytes()),
        }
    }

    /// Fails with the stop reason once the spell was stopped or tripped a limit.
    #[inline]
    pub fn check_stop(&self) -> Result<()> {
        match self.stop.reason() {
            None => Ok(()),
            Some(code) => Err(self.stop_error(code)),
        }
    }

    /// However a stopped run's error surfaced (a refused allocation, a
    /// compile cut short), the run ends with the reason it was stopped.
    pub fn as_stopped(&self, e: Error) -> Error {
        match self.stop.reason() {
            Some(code) if e.code.is_fatal() => self.stop_error(code),
            _ => e,
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

    /// An error that surfaced after the spell was stopped (a failed
    /// allocation, a compile cut short) is the stop's own error.
    pub fn stopped_as(&self, e: Error) -> Error {
        match self.stop.reason() {
            Some(code) => self.stop_error(code),
            None => e,
        }
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
        let store = self.stores.open(&self.config.project_dir)?;
        Ok(self.store.get_or_init(|| store).clone())
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The project's model providers, read from the config on first use.
    pub fn models(&self) -> Arc<Models> {
        self.models
            .get_or_init(|| Arc::new(Models::from_config(&self.config)))
            .clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// True when someone outside the spell hears its events: a bus
    /// subscriber or the run's own tap.
    pub fn observed(&self) -> bool {
        self.tap.is_some() || self.bus.has_subscribers()
    }

    /// Puts an event from this spell on the bus and the run's tap (not to
    /// its handlers).
    pub fn publish(&self, topic: &str, data: serde_json::Value, time_ms: u64) {
        if let Some(tap) = &self.tap {
            tap(topic, Tapped::Json(&data), time_ms);
        }
        if self.bus.has_subscribers() {
            self.bus.publish(&Event {
                topic: topic.to_owned(),
                data,
                time_ms,
                spell: self.info.name.clone(),
            });
        }
    }

    /// An event's data to the run's tap alone (no one on the bus).
    pub(crate) fn tap(&self, topic: &str, data: &Value, time_ms: u64) {
        if let Some(tap) = &self.tap {
            tap(topic, Tapped::Value(data), time_ms);
        }
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
            let mut m = crate::value::Map::new();
            m.insert("level".into(), Value::str(level));
            m.insert("message".into(), Value::str(message));
            if !fields.is_null() {
                m.insert("fields".into(), fields);
            }
            Value::Map(m)
        })
    }

    /// The next id for a hook or a handler.
    fn next_id(&self) -> i64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// Drops every script function the session holds (hooks, handlers,
    /// whatever a bridge kept); engines call this before they are torn
    /// down.
    pub(crate) fn release_callbacks(&self) {
        self.hooks.borrow_mut().clear();
        self.subs.borrow_mut().clear();
        self.hooked.set(false);
        self.state.clear();
    }
}

/// A seed as the journal keeps it: 64 hex digits.
fn seed_from_json(v: &serde_json::Value) -> Result<[u8; 32]> {
    let bad = || {
        Error::new(
            ErrorCode::ReplayMiss,
            format!("the recorded random seed is not 64 hex digits: {v}"),
        )
    };
    let hex = v
        .as_str()
        .filter(|h| h.len() == 64 && h.is_ascii())
        .ok_or_else(bad)?;
    let mut seed = [0; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(seed)
}
