//! The registry of bridge functions and the one dispatcher every call from a
//! script passes through.
//!
//! A bridge is defined once, here, over [`Value`]s; the engines expose the
//! whole registry generically, so adding a bridge never touches an engine.
//! The dispatcher is where hooks run and events leave; its fast path (no hook
//! installed) is one flag check and the call itself, and it must stay so.

mod agent;
mod args;
mod events;
mod files;
mod hooks;
mod json;
mod llm;
mod log;
mod state;
mod tool;
mod workflow;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use futures_util::future::LocalBoxFuture;

pub use args::{ArgList, Args};
pub(crate) use events::Subscriptions;
pub(crate) use hooks::Hooks;
pub use log::LEVELS as LOG_LEVELS;

use crate::error::{Error, Location, Result};
use crate::runtime::Session;
use crate::value::{Callback, Value};

/// What a bridge function does, over values.
/// How long after a timer-like call it falls due, from its arguments.
pub type DueAfter = fn(&[Value]) -> Option<std::time::Duration>;

pub type BridgeImpl = Arc<dyn Fn(&mut Call<'_>, Args) -> Result<Value> + Send + Sync>;

/// What a bridge that waits on I/O does: a future on the spell's thread.
pub type WaitingImpl =
    Arc<dyn Fn(Task, Args) -> LocalBoxFuture<'static, Result<Value>> + Send + Sync>;

/// One bridge function: its name as scripts call it, its documentation, and
/// its implementation.
#[derive(Clone)]
pub struct Bridge {
    /// `"state.get"`, or `"print"` for a global function.
    pub name: &'static str,
    /// The arguments as the reference shows them: `"key, default?"`.
    pub params: &'static str,
    /// What it returns.
    pub returns: &'static str,
    pub doc: &'static str,
    /// Calls that may wait on I/O: JavaScript gets a Promise from these.
    pub waits: bool,
    pub run: BridgeImpl,
    /// For bridges that wait: the body as a future, so that other waiting
    /// work (workflow branches, Promises) overlaps with it.
    pub body: Option<WaitingImpl>,
    /// The name of the wrapper each engine's prelude puts around the
    /// result, making a host handle an idiomatic object (`"agent"`).
    pub wrap: Option<&'static str>,
    /// For a waiting bridge that is a timer (`workflow.sleep`): how long
    /// from the call it is due, from its arguments. JavaScript settles
    /// timers due together in the order they fall due, as node does.
    pub timer: Option<DueAfter>,
}

impl Bridge {
    pub fn new(
        name: &'static str,
        params: &'static str,
        returns: &'static str,
        doc: &'static str,
        run: impl Fn(&mut Call<'_>, Args) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        Bridge {
            name,
            params,
            returns,
            doc,
            waits: false,
            run: Arc::new(run),
            body: None,
            wrap: None,
            timer: None,
        }
    }

    /// A bridge that waits on I/O. Called where nothing else can run
    /// meanwhile, it blocks the spell (stoppably); JavaScript gets a
    /// Promise, and workflow branches overlap their waits.
    pub fn waiting<F>(
        name: &'static str,
        params: &'static str,
        returns: &'static str,
        doc: &'static str,
        body: impl Fn(Task, Args) -> F + Send + Sync + 'static,
    ) -> Self
    where
        F: std::future::Future<Output = Result<Value>> + 'static,
    {
        Bridge {
            name,
            params,
            returns,
            doc,
            waits: true,
            // Never called: the dispatcher runs waiting bridges' bodies.
            run: Arc::new(|call, _| {
                Err(Error::new(
                    crate::error::ErrorCode::SpellError,
                    format!("internal error: {} called without waiting", call.name),
                ))
            }),
            body: Some(Arc::new(move |task, args| Box::pin(body(task, args)))),
            wrap: None,
            timer: None,
        }
    }

    /// Marks a waiting bridge as a timer (see [`Bridge::timer`]).
    pub fn due(mut self, after: DueAfter) -> Self {
        self.timer = Some(after);
        self
    }

    /// The global the function hangs off (`"state"`), or `None` for a global
    /// function such as `print`.
    pub fn module(&self) -> Option<&'static str> {
        self.name.split_once('.').map(|(m, _)| m)
    }

    /// How many arguments the function takes at most, from `params`;
    /// `None` when it takes any number (`...`).
    pub fn max_args(&self) -> Option<usize> {
        if self.params.contains("...") {
            return None;
        }
        Some(
            self.params
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .count(),
        )
    }

    /// The function's own name within its module (`"get"`).
    pub fn member(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, f)| f)
    }
}

