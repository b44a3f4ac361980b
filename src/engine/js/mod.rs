//! JavaScript (QuickJS through rquickjs): values, bridges, sandbox and limits.
//!
//! A spell is an ES module with top-level `await`; its result is
//! `export default`. The sandbox: QuickJS has no `std`/`os` unless added,
//! and no module loader is installed, so `import` of anything fails.
//! Limits: a capped allocator (its first refusal trips `limit.memory`), the
//! interrupt handler (stop, time, instructions; the script cannot catch
//! it), and a stack budget for call depth.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::LocalBoxFuture;
use futures_util::stream::FuturesUnordered;

use rquickjs::function::Rest;
use rquickjs::{
    Context, Ctx, Function, Module, Object, Persistent, Promise, Runtime, Value as JsValue,
};

use super::skeleton::{self, Guard, Layout};
use super::Engine;
use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::debug::Inspect;
use crate::session::Session;
use crate::session::{ArgList, AsyncHost, BridgeId, ScriptHost};
use crate::value::{Callback, Value};

/// QuickJS counts depth in bytes of C stack; one plain JS call takes well
/// under this much (measured in debug and release builds).
const STACK_PER_FRAME: usize = 4 << 10;
/// The most stack QuickJS may count as used. QuickJS's own count runs well
/// under the real use (measured: a 20 MiB budget overflowed the 64 MiB
/// spell thread in a debug build, 16 MiB did not), so this keeps a wide
/// margin below [`crate::spell::SPELL_STACK`].
const MAX_STACK: usize = crate::spell::SPELL_STACK / 8;
/// The least memory QuickJS may use past the cap while a stop unwinds.
const MIN_RESERVE: usize = 8 << 20;
/// The interrupt handler runs about every this many branches and calls.
const TICKS_PER_INTERRUPT: u64 = 10_000;

/// The globals a JavaScript programmer expects (`console`, timers, `URL`,
/// ...), written over the host functions in [`host`]; see the file.
const PRELUDE: &str = include_str!("prelude.js");

/// Array methods that loop in C over a length the spell chose, made to
/// give the interrupt handler its turn (see the file).
const ARRAYS: &str = include_str!("arrays.js");

/// Runs one of our own modules, compiled once per process into `bytecode`:
/// every engine after the first loads it (compiling [`ARRAYS`] alone was a
/// third of a JavaScript run's start). Its namespace.
fn run_own<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    source: &str,
    bytecode: &std::sync::OnceLock<Vec<u8>>,
) -> rquickjs::Result<Object<'js>> {
    let module = match bytecode.get() {
        // SAFETY: bytes QuickJS itself wrote from `source` in this process.
        Some(bytes) => unsafe { Module::load(ctx.clone(), bytes)? },
        None => {
            let module = Module::declare(ctx.clone(), name, source)?;
            let _ = bytecode.set(module.write(rquickjs::module::WriteOptions::default())?);
            module
        }
    };
    let (module, done) = module.eval()?;
    done.finish::<()>()?;
    module.namespace()
}

fn run_arrays(ctx: &Ctx<'_>) -> rquickjs::Result<()> {
    static BYTECODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    run_own(ctx, "llmspell:arrays", ARRAYS, &BYTECODE).map(drop)
}

/// Runs [`PRELUDE`] with the host's functions; what it gives back.
fn run_prelude<'js>(ctx: &Ctx<'js>, host: Object<'js>) -> rquickjs::Result<Object<'js>> {
    static BYTECODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let make: Function = run_own(ctx, "llmspell:prelude", PRELUDE, &BYTECODE)?.get("default")?;
    make.call((host,))
}

mod alloc;
mod errors;
mod event_loop;
mod frames;
mod host;
mod probes;
mod values;

use alloc::CappedAllocator;
use errors::{
    callback_error, error_value, exception_to_error, js_error, stack_location, throw, throw_value,
};
use values::{arg_from_js, from_js, to_js};

use event_loop::{Ended, Op, Settle, Shared};

type JsFunc = Persistent<Function<'static>>;

