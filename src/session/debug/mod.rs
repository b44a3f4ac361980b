//! Pausing a spell at its bridge calls and lines, for a debugger (the IDE,
//! `llmspell dap`, a test).
//!
//! A [`Debugger`] is handed to a run in [`crate::RunOptions`]. The spell's
//! thread pauses before a bridge call that matches a break pattern (or any
//! call, when stepping) and, after a step, once more when the call has
//! returned; the debugger sees the call, its arguments or its result, the
//! spell's place, its call stack and its locals, may replace the arguments
//! or the result, and says how to go on. Spells also pause at line
//! breakpoints (with conditions, hit counts and log messages), and step by
//! lines (JavaScript, which has no line hook, through probes a debugged
//! run's source is given: `engine/js/probes.rs`). While the spell is paused the
//! debugger may ask it, on its own thread, for any frame's locals, to
//! evaluate an expression there, or to set a local ([`Inspect`]). A paused
//! spell still stops at once when it is stopped. This module never blocks
//! the debugger's side longer than it asks: only the spell waits.

mod breakpoints;

pub use breakpoints::Breakpoint;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::Session;
use crate::bus::pattern_matches;
use crate::error::{Error, ErrorCode, Location, Result};
use crate::value::Value;
use breakpoints::{Kept, Piece};

/// Where in a bridge call the spell is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the call: `args` are what the bridge will get.
    Before,
    /// After the call: `result` is what the spell will get.
    After,
    /// At the start of a line (`call` is `"line"`).
    Line,
}

/// Why the spell paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A step ended here.
    Step,
    /// A line breakpoint (its condition held, or failed: see [`Pause::note`]).
    Breakpoint,
    /// A bridge call matched a break pattern (`llm.*`).
    Call,
    /// The debugger asked the spell to pause ([`Debugger::pause_soon`]).
    Pause,
    /// A bridge call failed with a coded error ([`Debugger::break_on_errors`]);
    /// [`Pause::note`] holds it.
    Error,
}

impl Why {
    /// The word for it, as Debug Adapter Protocol `stopped` events say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Step => "step",
            Why::Breakpoint => "breakpoint",
            Why::Call => "function breakpoint",
            Why::Pause => "pause",
            Why::Error => "exception",
        }
    }
}

/// A local variable's name and value, as the debugger shows it.
pub type Local = (String, serde_json::Value);

/// One frame of the spell's call stack: the function (`"main"` for
/// the spell's top level), and the place in the spell it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: u32,
}

/// A paused bridge call or line.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub when: When,
    pub why: Why,
    /// The bridge, as scripts call it (`llm.chat`), or `"line"`.
    pub call: String,
    pub args: Vec<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    /// The spell's place, when the engine knows it.
    pub location: Option<Location>,
    /// The innermost spell function's locals, in the order they were
    /// declared (in JavaScript, at a bridge call, while the debugger steps
    /// or has break patterns).
    pub locals: Vec<Local>,
    /// The spell's call stack, innermost first (in JavaScript, from a stack
    /// trace at the call: after an `await` it begins at the function that
    /// awaited).
    pub stack: Vec<Frame>,
    /// What else the debugger should say: a breakpoint condition that failed.
    pub note: Option<String>,
}

/// How a paused spell goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run until the next breakpoint or call that matches a break pattern.
    Continue,
    /// Step over, at bridge-call level: from before a call, pause when it
    /// returns, and nowhere inside it (the bridge calls a tool's `run`, a
    /// `workflow.map` function or a hook make while it runs); from anywhere
    /// else, pause before the next bridge call.
    Step,
    /// Step into: pause at the next line or at the next
    /// bridge call, inside the call about to run too.
    StepLine,
    /// Step over, at line level: pause at the next line or bridge call in
    /// this function or one that called it, not in the functions it calls.
    Next,
    /// Step out: pause at the first line or bridge call (its return
    /// included) in a function that called this one.
    StepOut,
    /// End the spell with `cancelled`.
    Abort,
}

/// What an engine offers a debugger at a pause, on the spell's thread.
/// Frames count as [`Pause::stack`] does, 0 the innermost.
pub trait Inspect {
    /// The spell's call stack, innermost first.
    fn stack(&mut self) -> Vec<Frame>;