/// A documented global that is a value, not a function (`spell`).
#[derive(Debug, Clone)]
pub struct GlobalDoc {
    pub name: &'static str,
    pub doc: &'static str,
}

/// Index of a bridge in its registry; engines capture it in each function
/// they expose, so a call never looks a name up.
pub type BridgeId = usize;

/// Every bridge function a spell can call.
#[derive(Clone)]
pub struct Registry {
    bridges: Vec<Bridge>,
    values: Vec<GlobalDoc>,
}

impl Registry {
    /// The registry with the built-in bridges of the spell API.
    pub fn standard() -> Self {
        let mut r = Registry {
            bridges: Vec::new(),
            values: vec![GlobalDoc {
                name: "spell",
                doc: "this run: spell.args (map of --arg k=v and --args-json), spell.name, \
                      spell.engine (\"lua\", \"js\" or \"rhai\"), spell.dir",
            }],
        };
        r.add(Bridge::new(
            "print",
            "...",
            "nothing",
            "writes its arguments as one line of the spell's output",
            |call, args| {
                let line = args.opt_str(0, "text")?.unwrap_or_default();
                let raw = call.session.print_bytes.take();
                match raw {
                    Some(bytes) if String::from_utf8_lossy(&bytes) == line => {
                        (call.session.output)(&bytes)
                    }
                    _ => (call.session.output)(line.as_bytes()),
                }
                Ok(Value::Null)
            },
        ));
        log::register(&mut r);
        json::register(&mut r);
        state::register(&mut r);
        events::register(&mut r);
        hooks::register(&mut r);
        llm::register(&mut r);
        tool::register(&mut r);
        agent::register(&mut r);
        workflow::register(&mut r);
        r
    }

    /// Adds a bridge; one with the same name is replaced.
    pub fn add(&mut self, bridge: Bridge) {
        match self.bridges.iter_mut().find(|b| b.name == bridge.name) {
            Some(slot) => *slot = bridge,
            None => self.bridges.push(bridge),
        }
    }

    pub fn bridges(&self) -> &[Bridge] {
        &self.bridges
    }

    pub fn values(&self) -> &[GlobalDoc] {
        &self.values
    }

    pub fn get(&self, id: BridgeId) -> &Bridge {
        &self.bridges[id]
    }

    pub fn find(&self, name: &str) -> Option<BridgeId> {
        self.bridges.iter().position(|b| b.name == name)
    }

    /// The modules in registration order, each with its bridges' ids.
    pub fn modules(&self) -> Vec<(&'static str, Vec<BridgeId>)> {
        let mut out: Vec<(&'static str, Vec<BridgeId>)> = Vec::new();
        for (id, b) in self.bridges.iter().enumerate() {
            let Some(m) = b.module() else { continue };
            match out.iter_mut().find(|(name, _)| *name == m) {
                Some((_, ids)) => ids.push(id),
                None => out.push((m, vec![id])),
            }
        }
        out
    }

    /// Global functions (no module), such as `print`.
    pub fn functions(&self) -> impl Iterator<Item = (BridgeId, &Bridge)> {
        self.bridges
            .iter()
            .enumerate()
            .filter(|(_, b)| b.module().is_none())
    }

    /// The reference as plain text, for `llmspell api`.
    pub fn reference_text(&self) -> String {
        let mut out = String::from("llmspell spell API (from the bridge registry)\n");
        for v in &self.values {
            out.push_str(&format!("\n{}\n    {}\n", v.name, v.doc));
        }
        // A blank line before each module's group (and the global functions).
        let mut module: Option<Option<&str>> = None;
        for b in &self.bridges {
            if module != Some(b.module()) {
                module = Some(b.module());
                out.push('\n');
            }
            let wait = if b.waits {
                "  [waits: a Promise in JS]"
            } else {
                ""
            };
            out.push_str(&format!(
                "{}({}) -> {}{}\n    {}\n",
                b.name, b.params, b.returns, wait, b.doc
            ));
        }
        out.push_str("\nerror codes\n");
        for code in crate::error::ErrorCode::ALL {
            out.push_str(&format!("    {:<20} {}\n", code.as_str(), code.doc()));
        }
        out
    }

    /// The reference as JSON, for `llmspell api --json`.
    pub fn reference_json(&self) -> serde_json::Value {
        let functions: Vec<_> = self
            .bridges
            .iter()
            .map(|b| {
                serde_json::json!({
                    "name": b.name,
                    "module": b.module(),
                    "params": b.params,
                    "returns": b.returns,
                    "doc": b.doc,
                    "waits": b.waits,
                })
            })
            .collect();
        let values: Vec<_> = self
            .values
            .iter()
            .map(|v| serde_json::json!({"name": v.name, "doc": v.doc}))
            .collect();
        let codes: Vec<_> = crate::error::ErrorCode::ALL
            .iter()
            .map(|c| serde_json::json!({"code": c.as_str(), "doc": c.doc()}))
            .collect();
        serde_json::json!({"version": 1, "functions": functions, "values": values, "errors": codes})
    }
}

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
    fn locals(&mut self) -> Vec<crate::debug::Local> {
        Vec::new()
    }