pub(crate) struct JsEngine {
    // Field order matters: the context must go before the runtime.
    ctx: Context,
    _rt: Runtime,
    session: Rc<Session>,
    shared: Rc<Shared>,
    /// Waiting calls under way, which the event loop polls.
    running: RefCell<FuturesUnordered<LocalBoxFuture<'static, Ended>>>,
    /// When the timer-like calls among them fall due (see `event_loop`).
    waits: RefCell<std::collections::BTreeSet<(std::time::Duration, u64)>>,
    /// Timer-like calls that ended before one due earlier did, held back
    /// until it has (see `event_loop`).
    held: RefCell<Vec<event_loop::Ended>>,
}

/// QuickJS's module name resolver, refusing every name: a spell imports
/// nothing, not even the modules llmspell itself loaded (its prelude),
/// which QuickJS would otherwise find by name before asking a loader.
unsafe extern "C" fn refuse_import(
    ctx: *mut rquickjs::qjs::JSContext,
    _base: *const std::ffi::c_char,
    name: *const std::ffi::c_char,
    _opaque: *mut std::ffi::c_void,
) -> *mut std::ffi::c_char {
    // SAFETY: QuickJS gives a live context and a NUL-terminated name; the
    // format takes exactly that one string.
    unsafe {
        rquickjs::qjs::JS_ThrowReferenceError(ctx, c"could not load module '%s'".as_ptr(), name);
    }
    std::ptr::null_mut()
}

fn internal(e: rquickjs::Error) -> Error {
    Error::new(ErrorCode::SpellError, format!("JavaScript engine: {e}"))
}

impl JsEngine {
    pub fn new(session: Rc<Session>) -> Result<Self> {
        let countdown_slot: std::sync::Arc<std::sync::atomic::AtomicPtr<i32>> = Default::default();
        let rt = match session.limits().memory_bytes() {
            Some(cap) => {
                Runtime::new_with_alloc(CappedAllocator::new(&session, cap, &countdown_slot))
            }
            None => Runtime::new(),
        }
        .map_err(internal)?;
        // Never more than the spell thread has, whatever the config says;
        // with no call_depth, all of that (QuickJS's own default is far
        // less than real programs recurse).
        let budget = match session.limits().call_depth {
            0 => MAX_STACK,
            n => (n as usize).saturating_mul(STACK_PER_FRAME).min(MAX_STACK),
        };
        rt.set_max_stack_size(budget);
        let ctx = Context::full(&rt).map_err(internal)?;
        ctx.with(|ctx| {
            // SAFETY: the runtime is alive, no module has been declared yet,
            // and the function keeps no state.
            unsafe {
                let rt = rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr());
                rquickjs::qjs::JS_SetModuleLoaderFunc(
                    rt,
                    Some(refuse_import),
                    None,
                    std::ptr::null_mut(),
                );
            }
        });
        if let Some(at) = ctx.with(|ctx| countdown(&ctx)) {
            countdown_slot.store(at, std::sync::atomic::Ordering::Relaxed);
        }
        let shared = Rc::new(Shared::default());
        rt.set_interrupt_handler(Some(interrupt_handler(&session, &shared)));
        *shared.ctx.borrow_mut() = Some(ctx.clone());
        let tracker = shared.clone();
        rt.set_host_promise_rejection_tracker(Some(Box::new(
            move |ctx, promise, reason, handled| tracker.track(&ctx, promise, reason, handled),
        )));
        let engine = JsEngine {
            ctx,
            _rt: rt,
            session,
            shared,
            running: RefCell::default(),
            waits: RefCell::default(),
            held: RefCell::default(),
        };
        engine.setup()?;
        Ok(engine)
    }

    fn setup(&self) -> Result<()> {
        let s = &self.session;
        self.ctx.with(|ctx| -> Result<()> {
            let g = ctx.globals();
            let mut layout = JsLayout {
                ctx: ctx.clone(),
                session: s,
                shared: &self.shared,
                objects: Vec::new(),
            };
            skeleton::install(s.registry(), &mut layout).map_err(internal)?;
            let spell = to_js(&ctx, s.info.to_value()).map_err(internal)?;
            g.set("spell", spell).map_err(internal)?;
            let prelude = || -> rquickjs::Result<Object> {
                run_prelude(&ctx, host::object(&ctx, &self.shared, s)?)
            };
            let internals = prelude().map_err(internal)?;
            *self.shared.internals.borrow_mut() = Some(Persistent::save(&ctx, internals.clone()));
            run_arrays(&ctx).map_err(internal)?;
            // A bridge that returns an object: the prelude makes its handle
            // one, with the methods the registry declares.
            let wrap = || -> rquickjs::Result<()> {
                let object: Function = internals.get("object")?;
                for (id, make, methods) in layout.objects {
                    let list = rquickjs::Array::new(ctx.clone())?;
                    for (i, (name, target)) in methods.into_iter().enumerate() {
                        let pair = rquickjs::Array::new(ctx.clone())?;
                        pair.set(0, name)?;
                        pair.set(1, target)?;
                        list.set(i, pair)?;
                    }
                    let b = s.registry().get(id);
                    let Some(module) = b.module() else { continue };
                    let obj: Object = g.get(module)?;
                    obj.set(b.member(), object.call::<_, JsValue>((make, list))?)?;
                }
                Ok(())
            };
            wrap().map_err(internal)?;
            Ok(())
        })
    }

    /// `promise`'s value once settled, as data.
    fn settle(&self, promise: Persistent<Promise<'static>>) -> Result<Value> {
        let v = self.until_settled(&promise)?;
        self.ctx
            .with(|ctx| from_js(&v.restore(&ctx).map_err(internal)?, &self.session))
    }
}

