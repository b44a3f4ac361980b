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

use rquickjs::allocator::{Allocator, RustAllocator};
use rquickjs::function::Rest;
use rquickjs::{
    Array, Context, Ctx, Exception, Function, Module, Object, Persistent, Promise, Runtime,
    Value as JsValue,
};

use super::skeleton::{self, Guard, Layout};
use super::Engine;
use crate::error::{Error, ErrorCode, Location, Result};
use crate::session::Session;
use crate::session::{ArgList, AsyncHost, BridgeId, ScriptHost};
use crate::stop::StopHandle;
use crate::value::{Callback, Map, Path, Value};

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

mod event_loop;
mod host;

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
}

/// QuickJS's allocations, capped: the first allocation past the cap trips
/// `limit.memory`, which the interrupt handler then raises uncatchably.
struct CappedAllocator {
    inner: RustAllocator,
    used: usize,
    /// `used`, for the session's meter (see [`Session::memory_left`]).
    shown: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cap: usize,
    stop: StopHandle,
    deadline: crate::stop::Deadline,
    /// Bytes allocated since the clock was last read.
    since: usize,
    /// Bytes allocated since the run was seen stopped.
    spent_since_stop: Option<usize>,
    /// The context's interrupt countdown, once found (see [`countdown`]).
    countdown: std::sync::Arc<std::sync::atomic::AtomicPtr<i32>>,
}

/// The allocator reads the clock every this many bytes allocated:
/// compiling a long `eval` source allocates much and ticks never.
const CLOCK_EVERY_BYTES: usize = 4 << 20;

impl CappedAllocator {
    fn show(&self) {
        self.shown
            .store(self.used, std::sync::atomic::Ordering::Relaxed);
    }

    /// Past the cap, the spell is stopped (`limit.memory`, raised at the
    /// next interrupt) but allocations go on succeeding for a while:
    /// QuickJS aborts the whole process when memory runs out while it
    /// settles a Promise, so it must not run out while the stop unwinds.
    /// Only past the cap plus this reserve is an allocation refused.
    ///
    /// The clock too: work that allocates without ticking (compiling a long
    /// `eval` source) trips `limit.time`, and a stopped run, for whatever
    /// reason, may allocate only the reserve more in all, so a loop of
    /// such work fails fast until the interrupt handler's turn comes and
    /// raises the stop.
    fn admit(&mut self, size: usize) -> bool {
        let after = self.used.saturating_add(size);
        if after > self.cap {
            self.stop.trip(ErrorCode::LimitMemory);
        }
        self.since = self.since.saturating_add(size);
        if self.since >= CLOCK_EVERY_BYTES {
            self.since = 0;
            if self.deadline.passed() {
                self.stop.trip(ErrorCode::LimitTime);
            }
        }
        let within = after <= self.cap.saturating_add(self.reserve());
        if !self.stop.is_stopped() {
            self.spent_since_stop = None;
            return within;
        }
        // The interrupt handler's turn comes at the very next tick, not
        // up to 10,000 later.
        let countdown = self.countdown.load(std::sync::atomic::Ordering::Relaxed);
        if !countdown.is_null() {
            // SAFETY: the context's own field, found by `countdown` and
            // written on the thread that runs QuickJS, between its steps.
            unsafe { countdown.write(1) };
        }
        // Stopped: the reserve is what may still be allocated in all, from
        // when the stop was first seen, however much of it is freed again.
        // A refused request (one string of 256 MiB) takes none of it: the
        // stop's own error objects must still find room.
        let reserve = self.reserve();
        let spent = self.spent_since_stop.get_or_insert(0);
        let admitted = within && spent.saturating_add(size) <= reserve;
        if admitted {
            *spent += size;
        }
        admitted
    }

    fn reserve(&self) -> usize {
        (self.cap / 4).max(MIN_RESERVE)
    }
}