    /// How many frames [`Inspect::stack`] would give (engines may count
    /// faster than they describe).
    fn depth(&mut self) -> usize {
        self.stack().len()
    }

    /// A frame's locals, in the order they were declared.
    fn locals(&mut self, frame: usize) -> Vec<Local>;

    /// Runs `code` in a frame, as the spell's language reads it there: an
    /// expression's value (or statements, whose value is null). Assigning
    /// a local of the frame sets it.
    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value>;

    /// Sets a local of a frame to a value.
    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()>;

    /// Whether a value counts as true in the spell's language (a breakpoint
    /// condition); `None` when the language would not take it as a condition.
    fn truthy(&self, v: &serde_json::Value) -> Option<bool>;
}

/// A pause where the engine can tell the debugger nothing more than the
/// pause itself holds.
pub(crate) struct Unavailable<'a>(pub &'a str);

impl Inspect for Unavailable<'_> {
    fn stack(&mut self) -> Vec<Frame> {
        Vec::new()
    }
    fn locals(&mut self, _: usize) -> Vec<Local> {
        Vec::new()
    }
    fn evaluate(&mut self, _: usize, _: &str) -> Result<serde_json::Value> {
        Err(unsupported(self.0))
    }
    fn set_local(&mut self, _: usize, _: &str, _: &serde_json::Value) -> Result<()> {
        Err(unsupported(self.0))
    }
    fn truthy(&self, _: &serde_json::Value) -> Option<bool> {
        None
    }
}

/// The error for what a pause cannot do, saying why.
pub(crate) fn unsupported(why: &str) -> Error {
    Error::new(ErrorCode::DebugUnsupported, why)
}

/// How the spell is going on since its last pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Until a breakpoint or a break pattern.
    #[default]
    Run,
    /// To the next bridge call, before or after ([`Resume::Step`]).
    Calls,
    /// To the next line or bridge call ([`Resume::StepLine`]).
    Lines,
    /// To the next line or bridge call at most this many frames deep.
    Within(usize),
    /// To the next line or bridge call fewer than this many frames deep.
    Above(usize),
    /// Stepping over this call (numbered as [`State::calls`] counts): no
    /// stepping or pattern pauses until it ends (a line breakpoint still
    /// pauses inside it).
    Over(u64),
}

/// What a debugger asks a paused spell.
#[derive(Debug, Clone)]
enum Ask {
    Locals(usize),
    Evaluate(usize, String),
    Set(usize, String, serde_json::Value),
}

type Reply = std::result::Result<serde_json::Value, String>;

#[derive(Default)]
struct State {
    patterns: Vec<String>,
    /// Line breakpoints, one per line. A spell is one file, so a line
    /// number is enough.
    lines: Vec<Kept>,
    mode: Mode,
    /// The debugger asked for a pause at the next chance.
    pause_soon: bool,
    /// Pause when a bridge call fails with a coded error.
    errors: bool,
    /// Bridge calls begun so far; the number of the one paused at.
    calls: u64,
    paused_call: Option<u64>,
    paused: Option<Pause>,
    answer: Option<(Resume, Option<serde_json::Value>)>,
    /// A question to the paused spell, numbered, and the last answer.
    ask: Option<(u64, Ask)>,
    reply: Option<(u64, Reply)>,
    asked: u64,
    /// The paused spell is answering a question: what it runs meanwhile
    /// (a watch that calls a function) never pauses.
    answering: bool,
    /// Pauses so far: tells one pause from the next, even when they look alike.
    count: u64,
}

/// Whether to pause at a point, and why: at once, or if the spell is then
/// fewer frames deep than some depth.
enum Want {
    No,
    Yes(Why),
    Within(usize),
    Above(usize),
}

impl Want {
    /// Decides, asking the depth only when it matters.
    fn decide(self, depth: impl FnOnce() -> usize) -> Option<Why> {
        match self {
            Want::No => None,
            Want::Yes(why) => Some(why),
            Want::Within(d) => (depth() <= d).then_some(Why::Step),
            Want::Above(d) => (depth() < d).then_some(Why::Step),
        }
    }
}

/// The debugger's handle on one run; clones share it.
#[derive(Clone, Default)]
pub struct Debugger {
    shared: Arc<(Mutex<State>, Condvar)>,
}

/// What [`Debugger::probe_plan`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbePlan {
    pub every: bool,
    pub lines: Vec<u32>,
}