impl Drop for JsEngine {
    fn drop(&mut self) {
        // Script functions the session holds are QuickJS values: they must
        // go before the runtime does, even when a panic unwinds through us.
        self.session.release_callbacks();
        self.running.borrow_mut().clear();
        self.held.borrow_mut().clear();
        self.shared.clear();
    }
}

/// How much of a `JSContext` is searched for its interrupt countdown: the
/// fields up to it and a little past (the struct is about 600 bytes in the
/// QuickJS rquickjs-sys 0.14.0 builds, the countdown near its end).
const COUNTDOWN_SEARCH_BYTES: usize = 560;

/// The address of `ctx`'s interrupt countdown: QuickJS calls the interrupt
/// handler when it reaches zero, counting down one per branch and call
/// from 10,000, and a step between two ticks can be long (compiling an
/// `eval` source). A stopped run sets it to 1 so the handler's turn comes
/// at once. The field is private to QuickJS, so its place is found once
/// per process by watching: the one int in the context's first
/// [`COUNTDOWN_SEARCH_BYTES`] that falls by exactly one per call, in two
/// rounds. Where that is not exactly one place, `None`, and a stop waits
/// for the handler's usual turn.
fn countdown(ctx: &Ctx<'_>) -> Option<*mut i32> {
    static OFFSET: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    // Found in a context of its own, which no stop or limit can reach.
    let offset = (*OFFSET.get_or_init(|| {
        let rt = Runtime::new().ok()?;
        let context = Context::full(&rt).ok()?;
        context.with(|ctx| find_countdown(&ctx))
    }))?;
    // SAFETY: the same field of every context in this process.
    Some(unsafe { ctx.as_raw().as_ptr().cast::<i32>().add(offset) })
}

/// The word index of the countdown in `ctx`, by watching it (see
/// [`countdown`]).
fn find_countdown(ctx: &Ctx<'_>) -> Option<usize> {
    let base = ctx.as_raw().as_ptr().cast::<i32>();
    let words = COUNTDOWN_SEARCH_BYTES / 4;
    let f = ctx.eval::<Function, _>("() => 0").ok()?;
    let calls = |n: i32| (0..n).all(|_| f.call::<(), ()>(()).is_ok());
    // SAFETY: reads inside the context's own struct, on the thread that
    // runs QuickJS, between its steps.
    let read = || -> Vec<i32> { (0..words).map(|i| unsafe { base.add(i).read() }).collect() };
    // A fresh context's countdown may start at zero and reset to 10,000
    // at its first tick, and any round may cross zero: a few tries, each
    // after a first call.
    (0..3).find_map(|_| {
        if !calls(1) {
            return None;
        }
        let a = read();
        let b = calls(5).then(&read)?;
        let c = calls(3).then(&read)?;
        let found: Vec<usize> = (0..words)
            .filter(|&i| {
                a[i].wrapping_sub(b[i]) == 5
                    && b[i].wrapping_sub(c[i]) == 3
                    && (1..=10_000).contains(&c[i])
            })
            .collect();
        match found[..] {
            [i] => Some(i),
            _ => None,
        }
    })
}