// SAFETY: every call goes to RustAllocator unchanged; this only counts.
unsafe impl Allocator for CappedAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.admit(size) {
            return std::ptr::null_mut();
        }
        let p = self.inner.alloc(size);
        if !p.is_null() {
            self.used += unsafe { RustAllocator::usable_size(p) };
            self.show();
        }
        p
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if !self.admit(count.saturating_mul(size)) {
            return std::ptr::null_mut();
        }
        let p = self.inner.calloc(count, size);
        if !p.is_null() {
            self.used += unsafe { RustAllocator::usable_size(p) };
            self.show();
        }
        p
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if !ptr.is_null() {
            self.used = self.used.saturating_sub(RustAllocator::usable_size(ptr));
            self.show();
        }
        self.inner.dealloc(ptr)
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        let old = if ptr.is_null() {
            0
        } else {
            RustAllocator::usable_size(ptr)
        };
        if new_size > old && !self.admit(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = self.inner.realloc(ptr, new_size);
        if !p.is_null() {
            self.used = self.used.saturating_sub(old) + RustAllocator::usable_size(p);
            self.show();
        }
        p
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        RustAllocator::usable_size(ptr)
    }
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
            Some(cap) => Runtime::new_with_alloc(CappedAllocator {
                inner: RustAllocator,
                used: 0,
                shown: {
                    let shown: std::sync::Arc<std::sync::atomic::AtomicUsize> = Default::default();
                    let read = std::sync::Arc::clone(&shown);
                    session.set_heap(Box::new(move || {
                        read.load(std::sync::atomic::Ordering::Relaxed)
                    }));
                    shown
                },
                cap,
                stop: session.stop_handle().clone(),
                deadline: session.deadline().clone(),
                since: 0,
                spent_since_stop: None,
                countdown: countdown_slot.clone(),
            }),
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
        rt.set_interrupt_handler(Some(interrupt_handler(&session)));
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

fn interrupt_handler(s: &Session) -> rquickjs::runtime::InterruptHandler {
    let guard = Guard::new(s, TICKS_PER_INTERRUPT);
    Box::new(move || guard.check(1).is_err())
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
            match s.dispatch(id, values, &mut host) {
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

/// A coded error as a JS `Error` with `.code`.
fn error_object<'js>(ctx: &Ctx<'js>, e: &Error) -> rquickjs::Result<JsValue<'js>> {
    let ex = Exception::from_message(ctx.clone(), &e.to_string())?;
    ex.set("code", e.code.as_str())?;
    Ok(ex.into_value())
}

/// What script code gets for a coded error: the very value a script threw,
/// where the error began as one (see [`crate::error::Thrown`]); an `Error`
/// with `.code` (and that value as its `cause`) otherwise.
fn error_value<'js>(ctx: &Ctx<'js>, shared: &Shared, e: &Error) -> rquickjs::Result<JsValue<'js>> {
    let kept = shared.kept(ctx, e);
    match (kept, e.thrown) {
        (Some(v), Some(t)) if !t.as_cause => Ok(v),
        (kept, _) => {
            let ex = error_object(ctx, e)?;
            if let (Some(v), Some(obj)) = (kept, ex.as_object()) {
                obj.set("cause", v)?;
            }
            Ok(ex)
        }
    }
}

/// Raises a coded error as a JS `Error` with `.code`.
fn throw(ctx: &Ctx<'_>, e: &Error) -> rquickjs::Error {
    match error_object(ctx, e) {
        Ok(v) => ctx.throw(v),
        Err(err) => err,
    }
}

/// Raises a coded error as [`error_value`] makes it.
fn throw_value(ctx: &Ctx<'_>, shared: &Shared, e: &Error) -> rquickjs::Error {
    match error_value(ctx, shared, e) {
        Ok(v) => ctx.throw(v),
        Err(err) => err,
    }
}

/// The pending exception a callback a bridge called threw, as a coded
/// error that keeps the value (see [`Shared::keep`]).
fn callback_error(ctx: &Ctx<'_>, s: &Session, shared: &Shared) -> Error {
    let v = ctx.catch();
    if let Some(code) = s.stop_handle().reason() {
        return s.stop_error(code);
    }
    let mut err = exception_to_error(&v, &s.info.name);
    shared.keep(ctx, v, &mut err);
    err
}