/// How often a paused spell looks at its stop flag.
const CHECK_EVERY: Duration = Duration::from_millis(5);

impl Debugger {
    pub fn new() -> Debugger {
        Debugger::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pauses before calls matching `pattern` (`"*"`, `"llm.*"`, `"tool.call"`).
    pub fn break_on(&self, pattern: &str) {
        self.state().patterns.push(pattern.to_owned());
    }

    /// Pauses after a bridge call that failed with a coded error (not a
    /// limit or a stop): the debugger sees the error in the pause's note,
    /// and may go on with it, or give a result the call returns instead.
    pub fn break_on_errors(&self, on: bool) {
        self.state().errors = on;
    }

    pub fn clear_breaks(&self) {
        self.state().patterns.clear();
    }

    /// Pauses a Lua or Rhai spell when it reaches one of these lines
    /// (replacing the breakpoints set before). May be called while it runs.
    pub fn set_line_breaks(&self, lines: impl IntoIterator<Item = u32>) {
        let all = lines.into_iter().map(Breakpoint::at).collect();
        // Plain lines cannot be wrong.
        let _ = self.set_breakpoints(all);
    }

    /// Sets the line breakpoints (replacing those set before; one per line,
    /// the last given wins): for each, whether it was taken, or what is
    /// wrong with its hit condition or log message. A breakpoint given
    /// again unchanged keeps its hit count. May be called while it runs.
    pub fn set_breakpoints(&self, all: Vec<Breakpoint>) -> Vec<std::result::Result<(), String>> {
        let mut state = self.state();
        let old = std::mem::take(&mut state.lines);
        let mut answers = Vec::with_capacity(all.len());
        for bp in all {
            match Kept::new(bp) {
                Ok(mut kept) => {
                    if let Some(was) = old.iter().find(|k| k.bp == kept.bp) {
                        kept.count = was.count;
                    }
                    state.lines.retain(|k| k.bp.line != kept.bp.line);
                    state.lines.push(kept);
                    answers.push(Ok(()));
                }
                Err(e) => answers.push(Err(e)),
            }
        }
        answers
    }

    /// The lines a probed spell (JavaScript) must report as it reaches
    /// them: every line while a pause may come at any (a step, a pause
    /// asked for) or at a bridge call, whose statement's frame the engine
    /// then keeps for it (break patterns, a step to the next call); else
    /// only the lines with breakpoints.
    pub(crate) fn probe_plan(&self) -> ProbePlan {
        let state = self.state();
        let every = state.pause_soon
            || !state.patterns.is_empty()
            || !matches!(state.mode, Mode::Run | Mode::Over(_));
        ProbePlan {
            every,
            lines: match every {
                true => Vec::new(),
                false => state.lines.iter().map(|k| k.bp.line).collect(),
            },
        }
    }

    /// Pauses at the next line or bridge call the spell reaches (a
    /// debugger's pause button).
    pub fn pause_soon(&self) {
        self.state().pause_soon = true;
    }

    /// The pause the spell is in, if it is paused.
    pub fn paused(&self) -> Option<Pause> {
        self.state().paused.clone()
    }

    /// Waits up to `timeout` for the spell to pause.
    pub fn wait_paused(&self, timeout: Duration) -> Option<Pause> {
        let (lock, changed) = &*self.shared;
        let state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (state, _) = changed
            .wait_timeout_while(state, timeout, |s| s.paused.is_none() || s.answer.is_some())
            .unwrap_or_else(|e| e.into_inner());
        state.paused.clone()
    }

    /// Waits up to `timeout` for a pause later than the one numbered `seen`
    /// (0 before any): its number and the pause. For a debugger that shows
    /// each pause once.
    pub fn wait_next_pause(&self, seen: u64, timeout: Duration) -> Option<(u64, Pause)> {
        let (lock, changed) = &*self.shared;
        let state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (state, _) = changed
            .wait_timeout_while(state, timeout, |s| {
                s.count <= seen || s.paused.is_none() || s.answer.is_some()
            })
            .unwrap_or_else(|e| e.into_inner());
        match &state.paused {
            Some(p) if state.count > seen && state.answer.is_none() => {
                Some((state.count, p.clone()))
            }
            _ => None,
        }
    }

    /// Lets a paused spell go on. `edited` replaces the pending call's
    /// arguments (an array) before it, or its result after it.
    pub fn resume(&self, how: Resume, edited: Option<serde_json::Value>) {
        let mut state = self.state();
        if state.paused.is_some() {
            state.answer = Some((how, edited));
            self.shared.1.notify_all();
        }
    }

    /// A frame's locals at the pause (0 is the innermost frame).
    pub fn frame_locals(
        &self,
        frame: usize,
        timeout: Duration,
    ) -> std::result::Result<Vec<Local>, String> {
        let got = self.ask(Ask::Locals(frame), timeout)?;
        let serde_json::Value::Array(pairs) = got else {
            return Ok(Vec::new());
        };
        Ok(pairs
            .into_iter()
            .filter_map(|p| match p {
                serde_json::Value::Array(mut kv) if kv.len() == 2 => {
                    let v = kv.pop()?;
                    Some((kv.pop()?.as_str()?.to_owned(), v))
                }
                _ => None,
            })
            .collect())
    }

    /// Evaluates `code` in a frame of the paused spell, in its language:
    /// the value, or the error as text (with its code).
    pub fn evaluate(
        &self,
        frame: usize,
        code: &str,
        timeout: Duration,
    ) -> std::result::Result<serde_json::Value, String> {
        self.ask(Ask::Evaluate(frame, code.to_owned()), timeout)
    }

    /// Sets a local of a frame of the paused spell.
    pub fn set_local(
        &self,
        frame: usize,
        name: &str,
        value: serde_json::Value,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        self.ask(Ask::Set(frame, name.to_owned(), value), timeout)
            .map(drop)
    }

    /// Asks the paused spell and waits up to `timeout` for its answer.
    fn ask(&self, ask: Ask, timeout: Duration) -> Reply {
        let (lock, changed) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let end = std::time::Instant::now() + timeout;
        // One question at a time: wait for the one before to be answered.
        while state.ask.is_some() || state.answering {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err("the spell is still answering an earlier question".into());
            }
            state = changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if state.paused.is_none() || state.answer.is_some() {
            return Err("the spell is not paused".into());
        }
        state.asked += 1;
        let id = state.asked;
        state.ask = Some((id, ask));
        changed.notify_all();
        let (mut state, _) = changed
            .wait_timeout_while(
                state,
                end.saturating_duration_since(std::time::Instant::now()),
                |s| !matches!(s.reply, Some((n, _)) if n == id) && s.paused.is_some(),
            )
            .unwrap_or_else(|e| e.into_inner());
        match state.reply.take() {
            Some((n, reply)) if n == id => reply,
            other => {
                state.reply = other;
                if state.ask.as_ref().is_some_and(|(n, _)| *n == id) {
                    state.ask = None;
                }
                Err(if state.paused.is_none() {
                    "the spell went on before it answered".into()
                } else {
                    format!("the spell did not answer within {} ms", timeout.as_millis())
                })
            }
        }
    }

    /// Whether the spell pauses at this point of call number `n`.
    fn wants(&self, when: When, call: &str, n: u64) -> Want {
        let mut state = self.state();
        if state.answering {
            return Want::No;
        }
        if std::mem::take(&mut state.pause_soon) {
            return Want::Yes(Why::Pause);
        }
        if let Mode::Over(over) = state.mode {
            if when == When::After && over == n {
                // The call stepped over has returned: pause here.
                state.mode = Mode::Run;
                return Want::Yes(Why::Step);
            }
            return Want::No;
        }
        if when == When::Before && state.patterns.iter().any(|p| pattern_matches(p, call)) {
            return Want::Yes(Why::Call);
        }
        match state.mode {
            Mode::Run | Mode::Over(_) => Want::No,
            Mode::Calls | Mode::Lines => Want::Yes(Why::Step),
            Mode::Within(d) => Want::Within(d),
            Mode::Above(d) => Want::Above(d),
        }
    }

    /// What the spell does on reaching `line`: the breakpoint there, and
    /// whether a step wants it.
    fn at_line(&self, line: u32) -> Option<(Option<Kept>, Want)> {
        let mut state = self.state();
        if state.answering {
            return None;
        }
        let bp = state.lines.iter().find(|k| k.bp.line == line).cloned();
        let want = if std::mem::take(&mut state.pause_soon) {
            Want::Yes(Why::Pause)
        } else {
            match state.mode {
                Mode::Lines => Want::Yes(Why::Step),
                Mode::Within(d) => Want::Within(d),
                Mode::Above(d) => Want::Above(d),
                Mode::Run | Mode::Calls | Mode::Over(_) => Want::No,
            }
        };
        if bp.is_none() && matches!(want, Want::No) {
            return None;
        }
        Some((bp, want))
    }

    /// Counts a hit of the breakpoint on `line`: whether this hit pauses.
    fn hit(&self, line: u32) -> bool {
        let mut state = self.state();
        let Some(kept) = state.lines.iter_mut().find(|k| k.bp.line == line) else {
            return false;
        };
        kept.count += 1;
        kept.hits.is_none_or(|h| h.allows(kept.count))
    }

    /// Runs the debugger's own code in the spell (a condition, a log
    /// message): nothing it reaches pauses.
    fn quietly<T>(&self, f: impl FnOnce() -> T) -> T {
        self.state().answering = true;
        let out = f();
        self.state().answering = false;
        out
    }

    /// A bridge call begins: its number.
    fn begin(&self) -> u64 {
        let mut state = self.state();
        state.calls += 1;
        state.calls
    }

    /// Call `n` has ended, however it ended: a step over it is done.
    fn ended(&self, n: u64) {
        let mut state = self.state();
        if state.mode == Mode::Over(n) {
            state.mode = Mode::Run;
        }
    }

    /// On the spell's thread: pauses (at call number `call`, if at a
    /// call), answers the debugger's questions from `inspect` meanwhile,
    /// and gives back what the debugger edited.
    fn pause(
        &self,
        session: &Session,
        pause: Pause,
        call: Option<u64>,
        inspect: &mut dyn Inspect,
    ) -> Result<Option<serde_json::Value>> {
        let before = pause.when == When::Before;
        let depth = pause.stack.len();
        {
            let mut state = self.state();
            state.paused_call = call;
            state.paused = Some(pause.clone());
            state.answer = None;
            state.count += 1;
            self.shared.1.notify_all();
        }
        session.publish("debug.paused", pause_event(&pause), crate::bus::now_ms());
        // Time spent paused does not count against the run's time limit.
        let _moved = MoveDeadline(&session.deadline, std::time::Instant::now());
        let (lock, changed) = &*self.shared;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let answer = loop {
            if let Some(answer) = state.answer.take() {
                break answer;
            }
            if let Some((id, ask)) = state.ask.take() {
                state.answering = true;
                drop(state);
                let reply = answer(inspect, ask);
                state = lock.lock().unwrap_or_else(|e| e.into_inner());
                state.answering = false;
                state.reply = Some((id, reply));
                changed.notify_all();
                continue;
            }
            if let Err(e) = session.check_stop() {
                state.paused = None;
                changed.notify_all();
                return Err(e);
            }
            state = changed
                .wait_timeout(state, CHECK_EVERY)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        state.paused = None;
        let (how, edited) = answer;
        state.mode = match how {
            Resume::Continue => Mode::Run,
            Resume::Step => match (before, state.paused_call) {
                (true, Some(n)) => Mode::Over(n),
                _ => Mode::Calls,
            },
            Resume::StepLine => Mode::Lines,
            // Where the engine could not tell the stack, a step over goes
            // to the next line or call, and a step out to the end.
            Resume::Next if depth == 0 => Mode::Lines,
            Resume::Next => Mode::Within(depth),
            Resume::StepOut if depth == 0 => Mode::Run,
            Resume::StepOut => Mode::Above(depth),
            Resume::Abort => {
                drop(state);
                return Err(session.trip(ErrorCode::Cancelled));
            }
        };
        self.shared.1.notify_all();
        Ok(edited)
    }
}

/// Answers a debugger's question on the spell's thread.
fn answer(inspect: &mut dyn Inspect, ask: Ask) -> Reply {
    let text = |e: Error| format!("{}: {}", e.code.as_str(), e.message);
    match ask {
        Ask::Locals(frame) => Ok(serde_json::Value::Array(
            inspect
                .locals(frame)
                .into_iter()
                .map(|(k, v)| serde_json::json!([k, v]))
                .collect(),
        )),
        Ask::Evaluate(frame, code) => inspect.evaluate(frame, &code).map_err(text),
        Ask::Set(frame, name, value) => inspect
            .set_local(frame, &name, &value)
            .map(|()| serde_json::Value::Null)
            .map_err(text),
    }
}

/// Moves a run's deadline on by the time since a pause began, when the
/// pause ends however it ends.
struct MoveDeadline<'a>(&'a crate::stop::Deadline, std::time::Instant);

impl Drop for MoveDeadline<'_> {
    fn drop(&mut self) {
        self.0.add_pause(self.1.elapsed());
    }
}