/// The registry in JavaScript: an object per module, a Promise-returning
/// function per waiting bridge. Objects are made after the prelude, whose
/// `object` makes them: until then they are listed in `objects`.
struct JsLayout<'a, 'js> {
    ctx: Ctx<'js>,
    session: &'a Rc<Session>,
    shared: &'a Rc<Shared>,
    objects: Vec<ObjectBridge<'js>>,
}

/// An object-returning bridge, its function, and its methods' functions.
type ObjectBridge<'js> = (BridgeId, Function<'js>, Vec<(&'static str, Function<'js>)>);

impl<'js> Layout for JsLayout<'_, 'js> {
    type Function = Function<'js>;
    type Error = rquickjs::Error;

    fn function(&mut self, id: BridgeId) -> rquickjs::Result<Function<'js>> {
        let (s, shared) = (self.session.clone(), self.shared.clone());
        match s.registry().get(id).body {
            Some(_) => waiting_fn(&self.ctx, s, id, shared),
            None => bridge_fn(&self.ctx, s, id, shared),
        }
    }

    fn object(
        &mut self,
        id: BridgeId,
        make: Function<'js>,
        methods: Vec<(&'static str, Function<'js>)>,
    ) -> rquickjs::Result<Function<'js>> {
        self.objects.push((id, make.clone(), methods));
        Ok(make)
    }

    fn module(
        &mut self,
        name: &'static str,
        members: Vec<(&'static str, Function<'js>)>,
    ) -> rquickjs::Result<()> {
        let obj = Object::new(self.ctx.clone())?;
        for (member, f) in members {
            obj.set(member, f)?;
        }
        self.ctx.globals().set(name, obj)
    }

    fn global(&mut self, name: &'static str, f: Function<'js>) -> rquickjs::Result<()> {
        self.ctx.globals().set(name, f)
    }
}

fn interrupt_handler(s: &Session, shared: &Shared) -> rquickjs::runtime::InterruptHandler {
    let guard = Guard::new(s, TICKS_PER_INTERRUPT);
    // A debugged run's probes learn here what the debugger wants now.
    let (debugger, lines) = (s.debugger().cloned(), shared.lines.clone());
    Box::new(move || {
        if let (Some(d), Ok(lines)) = (&debugger, lines.try_borrow()) {
            if let Some(lines) = lines.as_ref() {
                lines.poll(d);
            }
        }
        guard.check(1).is_err()
    })
}

fn js_args(args: &Rest<JsValue<'_>>, s: &Session) -> Result<ArgList> {
    let mut values = ArgList::new();
    for (i, a) in args.0.iter().enumerate() {
        values.push(arg_from_js(a, i, s)?);
    }
    Ok(values)
}

fn bridge_fn<'js>(
    ctx: &Ctx<'js>,
    s: Rc<Session>,
    id: usize,
    shared: Rc<Shared>,
) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, args: Rest<JsValue<'js>>| {
            let values = js_args(&args, &s).map_err(|e| throw(&ctx, &e))?;
            let mut host = JsHost {
                ctx: &ctx,
                session: &s,
                shared: &shared,
            };
            let out = s.dispatch(id, values, &mut host);
            shared.poll_lines(&s);
            match out {
                Ok(v) => to_js(&ctx, v),
                Err(e) => Err(throw_value(&ctx, &shared, &e)),
            }
        },
    )
}