/// The pending exception as a coded error; a tripped limit wins.
fn js_error(ctx: &Ctx<'_>, s: &Session) -> Error {
    let v = ctx.catch();
    if let Some(code) = s.stop_handle().reason() {
        return s.stop_error(code);
    }
    exception_to_error(&v, &s.info.name)
}

fn exception_to_error(v: &JsValue<'_>, file: &str) -> Error {
    let Some(obj) = v.as_object() else {
        let text = if v.is_null() || v.is_undefined() {
            "a null or undefined value was thrown".to_owned()
        } else {
            display(v)
        };
        return Error::from_script(&text);
    };
    // Not an error (`throw {code: 42}`): the value itself, as JSON.
    let is_error = obj
        .get::<_, JsValue>("message")
        .is_ok_and(|m| m.is_string());
    if !is_error {
        let mut err = Error::from_script(&thrown(v, 0));
        err.location = obj
            .get::<_, String>("stack")
            .ok()
            .and_then(|stack| stack_location(&stack, file));
        return err;
    }
    let message: String = obj.get("message").unwrap_or_default();
    let name: String = obj.get("name").unwrap_or_default();
    // An error's causes (`new Error("outer", {cause})`), each on a line.
    let message = match obj.get::<_, JsValue>("cause") {
        Ok(cause) if !cause.is_undefined() => {
            format!("{message}\ncaused by: {}", thrown(&cause, 1))
        }
        _ => message,
    };
    let stack: String = obj.get("stack").unwrap_or_default();
    let code: Option<String> = obj.get("code").ok().flatten();
    let mut err = match code.as_deref().and_then(ErrorCode::parse) {
        Some(code) => {
            let prefix = format!("{}: ", code.as_str());
            Error::new(code, message.strip_prefix(&prefix).unwrap_or(&message))
        }
        None if message.contains("could not load module") => skeleton::no_modules(&message),
        None if name == "SyntaxError" => Error::new(ErrorCode::SpellSyntax, message.clone()),
        None if name.is_empty() || name == "Error" => Error::from_script(&message),
        None if message.contains("stack overflow")
            || message.contains("call stack size exceeded") =>
        {
            Error::new(
                ErrorCode::LimitDepth,
                "calls nested too deep (stack overflow)",
            )
        }
        None => Error::from_script(&format!("{name}: {message}")),
    };
    err.location = stack_location(&stack, file);
    err
}

/// A thrown value as a report shows it: an error as `Name: message` with
/// its causes, anything else as JSON (or its text); `depth` causes deep.
fn thrown(v: &JsValue<'_>, depth: usize) -> String {
    const DEEPEST: usize = 8;
    let Some(obj) = v.as_object() else {
        return display(v);
    };
    let message = obj
        .get::<_, JsValue>("message")
        .ok()
        .filter(JsValue::is_string);
    let Some(message) = message.map(|m| display(&m)) else {
        return v
            .ctx()
            .json_stringify(v.clone())
            .ok()
            .flatten()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| display(v));
    };
    let name: String = obj.get("name").unwrap_or_default();
    let mut text = match name.is_empty() {
        true => message,
        false => format!("{name}: {message}"),
    };
    if let Ok(cause) = obj.get::<_, JsValue>("cause") {
        if !cause.is_undefined() && depth < DEEPEST {
            text.push_str(&format!("\ncaused by: {}", thrown(&cause, depth + 1)));
        }
    }
    text
}

/// The first `file:line` of the spell in a QuickJS stack trace.
fn stack_location(stack: &str, file: &str) -> Option<Location> {
    let needle = format!("{file}:");
    let at = stack.find(&needle)?;
    let rest = &stack[at + needle.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Location {
        file: file.to_owned(),
        line: digits.parse().ok()?,
    })
}

fn display(v: &JsValue<'_>) -> String {
    if let Some(s) = v.as_string() {
        return s.to_string().unwrap_or_default();
    }
    v.get::<rquickjs::Coerced<String>>()
        .map(|c| c.0)
        .unwrap_or_else(|_| format!("<{}>", v.type_name()))
}