/// A value as the debugger shows it; what JSON cannot hold (a function)
/// shows as `"<function>"`.
pub(crate) fn shown(v: &Value) -> serde_json::Value {
    v.to_json()
        .unwrap_or_else(|_| serde_json::Value::String("<function>".into()))
}

fn pause_event(p: &Pause) -> serde_json::Value {
    serde_json::json!({
        "when": match p.when {
            When::Before => "before",
            When::After => "after",
            When::Line => "line",
        },
        "why": p.why.as_str(),
        "call": p.call,
        "args": p.args,
        "result": p.result,
        "file": p.location.as_ref().map(|l| l.file.clone()),
        "line": p.location.as_ref().map(|l| l.line),
        "locals": p.locals.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
        "note": p.note,
    })
}

/// A local as the debugger shows it; a value the engine could not convert
/// shows as `"<function>"`, as [`shown`] does.
pub(crate) fn local(name: &str, v: Result<Value>) -> Local {
    let value = v.map_or_else(
        |_| serde_json::Value::String("<function>".into()),
        |v| shown(&v),
    );
    (name.to_owned(), value)
}

/// A bridge call a debugger watches, from before it to after it (its
/// number among the run's calls). However the call ends, dropping this
/// ends a step over it.
pub(crate) struct Watched {
    debugger: Option<Debugger>,
    n: u64,
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(d) = &self.debugger {
            d.ended(self.n);
        }
    }
}

