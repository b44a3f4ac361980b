//! Pausing a spell at its bridge calls and lines, for a debugger (the IDE,
//! a test).
//!
//! A [`Debugger`] is handed to a run in [`crate::RunOptions`]. The spell's
//! thread pauses before a bridge call that matches a break pattern (or any
//! call, when stepping) and, after a step, once more when the call has
//! returned; the debugger sees the call, its arguments or its result, the
//! spell's place and (Lua, Rhai) its locals, may replace the arguments or
//! the result, and says how to go on. Lua and Rhai spells also pause at
//! line breakpoints, and can step line by line; JavaScript has no line
//! hook (see `engines.md`), so there a line step is a bridge-call step.
//! A paused spell still stops at once when it is stopped. This module
//! never blocks the debugger's side: only the spell waits.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::Session;
use crate::bus::pattern_matches;
use crate::error::{ErrorCode, Location, Result};
use crate::value::Value;

/// Where in a bridge call the spell is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the call: `args` are what the bridge will get.
    Before,
    /// After the call: `result` is what the spell will get.
    After,
    /// At the start of a line (`call` is `"line"`), in Lua and Rhai.
    Line,
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

/// A paused bridge call.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub when: When,
    /// The bridge, as scripts call it (`llm.chat`).
    pub call: String,
    pub args: Vec<serde_json::Value>,
    pub result: Option<serde_json::Value>,
    /// The spell's place, when the engine knows it.
    pub location: Option<Location>,
    /// The innermost spell function's locals, in Lua and Rhai, in the order
    /// they were declared; empty in JavaScript.
    pub locals: Vec<Local>,
    /// The spell's call stack, innermost first (in JavaScript, from a stack
    /// trace at the call: after an `await` it begins at the function that
    /// awaited).
    pub stack: Vec<Frame>,
}

/// How a paused spell goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Run until the next call that matches a break pattern.
    Continue,
    /// Step over: from before a call, pause when it returns, and nowhere
    /// inside it (the bridge calls a tool's `run`, a `workflow.map`
    /// function or a hook make while it runs); from anywhere else, pause
    /// before the next bridge call.
    Step,
    /// Step into: pause at the next line (Lua and Rhai) or at the next
    /// bridge call, inside the call about to run too.
    StepLine,
    /// End the spell with `cancelled`.
    Abort,
}

#[derive(Default)]
struct State {
    patterns: Vec<String>,
    /// Line breakpoints. A spell is one file, so a line number is enough.
    lines: Vec<u32>,
    stepping: bool,
    line_stepping: bool,
    /// Stepping over this call (numbered as [`State::calls`] counts): no
    /// stepping or pattern pauses until it ends (a line breakpoint still
    /// pauses inside it).
    over: Option<u64>,
    /// Bridge calls begun so far; the number of the one paused at.
    calls: u64,
    paused_call: Option<u64>,
    paused: Option<Pause>,
    answer: Option<(Resume, Option<serde_json::Value>)>,
    /// Pauses so far: tells one pause from the next, even when they look alike.
    count: u64,
}

/// The debugger's handle on one run; clones share it.
#[derive(Clone, Default)]
pub struct Debugger {
    shared: Arc<(Mutex<State>, Condvar)>,
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

    pub fn clear_breaks(&self) {
        self.state().patterns.clear();
    }

    /// Pauses a Lua or Rhai spell when it reaches one of these lines
    /// (replacing the ones set before). May be called while it runs.
    pub fn set_line_breaks(&self, lines: impl IntoIterator<Item = u32>) {
        self.state().lines = lines.into_iter().collect();
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

    /// Whether the spell pauses at this point of call number `n`.
    fn wants(&self, when: When, call: &str, n: u64) -> bool {
        let mut state = self.state();
        if when == When::After && state.over == Some(n) {
            // The call stepped over has returned: pause here.
            state.over = None;
            return true;
        }
        if state.over.is_some() {
            return false;
        }
        match when {
            When::Before => {
                state.stepping || state.patterns.iter().any(|p| pattern_matches(p, call))
            }
            When::After => state.stepping,
            When::Line => false,
        }
    }

    /// Whether the spell pauses on reaching `line`.
    fn wants_line(&self, line: u32) -> bool {
        let state = self.state();
        state.line_stepping || state.lines.contains(&line)
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
        if state.over == Some(n) {
            state.over = None;
        }
    }

    /// On the spell's thread: pauses (at call number `call`, if at a
    /// call), and gives back what the debugger edited.
    fn pause(
        &self,
        session: &Session,
        pause: Pause,
        call: Option<u64>,
    ) -> Result<Option<serde_json::Value>> {
        let before = pause.when == When::Before;
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
            if let Err(e) = session.check_stop() {
                state.paused = None;
                return Err(e);
            }
            state = changed
                .wait_timeout(state, CHECK_EVERY)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        state.paused = None;
        let (how, edited) = answer;
        state.over = match (how, before) {
            (Resume::Step, true) => state.paused_call,
            _ => None,
        };
        (state.stepping, state.line_stepping) = match how {
            Resume::Continue => (false, false),
            Resume::Step => (true, false),
            Resume::StepLine => (true, true),
            Resume::Abort => {
                drop(state);
                return Err(session.trip(ErrorCode::Cancelled));
            }
        };
        self.shared.1.notify_all();
        Ok(edited)
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
fn shown(v: &Value) -> serde_json::Value {
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
        "call": p.call,
        "args": p.args,
        "result": p.result,
        "file": p.location.as_ref().map(|l| l.file.clone()),
        "line": p.location.as_ref().map(|l| l.line),
        "locals": p.locals.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
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
    let Some(debugger) = session
        .debugger
        .as_ref()
        .filter(|d| d.wants(when, point, call.n))
    else {
        return Ok(None);
    };
    let pause = Pause {
        when,
        call: point.to_owned(),
        args: args.iter().map(shown).collect(),
        result: result.map(shown),
        location: host.location(),
        locals: host.locals(),
        stack: host.stack(),
    };
    debugger.pause(session, pause, Some(call.n))
}

/// On a Lua or Rhai spell's thread, at the start of `line`: pauses there
/// if the debugger has a breakpoint on it or is stepping by lines. `place`
/// (the file and the locals) is asked only then; `None` means the line is
/// not the spell's own (the engine's prelude).
pub(crate) fn at_line(
    session: &Session,
    line: u32,
    place: impl FnOnce() -> Option<(String, Vec<Local>, Vec<Frame>)>,
) -> Result<()> {
    let Some(debugger) = session.debugger.as_ref().filter(|d| d.wants_line(line)) else {
        return Ok(());
    };
    let Some((file, locals, stack)) = place() else {
        return Ok(());
    };
    let pause = Pause {
        when: When::Line,
        call: "line".into(),
        args: Vec::new(),
        result: None,
        location: Some(Location { file, line }),
        locals,
        stack,
    };
    debugger.pause(session, pause, None).map(drop)
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
