//! What an engine offers the dispatcher and the bridges: calling back into
//! the spell's own functions, and where the spell is. Each engine implements
//! these traits; nothing here knows any language.

use std::rc::Rc;

use futures_util::future::LocalBoxFuture;

use super::debug::Local;
use super::Session;
use crate::error::{Location, Result};
use crate::value::{Callback, Value};

/// What an engine offers the dispatcher: calling back into script functions.
pub trait ScriptHost {
    /// Calls a script function that this engine handed to a bridge.
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value>;

    /// Where the spell is now, when the engine can tell.
    fn location(&mut self) -> Option<Location> {
        None
    }

    /// The innermost spell function's locals, for a debugger pause, when
    /// the engine can tell.
    fn locals(&mut self) -> Vec<Local> {
        Vec::new()
    }

    /// The spell's call stack, innermost first, for a debugger pause,
    /// when the engine can tell.
    fn stack(&mut self) -> Vec<super::debug::Frame> {
        Vec::new()
    }

    /// The same engine as seen from a waiting bridge's body.
    fn waiting(&self) -> Rc<dyn AsyncHost>;
}

/// What an engine offers a waiting bridge's body, which outlives the call
/// that started it (a JavaScript Promise, a Lua coroutine's wait).
pub trait AsyncHost {
    fn session(&self) -> &Rc<Session>;

    /// An item's position in a list (`index` counts from 0) as the spell's
    /// language counts: Lua from 1, JavaScript and Rhai from 0. A bridge
    /// that hands a script function its item's position (`workflow.map`)
    /// asks here, and never knows the language.
    fn position(&self, index: usize) -> Value {
        Value::Int(index as i64)
    }

    /// Calls a script function to its end. Bodies call this only where the
    /// engine is free to run script code (never from inside another call
    /// into the same engine that is not finished).
    fn call(&self, f: &Callback, args: Vec<Value>) -> Result<Value>;

    /// Calls a script function whose own waits may overlap with other
    /// waiting work: a Lua coroutine, a JavaScript Promise, a Rhai fiber.
    fn call_waiting(
        &self,
        f: &Callback,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>>;
}

/// A [`ScriptHost`] over an [`AsyncHost`], for the dispatcher's sync parts.
pub struct HostRef(pub Rc<dyn AsyncHost>);

impl ScriptHost for HostRef {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.0.call(f, args)
    }
    fn waiting(&self) -> Rc<dyn AsyncHost> {
        self.0.clone()
    }
}

/// A waiting call's host after the call was made: the place, locals and stack it
/// was made from, for a debugger's pause when it returns.
pub(super) struct Placed {
    pub host: HostRef,
    pub location: Option<Location>,
    pub locals: Vec<Local>,
    pub stack: Vec<super::debug::Frame>,
}

impl ScriptHost for Placed {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.host.call(f, args)
    }
    fn location(&mut self) -> Option<Location> {
        self.location.clone()
    }
    fn locals(&mut self) -> Vec<Local> {
        self.locals.clone()
    }
    fn stack(&mut self) -> Vec<super::debug::Frame> {
        self.stack.clone()
    }
    fn waiting(&self) -> Rc<dyn AsyncHost> {
        self.host.waiting()
    }
}