/// Pauses at this point of a call if the debugger wants to: what it edited.
fn pause_at(
    session: &Session,
    when: When,
    point: &str,
    args: &[Value],
    result: Option<&Value>,
    host: &mut dyn super::ScriptHost,
    call: &Watched,
) -> Result<Option<serde_json::Value>> {
    let Some(debugger) = session.debugger.as_ref() else {
        return Ok(None);
    };
    let want = debugger.wants(when, point, call.n);
    if matches!(want, Want::No) {
        return Ok(None);
    }
    let location = host.location();
    let mut none = Unavailable("the engine shows nothing more at this pause");
    let inspect = host.inspect().unwrap_or(&mut none);
    let Some(why) = want.decide(|| inspect.depth()) else {
        return Ok(None);
    };
    let pause = Pause {
        when,
        why,
        call: point.to_owned(),
        args: args.iter().map(shown).collect(),
        result: result.map(shown),
        location,
        locals: inspect.locals(0),
        stack: inspect.stack(),
        note: None,
    };
    debugger.pause(session, pause, Some(call.n), inspect)
}

/// On a Lua or Rhai spell's thread, at the start of `line`: pauses there
/// if the debugger has a breakpoint on it whose condition and hit count
/// hold (or prints its log message), or is stepping to it. `file` is asked
/// only then; `None` means the line is not the spell's own (the engine's
/// prelude).
pub(crate) fn at_line(
    session: &Session,
    line: u32,
    inspect: &mut dyn Inspect,
    file: impl FnOnce() -> Option<String>,
) -> Result<()> {
    let Some(debugger) = session.debugger.as_ref() else {
        return Ok(());
    };
    let Some((bp, want)) = debugger.at_line(line) else {
        return Ok(());
    };
    let Some(file) = file() else {
        return Ok(());
    };
    let mut note = None;
    let mut why = None;
    if let Some(kept) = bp {
        let holds = debugger.quietly(|| holds(inspect, kept.bp.condition.as_deref()));
        match holds {
            Err(e) => {
                why = Some(Why::Breakpoint);
                note = Some(e);
            }
            Ok(false) => {}
            Ok(true) if !debugger.hit(line) => {}
            Ok(true) => match &kept.bp.log {
                Some(message) => {
                    let text = debugger.quietly(|| log_text(inspect, message));
                    session.publish(
                        "debug.log",
                        serde_json::json!({"message": text, "file": file, "line": line}),
                        crate::bus::now_ms(),
                    );
                }
                None => why = Some(Why::Breakpoint),
            },
        }
    }
    let Some(why) = why.or_else(|| want.decide(|| inspect.depth())) else {
        return Ok(());
    };
    let pause = Pause {
        when: When::Line,
        why,
        call: "line".into(),
        args: Vec::new(),
        result: None,
        location: Some(Location { file, line }),
        locals: inspect.locals(0),
        stack: inspect.stack(),
        note,
    };
    debugger.pause(session, pause, None, inspect).map(drop)
}