/// A bridge that waits returns a Promise; the event loop runs its body.
/// An AbortSignal in an options argument (`{signal}`) is the loop's, not
/// the bridge's: it cancels the call.
fn waiting_fn<'js>(
    ctx: &Ctx<'js>,
    s: Rc<Session>,
    id: usize,
    shared: Rc<Shared>,
) -> rquickjs::Result<Function<'js>> {
    Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, args: Rest<JsValue<'js>>| {
            let signal = find_signal(&ctx, &shared, &args)?;
            let (promise, resolve, reject) = ctx.promise()?;
            if let Some((_, signal)) = &signal {
                if signal.get::<_, bool>("aborted")? {
                    reject.call::<_, ()>((signal.get::<_, JsValue>("reason")?,))?;
                    return Ok(promise.into_value());
                }
            }
            let mut values = js_args(&args, &s).map_err(|e| throw(&ctx, &e))?;
            if let Some((at, _)) = &signal {
                if let Some(Value::Map(opts)) = values.get_mut(*at) {
                    opts.remove("signal");
                    if opts.is_empty() && *at + 1 == values.len() {
                        values.pop();
                    }
                }
            }
            let due = s.registry().get(id).timer.and_then(|after| after(&values));
            let due = due.map(|d| s.deadline().run_time() + d);
            let mut host = JsHost {
                ctx: &ctx,
                session: &s,
                shared: &shared,
            };
            let body = s.dispatch_waiting(id, values, &mut host);
            shared.poll_lines(&s);
            let (abort, signal) = match signal {
                None => (None, None),
                Some((_, signal)) => {
                    let (handle, registration) = futures_util::future::AbortHandle::new_pair();
                    let on_abort = Function::new(ctx.clone(), move || handle.abort())?;
                    let listen = prelude_fn(&ctx, &shared, "onAbort")?;
                    let stop: Function = listen.call((signal.clone(), on_abort))?;
                    (
                        Some(registration),
                        Some((Persistent::save(&ctx, signal), Persistent::save(&ctx, stop))),
                    )
                }
            };
            shared.ops.borrow_mut().push(Op {
                body,
                abort,
                settle: Settle {
                    resolve: Persistent::save(&ctx, resolve),
                    reject: Persistent::save(&ctx, reject),
                    due,
                    seq: shared.next_seq(),
                    signal,
                },
            });
            Ok::<_, rquickjs::Error>(promise.into_value())
        },
    )
}

/// The argument that is an options object with an AbortSignal as its
/// `signal`: where it is, and the signal.
fn find_signal<'js>(
    ctx: &Ctx<'js>,
    shared: &Shared,
    args: &Rest<JsValue<'js>>,
) -> rquickjs::Result<Option<(usize, Object<'js>)>> {
    for (i, a) in args.0.iter().enumerate() {
        let Some(obj) = a
            .as_object()
            .filter(|_| a.type_of() == rquickjs::Type::Object)
        else {
            continue;
        };
        let signal: JsValue = obj.get("signal")?;
        if let Some(signal) = signal.as_object() {
            // Only a call with a `signal` pays for asking the prelude.
            let is_signal = prelude_fn(ctx, shared, "isSignal")?;
            if is_signal.call::<_, bool>((signal.clone(),))? {
                return Ok(Some((i, signal.clone())));
            }
        }
    }
    Ok(None)
}

/// One of the functions the prelude gave back (`isSignal`, `onAbort`).
fn prelude_fn<'js>(ctx: &Ctx<'js>, shared: &Shared, name: &str) -> rquickjs::Result<Function<'js>> {
    let internals = shared.internals.borrow().clone();
    internals
        .ok_or(rquickjs::Error::Unknown)?
        .restore(ctx)?
        .get(name)
}

impl Engine for JsEngine {
    fn run_main(&mut self, name: &str, source: &[u8]) -> Result<Value> {
        let mut source = std::borrow::Cow::Borrowed(super::utf8_text(name, source)?);
        let s = self.session.clone();
        // A debugged run is probed before each statement; one that does
        // not parse is not, and QuickJS says why.
        let probed = s.debugger().and_then(|_| probes::probe(&source));
        let (ns, promise) = self.ctx.with(|ctx| {
            if let Some(probed) = probed {
                let lines = Rc::new(frames::Lines::new(probed.lines));
                frames::install(&ctx, &s, &lines).map_err(internal)?;
                *self.shared.lines.borrow_mut() = Some(lines);
                source = std::borrow::Cow::Owned(probed.source);
            }
            let module = Module::declare(ctx.clone(), name, source.as_ref())
                .map_err(|_| js_error(&ctx, &s))?;
            let (module, promise) = module.eval().map_err(|_| js_error(&ctx, &s))?;
            let ns = module.namespace().map_err(|_| js_error(&ctx, &s))?;
            Ok::<_, Error>((Persistent::save(&ctx, ns), Persistent::save(&ctx, promise)))
        })?;
        self.until_settled(&promise)?;
        let default = self.ctx.with(|ctx| {
            let ns = ns.restore(&ctx).map_err(internal)?;
            let default: JsValue = ns.get("default").map_err(|_| js_error(&ctx, &s))?;
            Ok::<_, Error>(match default.as_promise() {
                Some(p) => Err(Persistent::save(&ctx, p.clone())),
                None => Ok(from_js(&default, &s)?),
            })
        })?;
        let value = match default {
            Ok(v) => v,
            Err(promise) => self.settle(promise)?,
        };
        // As node does, the run goes on while timers and calls it started
        // are pending (within its limits).
        self.until_idle()?;
        Ok(value)
    }

