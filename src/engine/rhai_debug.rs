//! The Rhai side of a debugger pause: the spell's frames and code
//! evaluated in them.
//!
//! Rhai gives a called function a scope of its own, held by the caller's
//! Rust frame, so only the innermost frame's variables are in reach: live
//! at a line pause ([`AtLine`]), and as they were when the statement began
//! at a bridge-call pause ([`Snapshot`]; a local set there takes effect
//! as the spell goes on, when the statement's next part runs). The frames
//! that called it show the arguments they were called with (Rhai keeps a
//! copy of each call's arguments); the top level, when a function runs,
//! shows nothing.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use rhai::debugger::CallStackFrame;
use rhai::{Dynamic, Engine as Rhai, EvalContext, Scope, AST};

use super::rhai_values::{from_rhai, parse_error, rhai_error, to_rhai};
use crate::error::{Error, ErrorCode, Result};
use crate::session::debug::{self, Frame, Inspect, Local};
use crate::session::Session;
use crate::value::Value;

/// A variable: name, whether it is a constant, value.
pub(super) type Var = (String, bool, Dynamic);

/// What a debugged run keeps for its pauses.
#[derive(Default)]
pub(super) struct Debugging {
    /// The innermost frame's variables as the current statement began: a
    /// bridge call cannot see the scope, so a pause at one shows these.
    pub locals: RefCell<Vec<Var>>,
    /// And the call stack then, innermost first.
    pub stack: RefCell<Vec<Frame>>,
    /// The prelude's functions, which are not the spell's frames.
    pub prelude: RefCell<Vec<String>>,
    /// A debugger's code is running: its lines are not the spell's.
    pub evaluating: Cell<bool>,
    /// Locals set at a bridge-call pause, to set in the scope as the
    /// spell goes on: the call level they are of, name, value.
    pub pending: RefCell<Vec<(usize, String, Dynamic)>>,
}

/// A scope's variables, oldest first; a shadowed `let` is left out.
pub(super) fn scope_vars(scope: &Scope) -> Vec<Var> {
    let mut vars: Vec<Var> = Vec::new();
    // Newest first.
    for (name, constant, value) in scope.iter_raw() {
        if !vars.iter().any(|(n, ..)| n == name) {
            vars.push((name.to_owned(), constant, value.clone()));
        }
    }
    vars.reverse();
    vars
}

/// The spell's own function calls on Rhai's call stack, outermost first,
/// each with the place it was made from. Rhai lists native calls too (a
/// bridge, and a `workflow.map` that calls a spell's function): they are
/// passed over, and a spell function called from one was called from
/// where the native call was made.
pub(super) fn spell_calls<'c>(
    calls: &'c [CallStackFrame],
    debug: &Debugging,
    functions: &AST,
) -> Vec<(&'c CallStackFrame, rhai::Position)> {
    let prelude = debug.prelude.borrow();
    let mut out = Vec::new();
    let mut from = None;
    for call in calls {
        let from_here = *from.get_or_insert(call.pos);
        let ours = !prelude.iter().any(|p| *p == call.fn_name)
            && functions
                .iter_functions()
                .any(|f| f.name == call.fn_name.as_str() && f.params.len() == call.args.len());
        if ours {
            out.push((call, from_here));
            from = None;
        }
    }
    out
}

/// The variables of frame `frame` (1 and up: a caller): the arguments of
/// its call by parameter name; the top level's are out of reach.
fn caller_vars(
    calls: &[(&CallStackFrame, rhai::Position)],
    functions: &AST,
    frame: usize,
) -> Result<Vec<Var>> {
    if frame > calls.len() {
        return Err(no_frame(frame));
    }
    // The top level, below a function's call: its scope is out of reach.
    let Some((call, _)) = calls.len().checked_sub(frame + 1).map(|i| calls[i]) else {
        return Err(debug::unsupported(CALLER));
    };
    let params: Vec<String> = functions
        .iter_functions()
        .find(|f| f.name == call.fn_name.as_str() && f.params.len() == call.args.len())
        .map(|f| f.params.iter().map(|p| (*p).to_owned()).collect())
        .unwrap_or_default();
    Ok(params
        .into_iter()
        .zip(call.args.iter().cloned())
        .map(|(name, value)| (name, false, value))
        .collect())
}

