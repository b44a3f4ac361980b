//! The dispatcher: the one way a script calls into the host. Every bridge
//! call passes through [`Session::dispatch`] (or its waiting form), which is
//! where hooks run, the debugger pauses and limits are checked.
//!
//! Its fast path (no hook installed, no debugger) is one check and the call
//! itself, and it must stay so.

use std::rc::Rc;

use futures_util::future::LocalBoxFuture;

use super::host::{HostRef, Placed};
use super::{hooks, ArgList, Args, AsyncHost, BridgeId, ScriptHost, Session};
use crate::error::{Error, Result};
use crate::value::{Callback, Value};

/// What the host keeps for one waiting call while it is in flight (its
/// future, its Promise or coroutine, its arguments), roughly.
const WAITING_CALL_BYTES: usize = 2 << 10;

/// A waiting bridge call in progress.
#[derive(Clone)]
pub struct Task {
    pub session: Rc<Session>,
    pub host: Rc<dyn AsyncHost>,
    pub name: &'static str,
}

impl Task {
    /// Emits an event to the bus and to the spell's own handlers.
    pub fn emit(&self, topic: &str, data: impl FnOnce() -> Value) -> Result<()> {
        self.session
            .emit(&mut HostRef(self.host.clone()), topic, data)
    }

    /// Calls a script function; its own waits overlap with other work.
    /// A stopped spell (or one past its deadline) calls nothing more: a
    /// bridge that loops over script calls (`workflow.map` of 200,000
    /// items) must end with the limit, not after the loop.
    pub fn call_script(
        &self,
        f: &Callback,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        if let Err(e) = crate::value::Limiter::check(&*self.session) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let hold = match self.session.hold(WAITING_CALL_BYTES) {
            Ok(h) => h,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let call = self.host.call_waiting(f, args);
        Box::pin(async move {
            let _hold = hold;
            call.await
        })
    }

    /// Calls another bridge by name, through the dispatcher (hooks and all).
    pub fn call_bridge(
        &self,
        name: &str,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        let Some(id) = self.session.registry.find(name) else {
            let e = Error::new(
                crate::error::ErrorCode::SpellError,
                format!("internal error: no bridge {name}"),
            );
            return Box::pin(std::future::ready(Err(e)));
        };
        let mut host = HostRef(self.host.clone());
        self.session
            .dispatch_waiting(id, args.into_iter().collect(), &mut host)
    }
}

/// One bridge call in progress: the spell's session and its engine.
pub struct Call<'a> {
    pub session: &'a Session,
    pub host: &'a mut dyn ScriptHost,
    pub name: &'static str,
}

impl Call<'_> {
    /// Emits an event to the bus and to the spell's own handlers.
    pub fn emit(&mut self, topic: &str, data: impl FnOnce() -> Value) -> Result<()> {
        self.session.emit(self.host, topic, data)
    }

    pub fn call_script(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.host.call(f, args)
    }
}

impl Session {
    /// A call that failed because the spell was stopped meanwhile (say, a
    /// state write given up on a stop) fails with the stop's reason.
    fn stopped_or(&self, e: Error) -> Error {
        match self.stop.reason() {
            Some(code) if !e.code.is_fatal() => self.stop_error(code),
            _ => e,
        }
    }

    /// Calls go through hooks and the debugger only when there are some.
    #[inline]
    fn slow_path(&self) -> bool {
        self.hooked.get() || self.debugger.is_some()
    }

    /// The one way a script calls into the host.
    #[inline]
    pub fn dispatch(
        &self,
        id: BridgeId,
        args: ArgList,
        host: &mut dyn ScriptHost,
    ) -> Result<Value> {
        self.check_stop()?;
        let bridge = self.registry.get(id);
        if bridge.body.is_some() {
            // Nothing else can run meanwhile: wait here, stoppably.
            let fut = self.dispatch_waiting(id, args, host);
            return super::wait::block_on(self, fut)?;
        }
        if !self.slow_path() {
            let mut call = Call {
                session: self,
                host,
                name: bridge.name,
            };
            return (bridge.run)(&mut call, Args::new(bridge.name, args))
                .map_err(|e| self.stopped_or(e));
        }
        hooks::dispatch_hooked(self, bridge, args, host).map_err(|e| self.stopped_or(e))
    }

    /// A call to a bridge that waits, as a future: before-hooks run now,
    /// the body and the after-hooks when the future is polled. Errors come
    /// out of the future, so JavaScript sees them as a rejected Promise.
    pub fn dispatch_waiting(
        &self,
        id: BridgeId,
        args: ArgList,
        host: &mut dyn ScriptHost,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        let bridge = self.registry.get(id);
        let point = bridge.name;
        let later = host.waiting();
        let session = later.session().clone();
        let ready = |r: Result<Value>| -> LocalBoxFuture<'static, Result<Value>> {
            Box::pin(std::future::ready(r))
        };
        if let Err(e) = self.check_stop() {
            return ready(Err(e));
        }
        // The call and its arguments (kept for after-hooks, copied for the
        // body) are the host's memory while it waits.
        let weight: usize = args.iter().map(Value::weight).sum();
        let hold = match self.hold(WAITING_CALL_BYTES + 2 * weight) {
            Ok(h) => h,
            Err(e) => return ready(Err(e)),
        };
        let (args, early, watched) = if self.slow_path() {
            match hooks::run_before(self, point, args.into_vec(), host) {
                Ok((args, early, watched)) => (args, early, Some(watched)),
                Err(e) => return ready(Err(self.stopped_or(e))),
            }
        } else {
            (args.into_vec(), None, None)
        };
        // A debugger may pause when the call returns: where it was made
        // from, and the spell's frames then, are only known now.
        let (location, locals, stack, kept) = match self.debugger {
            Some(_) => {
                let location = host.location();
                match host.keep() {
                    Some(kept) => (location, Vec::new(), Vec::new(), Some(kept)),
                    None => match host.inspect() {
                        Some(i) => (location, i.locals(0), i.stack(), None),
                        None => (location, Vec::new(), Vec::new(), None),
                    },
                }
            }
            None => (None, Vec::new(), Vec::new(), None),
        };
        let body = match (early, &bridge.body) {
            (Some(r), _) => ready(Ok(r)),
            (None, Some(body)) => {
                let task = Task {
                    session: session.clone(),
                    host: later.clone(),
                    name: point,
                };
                body(task, Args::new(point, args.iter().cloned().collect()))
            }
            (None, None) => {
                let mut call = Call {
                    session: self,
                    host,
                    name: point,
                };
                ready((bridge.run)(
                    &mut call,
                    Args::new(point, args.iter().cloned().collect()),
                ))
            }
        };
        Box::pin(async move {
            let _hold = hold;
            let out = match (body.await, &watched) {
                (out, Some(watched)) => {
                    let mut host = Placed {
                        host: HostRef(later),
                        location,
                        locals,
                        stack,
                        kept,
                    };
                    match out {
                        Ok(result) => {
                            hooks::run_after(&session, point, &args, result, &mut host, watched)
                        }
                        Err(e) => {
                            crate::session::debug::failed(&session, point, &args, e, &mut host)
                        }
                    }
                }
                (other, None) => other,
            };
            out.map_err(|e| session.stopped_or(e))
        })
    }
}