    fn eval(&mut self, source: &str) -> Result<Value> {
        let s = self.session.clone();
        let promise = self.ctx.with(|ctx| {
            let mut opts = rquickjs::context::EvalOptions::default();
            opts.global = true;
            opts.strict = false;
            opts.promise = true;
            let v: Promise = ctx
                .eval_with_options(source, opts)
                .map_err(|_| js_error(&ctx, &s))?;
            Ok::<_, Error>(Persistent::save(&ctx, v))
        })?;
        // An async script's promise resolves to {value: last expression}.
        // Timers and calls still pending go on in the entries after.
        let settled = self.settle(promise)?;
        Ok(match settled {
            Value::Map(mut m) => m.remove("value").unwrap_or(Value::Null),
            other => other,
        })
    }

    fn is_incomplete(&self, source: &str) -> bool {
        // Compile only (a module is compiled, not run, until evaluated), in
        // a scratch context so the probe module goes away with it.
        let Ok(scratch) = Context::full(&self._rt) else {
            return false;
        };
        scratch.with(|ctx| {
            match Module::declare(ctx.clone(), "probe", source) {
                Ok(_) => false,
                Err(_) => {
                    let v = ctx.catch();
                    let msg: String = v
                        .as_object()
                        .and_then(|o| o.get("message").ok())
                        .unwrap_or_default();
                    // QuickJS names the end of input as an empty token.
                    msg.ends_with("''") || msg.contains("unexpected end of")
                }
            }
        })
    }

    fn emit(&mut self, topic: &str, data: Value) -> Result<()> {
        let s = self.session.clone();
        self.ctx.with(|ctx| {
            let mut host = JsHost {
                ctx: &ctx,
                session: &s,
                shared: &self.shared,
            };
            s.emit(&mut host, topic, || data)
        })
    }
}

struct JsHost<'a, 'js> {
    ctx: &'a Ctx<'js>,
    session: &'a Rc<Session>,
    shared: &'a Rc<Shared>,
}

impl<'js> JsHost<'_, 'js> {
    /// Calls script function `f` with `args`; what it returned, as it is.
    fn invoke(&self, f: &Callback, args: Vec<Value>) -> Result<JsValue<'js>> {
        let func = f
            .downcast::<JsFunc>()
            .ok_or_else(|| Error::new(ErrorCode::ValueInvalid, "a function from another engine"))?;
        let ctx = self.ctx;
        let func = func.clone().restore(ctx).map_err(internal)?;
        let mut js_args = Vec::with_capacity(args.len());
        for a in args {
            js_args.push(to_js(ctx, a).map_err(|_| js_error(ctx, self.session))?);
        }
        func.call((Rest(js_args),))
            .map_err(|_| callback_error(ctx, self.session, self.shared))
    }
}

impl crate::session::ScriptHost for JsHost<'_, '_> {
    fn call(&mut self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        let out = self.invoke(f, args)?;
        from_js(&out, self.session)
    }

    fn location(&mut self) -> Option<Location> {
        // QuickJS keeps no current line to ask for: read it off a fresh
        // stack trace (only a debugger pause asks, so the cost is rare).
        let stack: String = self.ctx.eval("new Error().stack").ok()?;
        stack_location(&stack, &self.session.info.name)
    }

    fn inspect(&mut self) -> Option<&mut dyn Inspect> {
        Some(self)
    }

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        Rc::new(JsAsync {
            shared: self.shared.clone(),
            session: self.session.clone(),
        })
    }
}

/// The lines of a JavaScript spell with code (those a debugged run
/// probes); `None` when it does not parse.
pub(crate) fn code_lines(source: &str) -> Option<std::collections::BTreeSet<u32>> {
    probes::probe(source).map(|p| p.lines)
}

