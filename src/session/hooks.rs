//! Hooks: script functions that run before and after bridge calls, and the
//! dispatcher's slow path that runs them (the `hooks.*` bridges install
//! them).
//!
//! A hook never fires for calls made from inside itself, so a hook on
//! `state.set` may call `state.set` without recursing forever.

use std::cell::Cell;
use std::rc::Rc;

use super::debug::{self, Watched};
use super::{ArgList, Args, Bridge, Call, ScriptHost, Session};
use crate::bus::pattern_matches;
use crate::error::{Error, ErrorCode, Result};
use crate::value::{Callback, Map, Value};

struct Hook {
    id: i64,
    pattern: String,
    after: bool,
    func: Callback,
    running: Rc<Cell<bool>>,
}

/// The hooks one spell installed, in installation order.
#[derive(Default)]
pub(super) struct Hooks {
    list: Vec<Hook>,
}

impl Hooks {
    fn matching(&self, point: &str, after: bool) -> Vec<(i64, Callback, Rc<Cell<bool>>)> {
        self.list
            .iter()
            .filter(|h| h.after == after && !h.running.get() && pattern_matches(&h.pattern, point))
            .map(|h| (h.id, h.func.clone(), h.running.clone()))
            .collect()
    }

    pub fn clear(&mut self) {
        self.list.clear();
    }
}

impl Session {
    /// Installs a hook on the bridge calls that match `pattern`; its id.
    pub fn add_hook(&self, pattern: String, after: bool, func: Callback) -> i64 {
        let id = self.next_id();
        self.hooks.borrow_mut().list.push(Hook {
            id,
            pattern,
            after,
            func,
            running: Rc::new(Cell::new(false)),
        });
        self.hooked.set(true);
        id
    }

    /// Removes a hook; true when there was one with this id.
    pub fn remove_hook(&self, id: i64) -> bool {
        let mut hooks = self.hooks.borrow_mut();
        let before = hooks.list.len();
        hooks.list.retain(|h| h.id != id);
        self.hooked.set(!hooks.list.is_empty());
        hooks.list.len() != before
    }
}

fn call_value(point: &str, args: &[Value]) -> Value {
    let mut m = Map::new();
    m.insert("point".into(), Value::str(point));
    m.insert("args".into(), Value::Array(args.to_vec()));
    Value::Map(m)
}

fn run_hook(
    host: &mut dyn ScriptHost,
    func: &Callback,
    running: &Cell<bool>,
    args: Vec<Value>,
) -> Result<Value> {
    running.set(true);
    let out = host.call(func, args);
    running.set(false);
    out
}

fn failed(point: &str, id: i64, err: Error) -> Error {
    if err.code.is_fatal() {
        return err;
    }
    // The location is the cancelled call's, which the engine adds.
    Error::new(
        ErrorCode::HookFailed,
        format!("hook {id} on {point} cancelled the call: {err}"),
    )
    .wrapping(&err)
}

/// A hook's answer: nothing, or a map with `args` and/or `result`.
fn reply_map(point: &str, id: i64, v: Value) -> Result<Option<Map>> {
    match v {
        Value::Null => Ok(None),
        Value::Map(m) => Ok(Some(m)),
        other => Err(Error::new(
            ErrorCode::HookFailed,
            format!(
                "hook {id} on {point} returned a {}; return nothing, {{args = ...}} or {{result = ...}}",
                other.kind()
            ),
        )),
    }
}

pub(super) fn dispatch_hooked(
    session: &Session,
    bridge: &Bridge,
    args: ArgList,
    host: &mut dyn ScriptHost,
) -> Result<Value> {
    let point = bridge.name;
    let (args, early, watched) = run_before(session, point, args.into_vec(), host)?;
    let result = match early {
        Some(r) => r,
        None => {
            let mut call = Call {
                session,
                host: &mut *host,
                name: point,
            };
            match (bridge.run)(&mut call, Args::new(point, args.iter().cloned().collect())) {
                Ok(v) => v,
                Err(e) => return debug::failed(session, point, &args, e, host),
            }
        }
    };
    run_after(session, point, &args, result, host, &watched)
}

/// The before-hooks on `point`: the arguments to call with, or the result
/// a hook gave to skip the call; and the call as a debugger watches it,
/// to hold until after it.
pub(super) fn run_before(
    session: &Session,
    point: &'static str,
    mut args: Vec<Value>,
    host: &mut dyn ScriptHost,
) -> Result<(Vec<Value>, Option<Value>, Watched)> {
    let befores = session.hooks.borrow().matching(point, false);
    for (id, func, running) in befores {
        session.emit(host, "hook.before", || hook_event(point, id))?;
        let reply = run_hook(host, &func, &running, vec![call_value(point, &args)])
            .map_err(|e| failed(point, id, e))?;
        let Some(mut reply) = reply_map(point, id, reply)? else {
            continue;
        };
        if let Some(new_args) = reply.remove("args") {
            args = match new_args {
                Value::Array(a) => a,
                Value::Map(m) if m.is_empty() => Vec::new(),
                other => {
                    return Err(Error::new(
                        ErrorCode::HookFailed,
                        format!(
                            "hook {id} on {point} gave args as a {}; give an array",
                            other.kind()
                        ),
                    ))
                }
            };
        }
        if let Some(r) = reply.remove("result") {
            let (args, watched) = debug::before(session, point, args, host)?;
            return Ok((args, Some(r), watched));
        }
    }
    let (args, watched) = debug::before(session, point, args, host)?;
    Ok((args, None, watched))
}

/// The after-hooks on `point`, each able to replace the result.
pub(super) fn run_after(
    session: &Session,
    point: &'static str,
    args: &[Value],
    mut result: Value,
    host: &mut dyn ScriptHost,
    watched: &Watched,
) -> Result<Value> {
    let afters = session.hooks.borrow().matching(point, true);
    for (id, func, running) in afters {
        session.emit(host, "hook.after", || hook_event(point, id))?;
        let reply = run_hook(
            host,
            &func,
            &running,
            vec![call_value(point, args), result.clone()],
        )
        .map_err(|e| failed(point, id, e))?;
        if let Some(mut reply) = reply_map(point, id, reply)? {
            if let Some(r) = reply.remove("result") {
                result = r;
            }
        }
    }
    debug::after(session, point, args, result, host, watched)
}

fn hook_event(point: &str, id: i64) -> Value {
    let mut m = Map::new();
    m.insert("point".into(), Value::str(point));
    m.insert("id".into(), Value::Int(id));
    Value::Map(m)
}