fn no_frame(frame: usize) -> Error {
    debug::unsupported(&format!("the spell has no frame {frame} here"))
}

const CALLER: &str = "Rhai keeps a calling frame's variables out of reach: \
                      its arguments show, and code runs in the innermost frame";

fn shown(vars: &[Var], s: &Session) -> Vec<Local> {
    vars.iter()
        .map(|(name, _, v)| debug::local(name, from_rhai(v, s)))
        .collect()
}

/// Runs `code` in `scope` with the spell's functions, as Rhai reads it
/// (the last statement's value); variables it declares are dropped after.
fn run(
    rhai: &Rhai,
    functions: &AST,
    debug: &Debugging,
    s: &Session,
    scope: &mut Scope,
    code: &str,
) -> Result<Dynamic> {
    let ast = rhai
        .compile_with_scope(scope, code)
        .map_err(|e| parse_error(&e, "eval"))?;
    let ast = functions.merge(&ast);
    let len = scope.len();
    debug.evaluating.set(true);
    let out = rhai.eval_ast_with_scope::<Dynamic>(scope, &ast);
    debug.evaluating.set(false);
    scope.rewind(len);
    out.map_err(|e| rhai_error(&e, s))
}

fn json(d: &Dynamic, s: &Session) -> serde_json::Value {
    debug::local("", from_rhai(d, s)).1
}

/// Rhai takes only `true` and `false` as a condition.
fn truthy(v: &serde_json::Value) -> Option<bool> {
    v.as_bool()
}

/// A line pause: the innermost frame's live scope.
pub(super) struct AtLine<'x, 'a, 's, 'ps, 'g, 'c, 't> {
    pub ctx: &'x mut EvalContext<'a, 's, 'ps, 'g, 'c, 't>,
    pub debug: &'x Debugging,
    /// The spell's functions (the prelude's too).
    pub functions: Rc<AST>,
    pub session: &'x Rc<Session>,
}

impl AtLine<'_, '_, '_, '_, '_, '_, '_> {
    fn vars(&self, frame: usize) -> Result<Vec<Var>> {
        if frame == 0 {
            return Ok(scope_vars(self.ctx.scope()));
        }
        let all = self.ctx.global_runtime_state().debugger().call_stack();
        let calls = spell_calls(all, self.debug, &self.functions);
        caller_vars(&calls, &self.functions, frame)
    }
}

impl Inspect for AtLine<'_, '_, '_, '_, '_, '_, '_> {
    fn stack(&mut self) -> Vec<Frame> {
        self.debug.stack.borrow().clone()
    }

    fn locals(&mut self, frame: usize) -> Vec<Local> {
        shown(&self.vars(frame).unwrap_or_default(), self.session)
    }

    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value> {
        let rhai = self.ctx.engine();
        let mut callers;
        let scope = match frame {
            0 => self.ctx.scope_mut(),
            _ => {
                callers = Scope::new();
                for (name, _, v) in self.vars(frame)? {
                    callers.push_dynamic(name, v);
                }
                &mut callers
            }
        };
        let v = run(rhai, &self.functions, self.debug, self.session, scope, code)?;
        Ok(json(&v, self.session))
    }

    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()> {
        if frame > 0 {
            self.vars(frame)?;
            return Err(debug::unsupported(CALLER));
        }
        let scope = self.ctx.scope_mut();
        match scope.is_constant(name) {
            None => Err(debug::unsupported(&format!(
                "there is no local named `{name}` here"
            ))),
            Some(true) => Err(debug::unsupported(&format!("`{name}` is a constant"))),
            Some(false) => {
                scope.set_value(name, to_rhai(Value::from_json(value)));
                Ok(())
            }
        }
    }

    fn truthy(&self, v: &serde_json::Value) -> Option<bool> {
        truthy(v)
    }
}

/// A bridge-call pause: the innermost frame's variables as its statement
/// began, and the callers' arguments. Lasts past the call.
pub(super) struct Snapshot {
    vars: Vec<Var>,
    callers: Vec<Vec<Var>>,
    stack: Vec<Frame>,
    /// The call level of the innermost frame, where a local set here goes.
    level: usize,
    debug: Rc<Debugging>,
    functions: Rc<AST>,
    rhai: Weak<Rhai>,
    session: Rc<Session>,
}