/// At a bridge call the stack comes from a stack trace, and the frames
/// from the statements the probes kept (a debugged run).
impl Inspect for JsHost<'_, '_> {
    fn stack(&mut self) -> Vec<crate::session::debug::Frame> {
        let stack: String = self.ctx.eval("new Error().stack").unwrap_or_default();
        errors::stack_frames(&stack, &self.session.info.name)
    }
    fn locals(&mut self, frame: usize) -> Vec<crate::session::debug::Local> {
        self.frames(|f| Ok(f.locals(frame))).unwrap_or_default()
    }
    fn evaluate(&mut self, frame: usize, code: &str) -> Result<serde_json::Value> {
        self.frames(|f| f.evaluate(frame, code))
    }
    fn set_local(&mut self, frame: usize, name: &str, value: &serde_json::Value) -> Result<()> {
        self.frames(|f| f.set_local(frame, name, value))
    }
    fn truthy(&self, v: &serde_json::Value) -> Option<bool> {
        Some(js_truthy(v))
    }
}

impl JsHost<'_, '_> {
    fn frames<T>(&mut self, f: impl FnOnce(&mut frames::Frames<'_, '_>) -> Result<T>) -> Result<T> {
        let Some(lines) = self.shared.lines.borrow().clone() else {
            return Err(crate::session::debug::unsupported(NO_FRAMES));
        };
        f(&mut frames::Frames {
            ctx: self.ctx,
            session: self.session,
            lines: &lines,
            top: None,
        })
    }
}

const NO_FRAMES: &str = "this JavaScript spell was not probed (it does not parse as a module)";

/// Whether JavaScript takes a value as true (`if (v)`).
fn js_truthy(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// The JavaScript engine as a waiting bridge's body sees it. Bodies run
/// from the event loop, outside the context, so they may enter it.
struct JsAsync {
    shared: Rc<Shared>,
    session: Rc<Session>,
}

impl JsAsync {
    fn context(&self) -> Result<Context> {
        self.shared
            .ctx
            .borrow()
            .clone()
            .ok_or_else(|| Error::new(ErrorCode::Cancelled, "the spell has ended"))
    }
}

impl AsyncHost for JsAsync {
    fn session(&self) -> &Rc<Session> {
        &self.session
    }

    fn call(&self, f: &Callback, args: Vec<Value>) -> Result<Value> {
        self.context()?.with(|ctx| {
            JsHost {
                ctx: &ctx,
                session: &self.session,
                shared: &self.shared,
            }
            .call(f, args)
        })
    }

    /// A function that returns a Promise is waited for: its result is what
    /// the Promise settles to.
    fn call_waiting(
        &self,
        f: &Callback,
        args: Vec<Value>,
    ) -> LocalBoxFuture<'static, Result<Value>> {
        let started = self.context().and_then(|c| {
            c.with(|ctx| -> Result<_> {
                let s = &self.session;
                let host = JsHost {
                    ctx: &ctx,
                    session: s,
                    shared: &self.shared,
                };
                let out = host.invoke(f, args)?;
                let Some(promise) = out.as_promise() else {
                    return Ok(Err(from_js(&out, s)));
                };
                let (tx, rx) = tokio::sync::oneshot::channel::<Result<Value>>();
                let tx = Rc::new(RefCell::new(Some(tx)));
                let (tx_ok, tx_err) = (tx.clone(), tx);
                let file = s.info.name.clone();
                let shared = self.shared.clone();
                let session = s.clone();
                let on_ok = Function::new(ctx.clone(), move |v: JsValue<'_>| {
                    if let Some(tx) = tx_ok.borrow_mut().take() {
                        let _ = tx.send(from_js(&v, &session));
                    }
                })
                .map_err(internal)?;
                let on_err = Function::new(ctx.clone(), move |v: JsValue<'_>| {
                    if let Some(tx) = tx_err.borrow_mut().take() {
                        let mut err = exception_to_error(&v, &file);
                        shared.keep(&v.ctx().clone(), v, &mut err);
                        let _ = tx.send(Err(err));
                    }
                })
                .map_err(internal)?;
                let then: Function = promise.get("then").map_err(internal)?;
                then.call::<_, JsValue>((rquickjs::function::This(promise.clone()), on_ok, on_err))
                    .map_err(|_| js_error(&ctx, s))?;
                Ok(Ok(rx))
            })
        });
        let session = self.session.clone();
        Box::pin(async move {
            match started? {
                Err(ready) => ready,
                Ok(rx) => match rx.await {
                    Ok(r) => r,
                    Err(_) => {
                        session.check_stop()?;
                        Err(Error::new(
                            ErrorCode::SpellError,
                            "a Promise was dropped unsettled",
                        ))
                    }
                },
            }
        })
    }
}