impl Engine for JsEngine {
    fn run_main(&mut self, name: &str, source: &[u8]) -> Result<Value> {
        let source = super::utf8_text(name, source)?;
        let s = self.session.clone();
        let (ns, promise) = self.ctx.with(|ctx| {
            let module =
                Module::declare(ctx.clone(), name, source).map_err(|_| js_error(&ctx, &s))?;
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

    fn waiting(&self) -> Rc<dyn AsyncHost> {
        Rc::new(JsAsync {
            shared: self.shared.clone(),
            session: self.session.clone(),
        })
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

fn arg_from_js(v: &JsValue<'_>, index: usize, s: &Session) -> Result<Value> {
    use rquickjs::Type;
    // The fast path: scalars need no meter and no path.
    match v.type_of() {
        Type::Int => Ok(Value::Int(i64::from(v.as_int().unwrap_or(0)))),
        Type::Float => Ok(number(v.as_float().unwrap_or(f64::NAN))),
        Type::Bool => Ok(Value::Bool(v.as_bool().unwrap_or(false))),
        Type::Null | Type::Undefined => Ok(Value::Null),
        _ => FromJs::new(Some(s), Path::argument(index)).value(v),
    }
}

fn from_js(v: &JsValue<'_>, s: &Session) -> Result<Value> {
    FromJs::new(Some(s), Path::root()).value(v)
}

/// Integral numbers within 2^53 are integers; everything else a float.
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// One JavaScript value into data, as `JSON.stringify` would see it
/// (`toJSON` is honoured, `undefined` properties are absent), except that
/// nothing is lost silently: built-ins JSON would turn into `{}` either
/// cross faithfully (a `Map` with string keys as a map, a `Set` and a
/// typed array as arrays, a `Date` as its ISO text, an `Error` as its name
/// and message, a `BigInt` as an integer) or are `value.invalid` with their
/// path. The copy is metered against the spell's limits, and a limit hit
/// in a getter or `toJSON` keeps its code.
struct FromJs<'a, 'js> {
    session: Option<&'a Session>,
    path: Path,
    seen: Vec<Object<'js>>,
    meter: crate::value::Meter<'a>,
}

impl<'a, 'js> FromJs<'a, 'js> {
    fn new(session: Option<&'a Session>, path: Path) -> Self {
        let meter = match session {
            Some(s) => s.meter(),
            None => crate::value::Meter::unlimited(),
        };
        FromJs {
            session,
            path,
            seen: Vec::new(),
            meter,
        }
    }

    fn value(&mut self, v: &JsValue<'js>) -> Result<Value> {
        use rquickjs::Type;
        Ok(match v.type_of() {
            Type::Uninitialized | Type::Undefined | Type::Null => {
                self.meter.charge_node(0)?;
                Value::Null
            }
            Type::Bool => Value::Bool(v.as_bool().unwrap_or(false)),
            Type::Int => Value::Int(i64::from(v.as_int().unwrap_or(0))),
            Type::Float => number(v.as_float().unwrap_or(f64::NAN)),
            Type::String => match v.as_string().map(|s| s.to_string()) {
                Some(Ok(text)) => {
                    self.meter.charge_node(text.len())?;
                    Value::Str(text)
                }
                _ => {
                    return Err(self
                        .path
                        .invalid("a string that is not valid UTF-16 (a lone surrogate?)"))
                }
            },
            Type::BigInt => {
                // Its decimal text: to_i64 would wrap a BigInt past 64 bits.
                let text = v.get::<rquickjs::Coerced<String>>().map(|c| c.0);
                match text.ok().and_then(|t| t.parse::<i64>().ok()) {
                    Some(i) => Value::Int(i),
                    None => {
                        self.exception(v)?;
                        return Err(self
                            .path
                            .invalid("a BigInt beyond 64 bits cannot cross; send it as a string"));
                    }
                }
            }
            Type::Function | Type::Constructor => {
                let f = v
                    .as_function()
                    .cloned()
                    .ok_or_else(|| self.path.invalid("not a function"))?;
                Value::Func(Callback::new(Persistent::save(v.ctx(), f)))
            }
            Type::Array | Type::Object | Type::Exception | Type::Proxy => {
                let obj = v
                    .as_object()
                    .cloned()
                    .ok_or_else(|| self.path.invalid("not an object"))?;
                self.object(obj)?
            }
            Type::Promise => {
                return Err(self
                    .path
                    .invalid("a Promise cannot cross the bridge; await it first"))
            }
            other => {
                return Err(self.path.invalid(format!(
                    "a JavaScript {} cannot cross the bridge",
                    other.as_str()
                )))
            }
        })
    }

    /// The error a failed getter, `toJSON` or iteration raised: a tripped
    /// limit wins, otherwise the script's own error keeps its message.
    fn exception(&self, v: &JsValue<'js>) -> Result<()> {
        let ctx = v.ctx();
        let caught = ctx.catch();
        if let Some(s) = self.session {
            s.check_stop()?;
        }
        if caught.is_undefined() {
            return Ok(());
        }
        let file = self.session.map_or("", |s| s.info.name.as_str());
        Err(exception_to_error(&caught, file))
    }

    /// A call into script code during the copy (`toJSON`, a getter).
    fn js<T>(&self, v: &JsValue<'js>, r: rquickjs::Result<T>) -> Result<T> {
        r.or_else(|e| {
            self.exception(v)?;
            Err(self.path.invalid(e))
        })
    }

    fn object(&mut self, obj: Object<'js>) -> Result<Value> {
        if self.seen.contains(&obj) {
            return Err(self.path.invalid("a cycle: this object contains itself"));
        }
        self.path.check_depth()?;
        self.meter.charge_node(0)?;
        self.seen.push(obj.clone());
        let out = self.kinds(&obj);
        self.seen.pop();
        out
    }

    fn kinds(&mut self, obj: &Object<'js>) -> Result<Value> {
        let v = obj.as_value().clone();
        let raw = v.as_raw();
        // SAFETY: each predicate only reads the class of a live value.
        let (is_array, is_date, is_error, is_map, is_set) = unsafe {
            use rquickjs::qjs;
            if qjs::JS_IsRegExp(raw) {
                return Err(self.path.invalid(
                    "a RegExp cannot cross the bridge; send its .source (and .flags) as text",
                ));
            }
            if qjs::JS_IsWeakMap(raw) || qjs::JS_IsWeakSet(raw) || qjs::JS_IsWeakRef(raw) {
                return Err(self
                    .path
                    .invalid("a WeakMap, WeakSet or WeakRef cannot cross the bridge"));
            }
            if qjs::JS_IsArrayBuffer(raw) || qjs::JS_IsDataView(raw) {
                return Err(self.path.invalid(
                    "an ArrayBuffer or DataView cannot cross the bridge; send a Uint8Array of it",
                ));
            }
            (
                qjs::JS_IsArray(raw),
                qjs::JS_IsDate(raw),
                qjs::JS_IsError(raw),
                qjs::JS_IsMap(raw),
                qjs::JS_IsSet(raw),
            )
        };
        if let Some(items) = self.typed_array(&v)? {
            return Ok(items);
        }
        if is_date {
            let iso: rquickjs::Result<String> = obj
                .get::<_, Function>("toISOString")
                .and_then(|f| f.call((rquickjs::function::This(v.clone()),)));
            return match iso {
                Ok(text) => {
                    self.meter.charge_node(text.len())?;
                    Ok(Value::Str(text))
                }
                Err(_) => {
                    // An invalid Date throws a RangeError: not a silent null.
                    let _ = v.ctx().catch();
                    if let Some(s) = self.session {
                        s.check_stop()?;
                    }
                    Err(self.path.invalid("an invalid Date cannot cross the bridge"))
                }
            };
        }
        if !is_array && !is_map && !is_set {
            let to_json: JsValue = self.js(&v, obj.get("toJSON"))?;
            if let Some(f) = to_json.as_function() {
                let key = self.path.last_key();
                let out: JsValue =
                    self.js(&v, f.call((rquickjs::function::This(v.clone()), key)))?;
                // What toJSON returned stands in for the object.
                return self.value(&out);
            }
        }
        if is_array {
            return self.array(obj);
        }
        if is_map || is_set {
            return self.collection(obj, is_map);
        }
        let mut map = Map::new();
        if is_error {
            for key in ["name", "message"] {
                let item: JsValue = self.js(&v, obj.get(key))?;
                if let Some(text) = item.as_string().and_then(|t| t.to_string().ok()) {
                    self.meter.charge_node(text.len())?;
                    map.insert(key.to_owned(), Value::Str(text));
                }
            }
        }
        for prop in obj.props::<String, JsValue>() {
            let (k, item) = self.js(&v, prop)?;
            // As JSON.stringify does: an undefined property is absent.
            if item.is_undefined() {
                continue;
            }
            self.entry(&mut map, k, &item)?;
        }
        Ok(Value::Map(map))
    }

    /// `map[k]` = the copy of `item`, at its path.
    fn entry(&mut self, map: &mut Map, k: String, item: &JsValue<'js>) -> Result<()> {
        self.meter.charge(k.len())?;
        self.path.push_key(&k);
        let item = self.value(item)?;
        self.path.pop();
        map.insert(k, item);
        Ok(())
    }

    fn array(&mut self, obj: &Object<'js>) -> Result<Value> {
        let v = obj.as_value().clone();
        let len: f64 = self.js(&v, obj.get("length"))?;
        let len = len.max(0.0) as usize;
        // The length is the spell's to choose (`a[1e9] = 1`): it is paid
        // for before anything is allocated by it.
        self.meter.reserve(len)?;
        let mut items = Vec::with_capacity(len);
        for i in 0..len {
            let item: JsValue = self.js(&v, obj.get(i as u32))?;
            self.path.push_index(i);
            items.push(self.value(&item)?);
            self.path.pop();
        }
        Ok(Value::Array(items))
    }

    /// A `Map` (string keys only) as a map, a `Set` as an array.
    fn collection(&mut self, obj: &Object<'js>, is_map: bool) -> Result<Value> {
        let v = obj.as_value().clone();
        let ctx = v.ctx().clone();
        let from: rquickjs::Result<Array> = ctx
            .globals()
            .get::<_, Object>("Array")
            .and_then(|a| a.get::<_, Function>("from"))
            .and_then(|from| from.call((v.clone(),)));
        let items = self.js(&v, from)?;
        if !is_map {
            return self.array(items.as_object());
        }
        let mut map = Map::new();
        for i in 0..items.len() {
            let pair: Array = self.js(&v, items.get(i))?;
            let key: JsValue = self.js(&v, pair.get(0))?;
            let Some(k) = key.as_string().and_then(|k| k.to_string().ok()) else {
                return Err(self.path.invalid(format!(
                    "a Map with the key {} (a {}); only a Map with string keys can cross, as a map",
                    display(&key),
                    key.type_of().as_str()
                )));
            };
            let item: JsValue = self.js(&v, pair.get(1))?;
            self.entry(&mut map, k, &item)?;
        }
        Ok(Value::Map(map))
    }

    /// A typed array's numbers as an array, or `None` for other objects.
    fn typed_array(&mut self, v: &JsValue<'js>) -> Result<Option<Value>> {
        let Some(obj) = v.as_object() else {
            return Ok(None);
        };
        // SAFETY: reads the class of a live value.
        if unsafe { rquickjs::qjs::JS_GetTypedArrayType(v.as_raw()) } < 0 {
            return Ok(None);
        }
        macro_rules! each {
            ($($t:ty => $conv:expr),* $(,)?) => {$(
                if let Some(t) = obj.as_typed_array::<$t>() {
                    let Some(raw) = t.as_raw() else {
                        return Err(self.path.invalid("a typed array whose buffer was detached"));
                    };
                    // SAFETY: the bytes stay put while no script runs, and
                    // none runs in this loop.
                    let bytes = unsafe { raw.as_ref() };
                    let size = std::mem::size_of::<$t>();
                    let n = bytes.len() / size;
                    self.meter.reserve(n)?;
                    let conv = $conv;
                    let items = (0..n)
                        .map(|i| {
                            // SAFETY: i * size + size <= bytes.len().
                            let x = unsafe {
                                std::ptr::read_unaligned(bytes.as_ptr().add(i * size).cast::<$t>())
                            };
                            conv(x)
                        })
                        .collect();
                    return Ok(Some(Value::Array(items)));
                }
            )*};
        }
        each!(
            u8 => |x: u8| Value::Int(i64::from(x)),
            i8 => |x: i8| Value::Int(i64::from(x)),
            u16 => |x: u16| Value::Int(i64::from(x)),
            i16 => |x: i16| Value::Int(i64::from(x)),
            u32 => |x: u32| Value::Int(i64::from(x)),
            i32 => |x: i32| Value::Int(i64::from(x)),
            f32 => |x: f32| Value::Float(f64::from(x)),
            f64 => |x: f64| Value::Float(x),
            i64 => Value::Int,
            u64 => |x: u64| i64::try_from(x).map_or(Value::Float(x as f64), Value::Int),
        );
        // Other kinds (Uint8ClampedArray, Float16Array): element by element.
        self.array(obj).map(Some)
    }
}

fn to_js<'js>(ctx: &Ctx<'js>, v: Value) -> rquickjs::Result<JsValue<'js>> {
    Ok(match v {
        Value::Null => JsValue::new_null(ctx.clone()),
        Value::Bool(b) => JsValue::new_bool(ctx.clone(), b),
        Value::Int(i) => match i32::try_from(i) {
            Ok(small) => JsValue::new_int(ctx.clone(), small),
            Err(_) => JsValue::new_float(ctx.clone(), i as f64),
        },
        Value::Float(f) => JsValue::new_float(ctx.clone(), f),
        Value::Str(s) => rquickjs::String::from_str(ctx.clone(), &s)?.into_value(),
        Value::Array(items) => {
            let arr = Array::new(ctx.clone())?;
            for (i, item) in items.into_iter().enumerate() {
                arr.set(i, to_js(ctx, item)?)?;
            }
            arr.into_value()
        }
        Value::Map(map) => {
            let obj = Object::new(ctx.clone())?;
            for (k, item) in map {
                obj.set(k, to_js(ctx, item)?)?;
            }
            obj.into_value()
        }
        Value::Func(cb) => match cb.downcast::<JsFunc>() {
            Some(f) => f.clone().restore(ctx)?.into_value(),
            None => {
                return Err(throw(
                    ctx,
                    &Error::new(ErrorCode::ValueInvalid, "a function from another engine"),
                ))
            }
        },
    })
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

    fn convert_src(src: &str) -> Result<Value> {
        let rt = Runtime::new().unwrap();
        let ctx = Context::full(&rt).unwrap();
        ctx.with(|ctx| {
            let v: JsValue = ctx.eval(src).unwrap();
            FromJs::new(None, Path::root()).value(&v)
        })
    }

    #[test]
    fn integral_numbers_are_integers_and_undefined_properties_are_absent() {
        let v =
            convert_src("({ a: 2.0, b: 2.5, c: undefined, d: -0, e: 2 ** 60, f: [undefined] })")
                .unwrap();
        assert_eq!(
            v.to_json().unwrap(),
            serde_json::json!({"a": 2, "b": 2.5, "d": 0, "e": 1152921504606846976.0, "f": [null]})
        );
    }

    #[test]
    fn cycles_promises_and_symbols_are_refused_with_the_path() {
        let e = convert_src("const a = { x: [] }; a.x.push(a); a").unwrap_err();
        assert!(
            e.message.contains("$.x[0]") && e.message.contains("cycle"),
            "{}",
            e.message
        );
        let e = convert_src("({ p: Promise.resolve(1) })").unwrap_err();
        assert!(e.message.contains("await it first"), "{}", e.message);
        let e = convert_src("[Symbol('s')]").unwrap_err();
        assert!(e.message.contains("$[0]"), "{}", e.message);
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

    #[test]
    fn stack_locations_name_the_spell_line() {
        let stack = "    at f (spell.js:12:5)\n    at <anonymous> (spell.js:20:1)\n";
        assert_eq!(stack_location(stack, "spell.js").unwrap().line, 12);
        assert!(stack_location(stack, "other.js").is_none());
    }
}