    /// The same engine as seen from a waiting bridge's body.
    fn waiting(&self) -> Rc<dyn AsyncHost>;
}

/// What an engine offers a waiting bridge's body, which outlives the call
/// that started it (a JavaScript Promise, a Lua coroutine's wait).
pub trait AsyncHost {
    fn session(&self) -> &Rc<Session>;

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

/// A waiting call's host after the call was made: the place and locals it
/// was made from, for a debugger's pause when it returns.
struct Placed {
    host: HostRef,
    location: Option<Location>,
    locals: Vec<crate::debug::Local>,
}

impl ScriptHost for Placed {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.host.call(f, args)
    }
    fn location(&mut self) -> Option<Location> {
        self.location.clone()
    }
    fn locals(&mut self) -> Vec<crate::debug::Local> {
        self.locals.clone()
    }
    fn waiting(&self) -> Rc<dyn AsyncHost> {
        self.host.waiting()
    }
}

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

/// A tool offered to a model by name.
pub(crate) fn tool_spec(session: &Session, name: &str) -> Result<crate::provider::ToolSpec> {
    tool::spec(session, name)
}

/// Per-spell dispatcher state: which hooks and handlers the spell installed.
#[derive(Default)]
pub(crate) struct DispatchState {
    pub hooks: RefCell<Hooks>,
    pub subs: RefCell<Subscriptions>,
    /// True when any hook is installed: the dispatcher leaves its fast path.
    pub hooked: Cell<bool>,
    pub next_id: Cell<i64>,
    pub tools: RefCell<tool::Tools>,
    pub agents: RefCell<agent::Agents>,
}

impl DispatchState {
    pub fn next_id(&self) -> i64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
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
        self.dispatch.hooked.get() || self.debugger.is_some()
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
            return crate::wait::block_on(self, fut)?;
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
        // from, and the locals then, are only known now.
        let (location, locals) = match self.debugger {
            Some(_) => (host.location(), host.locals()),
            None => (None, Vec::new()),
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
                (Ok(result), Some(watched)) => {
                    let mut host = Placed {
                        host: HostRef(later),
                        location,
                        locals,
                    };
                    hooks::run_after(&session, point, &args, result, &mut host, watched)
                }
                (other, _) => other,
            };
            out.map_err(|e| session.stopped_or(e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_registry_documents_every_bridge_once() {
        let r = Registry::standard();
        let mut names: Vec<_> = r.bridges().iter().map(|b| b.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate bridge names");
        for want in [
            "print",
            "log.info",
            "json.encode",
            "json.decode",
            "state.get",
            "state.update",
            "events.on",
            "events.emit",
            "hooks.before",
            "hooks.remove",
        ] {
            assert!(r.find(want).is_some(), "{want} missing");
        }
        let text = r.reference_text();
        assert!(text.contains("state.update(key, fn)"), "{text}");
        let json = r.reference_json();
        assert_eq!(json["functions"].as_array().unwrap().len(), n);
    }

    #[test]
    fn adding_a_bridge_with_an_existing_name_replaces_it() {
        let mut r = Registry::standard();
        let n = r.bridges().len();
        r.add(Bridge::new("json.encode", "v", "s", "mine", |_, _| {
            Ok(Value::Null)
        }));
        assert_eq!(r.bridges().len(), n);
        assert_eq!(r.get(r.find("json.encode").unwrap()).doc, "mine");
    }
}