/// Compiles without running.
pub(crate) fn check(name: &str, source: &str) -> Result<()> {
    let rt = Runtime::new().map_err(internal)?;
    let ctx = Context::full(&rt).map_err(internal)?;
    ctx.with(|ctx| {
        Module::declare(ctx.clone(), name, source)
            .map(|_| ())
            .map_err(|_| exception_to_error(&ctx.catch(), name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interrupt_countdown_is_found_and_ticks_once_per_call() {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let at = countdown(&ctx).expect("the countdown of this QuickJS build");
            let f: Function = ctx.eval("() => 0").unwrap();
            let before = unsafe { at.read() };
            f.call::<(), ()>(()).unwrap();
            let after = unsafe { at.read() };
            assert!(
                before - after == 1 || after == 10_000,
                "{before} -> {after}"
            );
        });
    }

    /// The guarded Array methods give what QuickJS's own give, on long
    /// arrays (the guarded path) and short ones, dense and sparse.
    #[test]
    fn guarded_array_methods_answer_as_quickjs_own() {
        const SCRIPT: &str = r#"
          const out = [];
          const digest = (v) => {
            if (Array.isArray(v)) {
              let h = v.length;
              for (let i = 0; i < v.length; i++) h = (h * 31 + (i in v ? String(v[i]).length + 7 : 3)) | 0;
              return "a" + v.length + ":" + h;
            }
            return typeof v + ":" + String(v).slice(0, 40) + String(v).length;
          };
          for (const n of [5, 65600]) {
            const make = () => { const a = []; for (let i = 0; i < n; i++) a.push((i * 7919) % 1009); return a; };
            const sparse = () => { const a = new Array(n); for (let i = 0; i < n; i += 97) a[i] = i % 13; return a; };
            const like = () => { const o = { length: n }; for (let i = 0; i < n; i += 89) o[i] = "x" + i; return o; };
            for (const mk of [make, sparse, like]) {
              const call = (name, ...args) => {
                const o = mk();
                try { out.push(name, digest(Array.prototype[name].apply(o, args)), digest(Array.from(o))); }
                catch (e) { out.push(name, "threw " + e.name); }
              };
              call("copyWithin", 0, 3); call("copyWithin", 5, 0, 100); call("fill", 1, 10, 20);
              call("join"); call("join", "-"); call("toLocaleString"); call("reverse");
              call("shift"); call("unshift", 1, 2); call("splice", 3, 10, "a", "b");
              call("slice", 2, -3); call("sort"); call("sort", (a, b) => (a ?? -1) - (b ?? -1));
              call("toReversed"); call("toSorted"); call("toSpliced", 1, 2, 3); call("with", 1, 9);
              call("concat", [1, 2], mk()); call("flat"); call("flatMap", (x) => [x, x]);
              out.push("spread", digest([...Array.from(mk())]), "keys", digest([...Array.from(mk()).keys()]));
              out.push("entries", digest(Array.from(Array.from(mk()).entries(), (e) => e[0] + e[1])));
              out.push("nested", digest([[mk(), [mk()]]].flat(Infinity)));
            }
          }
          out.push(String([1, [2, [3]]]), [].concat.length, Array.prototype.flat.length, Array.prototype.sort.name);
          out.join("|")
        "#;
        let run = |guarded: bool| {
            let rt = Runtime::new().unwrap();
            let ctx = Context::full(&rt).unwrap();
            ctx.with(|ctx| {
                if guarded {
                    run_arrays(&ctx).unwrap();
                }
                ctx.eval::<String, _>(SCRIPT).unwrap()
            })
        };
        let (native, ours) = (run(false), run(true));
        for (a, b) in native.split('|').zip(ours.split('|')) {
            assert_eq!(a, b, "native then guarded");
        }
        assert_eq!(native, ours);
    }
}