/// Whether a breakpoint's condition holds; why not, when it cannot be told.
fn holds(inspect: &mut dyn Inspect, condition: Option<&str>) -> std::result::Result<bool, String> {
    let Some(code) = condition.filter(|c| !c.trim().is_empty()) else {
        return Ok(true);
    };
    let value = inspect.evaluate(0, code).map_err(|e| {
        format!(
            "the condition `{code}` failed: {}: {}",
            e.code.as_str(),
            e.message
        )
    })?;
    inspect
        .truthy(&value)
        .ok_or_else(|| format!("the condition `{code}` gave {value}, which is not true or false"))
}

/// A log message with its `{expression}` parts evaluated: a string as it
/// is, anything else as JSON, an error in angle brackets.
fn log_text(inspect: &mut dyn Inspect, message: &str) -> String {
    let Ok(pieces) = breakpoints::pieces(message) else {
        return message.to_owned();
    };
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Expr(code) => match inspect.evaluate(0, code) {
                Ok(serde_json::Value::String(s)) => out.push_str(&s),
                Ok(v) => out.push_str(&v.to_string()),
                Err(e) => out.push_str(&format!("<{}: {}>", e.code.as_str(), e.message)),
            },
        }
    }
    out
}

/// Before a bridge call: the arguments it will be called with, and the
/// call as the debugger watches it (for [`after`]).
pub(crate) fn before(
    session: &Session,
    point: &str,
    args: Vec<Value>,
    host: &mut dyn super::ScriptHost,
) -> Result<(Vec<Value>, Watched)> {
    let debugger = session.debugger.clone();
    let n = debugger.as_ref().map_or(0, Debugger::begin);
    let call = Watched { debugger, n };
    let edited = match pause_at(session, When::Before, point, &args, None, host, &call)? {
        None => return Ok((args, call)),
        Some(serde_json::Value::Array(edited)) => edited,
        Some(other) => vec![other],
    };
    // A function (a callback) cannot be edited as JSON: it stays as it was.
    let args = edited
        .iter()
        .enumerate()
        .map(|(i, e)| match args.get(i) {
            Some(original) if original.to_json().is_err() => original.clone(),
            _ => Value::from_json(e),
        })
        .collect();
    Ok((args, call))
}

