//! What an engine offers the dispatcher and the bridges: calling back into
//! the spell's own functions, and where the spell is. Each engine implements
//! these traits; nothing here knows any language.

use std::rc::Rc;

use futures_util::future::LocalBoxFuture;

use super::debug::{Frame, Inspect, Local};
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

    /// The spell's frames for a debugger pause (locals, stack,
    /// evaluation), when the engine can reach them.
    fn inspect(&mut self) -> Option<&mut dyn Inspect> {
        None
    }

    /// The spell's frames as a waiting call's return will find them, for a
    /// debugger's pause there, when the engine can keep them.
    fn keep(&mut self) -> Option<Box<dyn Inspect>> {
        None
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

/// A waiting call's host after the call was made: the place it was made
/// from and the spell's frames, as the engine kept them, or as a snapshot
/// of the locals and stack then, for a debugger's pause when it returns.
pub(super) struct Placed {
    pub host: HostRef,
    pub location: Option<Location>,
    pub locals: Vec<Local>,
    pub stack: Vec<Frame>,
    pub kept: Option<Box<dyn Inspect>>,
}

impl ScriptHost for Placed {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.host.call(f, args)
    }
    fn location(&mut self) -> Option<Location> {
        self.location.clone()
    }
    fn inspect(&mut self) -> Option<&mut dyn Inspect> {
        if self.kept.is_none() {
            return Some(self);
        }
        self.kept.as_mut().map(|k| k.as_mut() as &mut dyn Inspect)
    }
    fn waiting(&self) -> Rc<dyn AsyncHost> {
        self.host.waiting()
    }
}

/// The snapshot, where the engine kept nothing more.
impl Inspect for Placed {
    fn stack(&mut self) -> Vec<Frame> {
        self.stack.clone()
    }
    fn locals(&mut self, frame: usize) -> Vec<Local> {
        match frame {
            0 => self.locals.clone(),
            _ => Vec::new(),
        }
    }
    fn evaluate(&mut self, _: usize, _: &str) -> Result<serde_json::Value> {
        Err(super::debug::unsupported(NOT_KEPT))
    }
    fn set_local(&mut self, _: usize, _: &str, _: &serde_json::Value) -> Result<()> {
        Err(super::debug::unsupported(NOT_KEPT))
    }
    fn truthy(&self, _: &serde_json::Value) -> Option<bool> {
        None
    }
}

const NOT_KEPT: &str = "the engine cannot reach the spell's frames when this waiting call \
                        returns: evaluate before the call";