/// What a [`Snapshot`] reaches of the engine.
pub(super) struct Engine {
    pub debug: Rc<Debugging>,
    pub functions: Rc<AST>,
    pub rhai: Weak<Rhai>,
    pub session: Rc<Session>,
}

impl Snapshot {
    pub(super) fn new(calls: &[CallStackFrame], level: usize, engine: Engine) -> Snapshot {
        let calls = spell_calls(calls, &engine.debug, &engine.functions);
        let callers = (1..=calls.len())
            .map(|frame| caller_vars(&calls, &engine.functions, frame).unwrap_or_default())
            .collect();
        let (vars, stack) = (
            engine.debug.locals.borrow().clone(),
            engine.debug.stack.borrow().clone(),
        );
        Snapshot {
            vars,
            callers,
            stack,
            level,
            debug: engine.debug,
            functions: engine.functions,
            rhai: engine.rhai,
            session: engine.session,
        }
    }

    fn vars(&self, frame: usize) -> Result<&[Var]> {
        match frame {
            0 => Ok(&self.vars),
            n => self
                .callers
                .get(n - 1)
                .map(Vec::as_slice)
                .ok_or_else(|| no_frame(n)),
        }
    }

    /// Sets a local of the innermost frame when the spell goes on.
    fn set(&mut self, name: &str, value: Dynamic) -> Result<()> {
        let Some(var) = self.vars.iter_mut().find(|(n, ..)| n == name) else {
            return Err(debug::unsupported(&format!(
                "there is no local named `{name}` here"
            )));
        };
        if var.1 {
            return Err(debug::unsupported(&format!("`{name}` is a constant")));
        }
        var.2 = value.clone();
        let mut pending = self.debug.pending.borrow_mut();
        pending.retain(|(_, n, _)| n != name);
        pending.push((self.level, name.to_owned(), value));
        Ok(())
    }
}

impl Inspect for Snapshot {
    fn stack(&mut self) -> Vec<Frame> {
        self.stack.clone()
    }

    fn locals(&mut self, frame: usize) -> Vec<Local> {
        shown(self.vars(frame).unwrap_or_default(), &self.session)
    }

    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value> {
        let mut scope = Scope::new();
        let vars = self.vars(frame)?.to_vec();
        for (name, constant, v) in &vars {
            match constant {
                true => scope.push_constant_dynamic(name.clone(), v.clone()),
                false => scope.push_dynamic(name.clone(), v.clone()),
            };
        }
        let rhai = (self.rhai.upgrade())
            .ok_or_else(|| Error::new(ErrorCode::Cancelled, "the spell has ended"))?;
        let v = run(
            &rhai,
            &self.functions,
            &self.debug,
            &self.session,
            &mut scope,
            code,
        )?;
        if frame == 0 {
            // What the code assigned is kept as a local set would be.
            for (name, _, before) in vars.iter().filter(|v| !v.1) {
                let Some(now) = scope.get_value::<Dynamic>(name) else {
                    continue;
                };
                let same =
                    from_rhai(before, &self.session).ok() == from_rhai(&now, &self.session).ok();
                if !same {
                    self.set(name, now)?;
                }
            }
        }
        Ok(json(&v, &self.session))
    }

    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()> {
        if frame > 0 {
            self.vars(frame)?;
            return Err(debug::unsupported(CALLER));
        }
        self.set(name, to_rhai(Value::from_json(value)))
    }

    fn truthy(&self, v: &serde_json::Value) -> Option<bool> {
        truthy(v)
    }
}

/// At a debugger event: the locals set at a bridge-call pause, into the
/// scope of the frame they were set in.
pub(super) fn apply_pending(ctx: &mut EvalContext, debug: &Debugging) {
    if debug.pending.borrow().is_empty() {
        return;
    }
    let level = ctx.call_level();
    let pending = std::mem::take(&mut *debug.pending.borrow_mut());
    let scope = ctx.scope_mut();
    for (at, name, value) in pending {
        if at == level && scope.is_constant(&name) == Some(false) {
            scope.set_value(name, value);
        }
    }
}