/// A bridge call failed: the debugger may pause on it (see
/// [`Debugger::break_on_errors`]), and give a result instead of the error.
pub(crate) fn failed(
    session: &Session,
    point: &str,
    args: &[Value],
    error: Error,
    host: &mut dyn super::ScriptHost,
) -> Result<Value> {
    let Some(debugger) = session.debugger.as_ref() else {
        return Err(error);
    };
    if error.code.is_fatal() || !debugger.state().errors {
        return Err(error);
    }
    let location = host.location();
    let mut none = Unavailable("the engine shows nothing more at this pause");
    let inspect = host.inspect().unwrap_or(&mut none);
    let pause = Pause {
        when: When::After,
        why: Why::Error,
        call: point.to_owned(),
        args: args.iter().map(shown).collect(),
        result: None,
        location,
        locals: inspect.locals(0),
        stack: inspect.stack(),
        note: Some(error.report()),
    };
    match debugger.pause(session, pause, None, inspect)? {
        None => Err(error),
        Some(edited) => Ok(Value::from_json(&edited)),
    }
}

/// After a bridge call: the result the spell will get.
pub(crate) fn after(
    session: &Session,
    point: &str,
    args: &[Value],
    result: Value,
    host: &mut dyn super::ScriptHost,
    call: &Watched,
) -> Result<Value> {
    Ok(
        match pause_at(session, When::After, point, args, Some(&result), host, call)? {
            None => result,
            Some(edited) => Value::from_json(&edited),
        },
    )
}
