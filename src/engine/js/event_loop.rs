//! The JavaScript event loop, run as node runs one.
//!
//! A turn: every Promise job runs (a job that throws is uncaught, and a
//! rejection nothing handled by then fails the run, as in node); then the
//! loop waits for a waiting bridge call to end or a timer to fall due, and
//! runs what is ready in the order it fell due (what fell due together, in
//! the order it was made), every job queue drained after each one. The
//! timers keep the spell's clock, which stands still while a debugger
//! holds the spell.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::{AbortRegistration, Abortable, LocalBoxFuture};
use futures_util::stream::StreamExt;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Promise, Value as JsValue};

use super::{error_value, internal, js_error, to_js, JsEngine, JsFunc};
use crate::error::{Error, ErrorCode, Result, Thrown};
use crate::session::Hold;
use crate::value::Value;

/// What one timer costs the host, charged to the spell's memory cap.
pub(super) const TIMER_BYTES: usize = 128;
/// How many values thrown into bridges an engine keeps to give back.
const KEPT: usize = 32;

/// A waiting bridge call a Promise stands for.
pub(super) struct Op {
    pub body: LocalBoxFuture<'static, Result<Value>>,
    /// Cancels the body when the call's AbortSignal aborts.
    pub abort: Option<AbortRegistration>,
    pub settle: Settle,
}

/// How a waiting call's Promise settles, and where it falls in a turn.
pub(super) struct Settle {
    pub resolve: JsFunc,
    pub reject: JsFunc,
    /// For a timer-like call, when it falls due on the spell's clock.
    pub due: Option<Duration>,
    pub seq: u64,
    /// The call's AbortSignal, and the function that stops listening to it.
    pub signal: Option<(Persistent<Object<'static>>, JsFunc)>,
}

/// A waiting call that has ended: its result (`None`: aborted).
pub(super) type Ended = (Option<Result<Value>>, Settle);

/// A rejected Promise nothing has handled yet, and its reason.
type Rejection = (Persistent<JsValue<'static>>, Persistent<JsValue<'static>>);

/// What the engine's host functions share with its event loop.
#[derive(Default)]
pub(super) struct Shared {
    /// The context, for waiting calls' bodies; emptied before the runtime
    /// goes, so no function inside QuickJS keeps the context alive.
    pub ctx: RefCell<Option<Context>>,
    /// Calls made since the loop last looked.
    pub ops: RefCell<Vec<Op>>,
    pub timers: RefCell<Timers>,
    pub rejections: RefCell<Vec<Rejection>>,
    /// The newest values scripts threw into bridges, by [`Thrown::id`].
    kept: RefCell<VecDeque<(u64, Persistent<JsValue<'static>>)>>,
    seq: Cell<u64>,
    /// What the prelude gave back (see `prelude.js`).
    pub internals: RefCell<Option<Persistent<Object<'static>>>>,
    /// A debugged run's probed lines and kept frames (shared with the
    /// interrupt handler, which keeps the probes' table up to date).
    pub lines: std::rc::Rc<RefCell<Option<std::rc::Rc<super::frames::Lines>>>>,
}

impl Shared {
    /// A bridge call returned, or a waiting one ended (a pause in it may
    /// have changed what the debugger wants): the probes' table is brought
    /// up to date.
    pub fn poll_lines(&self, s: &crate::session::Session) {
        if let (Some(d), Some(lines)) = (s.debugger(), self.lines.borrow().as_ref()) {
            lines.poll(d);
        }
    }

    /// The order things were made in: calls and timers share it.
    pub fn next_seq(&self) -> u64 {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        n
    }

    /// Keeps `v`, which a script threw into a bridge, so that the caller
    /// can catch it as it was; `err` says where it went.
    pub fn keep<'js>(&self, ctx: &Ctx<'js>, v: JsValue<'js>, err: &mut Error) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        if v.is_undefined() {
            return;
        }
        let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut kept = self.kept.borrow_mut();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back((id, Persistent::save(ctx, v)));
        err.thrown = Some(Thrown {
            id,
            as_cause: false,
        });
    }

    /// The value `err` began as, if this engine still keeps it.
    pub fn kept<'js>(&self, ctx: &Ctx<'js>, err: &Error) -> Option<JsValue<'js>> {
        let id = err.thrown?.id;
        let kept = self.kept.borrow();
        let (_, v) = kept.iter().find(|(k, _)| *k == id)?;
        v.clone().restore(ctx).ok()
    }

    /// Drops every script value held here: the runtime is about to go.
    pub fn clear(&self) {
        self.ops.borrow_mut().clear();
        *self.timers.borrow_mut() = Timers::default();
        self.rejections.borrow_mut().clear();
        self.kept.borrow_mut().clear();
        self.internals.borrow_mut().take();
        if let Some(lines) = self.lines.borrow_mut().take() {
            lines.clear();
        }
        self.ctx.borrow_mut().take();
    }

    /// The rejection tracker's half: `promise` was rejected with no handler,
    /// or (`handled`) got one after all.
    pub fn track<'js>(
        &self,
        ctx: &Ctx<'js>,
        promise: JsValue<'js>,
        reason: JsValue<'js>,
        handled: bool,
    ) {
        let mut list = self.rejections.borrow_mut();
        if handled {
            list.retain(|(p, _)| p.clone().restore(ctx).ok().as_ref() != Some(&promise));
        } else {
            list.push((
                Persistent::save(ctx, promise),
                Persistent::save(ctx, reason),
            ));
        }
    }
}

/// A timer as the host keeps it.
struct Timer {
    fire: JsFunc,
    delay: Duration,
    repeat: bool,
    refd: bool,
    /// When it falls due on the spell's clock, and its place in order.
    key: (Duration, u64),
    _hold: Hold,
}

/// The spell's timers, in the order they fall due.
#[derive(Default)]
pub(super) struct Timers {
    queue: BTreeMap<(Duration, u64), u32>,
    live: HashMap<u32, Timer>,
    last_id: u32,
    /// How many keep the run going (not `unref`ed).
    refd: usize,
}

impl Timers {
    /// A new timer; its id, as `setTimeout` returns it.
    pub fn add(
        &mut self,
        fire: JsFunc,
        delay: Duration,
        repeat: bool,
        key: (Duration, u64),
        hold: Hold,
    ) -> u32 {
        self.last_id = self.last_id.wrapping_add(1).max(1);
        let id = self.last_id;
        self.queue.insert(key, id);
        self.refd += 1;
        self.live.insert(
            id,
            Timer {
                fire,
                delay,
                repeat,
                refd: true,
                key,
                _hold: hold,
            },
        );
        id
    }

    pub fn clear(&mut self, id: u32) {
        if let Some(t) = self.live.remove(&id) {
            self.queue.remove(&t.key);
            self.refd -= usize::from(t.refd);
        }
    }

    pub fn set_ref(&mut self, id: u32, on: bool) {
        if let Some(t) = self.live.get_mut(&id) {
            if t.refd != on {
                t.refd = on;
                if on {
                    self.refd += 1;
                } else {
                    self.refd -= 1;
                }
            }
        }
    }

    pub fn has_ref(&self, id: u32) -> bool {
        self.live.get(&id).is_some_and(|t| t.refd)
    }

    /// Sets the timer's time again from `now`, as though just made.
    pub fn refresh(&mut self, id: u32, now: Duration, seq: u64) {
        if let Some(t) = self.live.get_mut(&id) {
            self.queue.remove(&t.key);
            t.key = (now + t.delay, seq);
            self.queue.insert(t.key, id);
        }
    }

    /// Whether a timer keeps the run going.
    pub fn keep_alive(&self) -> bool {
        self.refd > 0
    }

    /// The first timer's place, if it comes before `before`.
    fn next(&self, before: Option<(Duration, u64)>) -> Option<(Duration, u64)> {
        let first = *self.queue.keys().next()?;
        before.is_none_or(|b| first < b).then_some(first)
    }

    /// The timers due by `now` that come before `before`, in order.
    fn due_by(
        &self,
        now: Duration,
        before: Option<(Duration, u64)>,
    ) -> Vec<((Duration, u64), u32)> {
        let end = before.map_or((now, u64::MAX), |b| b.min((now, u64::MAX)));
        self.queue.range(..end).map(|(k, id)| (*k, *id)).collect()
    }

    /// The function to call for timer `id`, due at `key`, if it still is
    /// (an earlier callback may have cleared or refreshed it). An interval
    /// is set again for `delay` after `now`; a timeout is done.
    fn take(&mut self, key: (Duration, u64), id: u32, now: Duration, seq: u64) -> Option<JsFunc> {
        let t = self.live.get_mut(&id).filter(|t| t.key == key)?;
        let fire = t.fire.clone();
        self.queue.remove(&key);
        if t.repeat {
            t.key = (now + t.delay, seq);
            self.queue.insert(t.key, id);
        } else {
            self.clear(id);
        }
        Some(fire)
    }
}

/// Something a turn runs.
enum Ready {
    Ended(Box<Ended>),
    Timer((Duration, u64), u32),
}

impl JsEngine {
    /// The spell's clock, which its timers keep.
    pub(super) fn clock(&self) -> Duration {
        self.session.deadline().run_time()
    }

    /// Runs the loop until `promise` settles; its value.
    pub(super) fn until_settled(
        &self,
        promise: &Persistent<Promise<'static>>,
    ) -> Result<Persistent<JsValue<'static>>> {
        loop {
            if let Some(v) = self.turn(Some(promise))? {
                return Ok(v);
            }
        }
    }

    /// Runs the loop while anything keeps it going: calls not yet ended,
    /// timers not `unref`ed. A spell's run waits for them, as node does.
    pub(super) fn until_idle(&self) -> Result<()> {
        loop {
            self.turn(None)?;
            if !self.alive() {
                return Ok(());
            }
        }
    }

    fn alive(&self) -> bool {
        !self.running.borrow().is_empty()
            || !self.held.borrow().is_empty()
            || !self.shared.ops.borrow().is_empty()
            || self.shared.timers.borrow().keep_alive()
    }

    /// One turn; `goal`'s value once it has settled.
    fn turn(
        &self,
        goal: Option<&Persistent<Promise<'static>>>,
    ) -> Result<Option<Persistent<JsValue<'static>>>> {
        let s = &self.session;
        let settled = self.ctx.with(|ctx| {
            self.jobs(&ctx, goal)?;
            let Some(goal) = goal else {
                return Ok(None);
            };
            let p = goal.clone().restore(&ctx).map_err(internal)?;
            match p.state() {
                PromiseState::Pending => Ok(None),
                PromiseState::Resolved => {
                    let v = p
                        .result::<JsValue>()
                        .unwrap_or(Ok(JsValue::new_undefined(ctx.clone())))
                        .map_err(|_| js_error(&ctx, s))?;
                    Ok(Some(Persistent::save(&ctx, v)))
                }
                PromiseState::Rejected => {
                    // Reading the result rethrows the rejection as the
                    // pending exception, which js_error then takes.
                    let _ = p.result::<JsValue>();
                    Err(js_error(&ctx, s))
                }
            }
        })?;
        if settled.is_some() {
            return Ok(settled);
        }
        {
            let running = self.running.borrow_mut();
            for op in self.shared.ops.borrow_mut().drain(..) {
                if let Some(due) = op.settle.due {
                    self.waits.borrow_mut().insert((due, op.settle.seq));
                }
                running.push(Box::pin(async move {
                    let result = match op.abort {
                        Some(abort) => Abortable::new(op.body, abort).await.ok(),
                        None => Some(op.body.await),
                    };
                    (result, op.settle)
                }));
            }
        }
        if !self.alive() {
            if goal.is_none() {
                return Ok(None);
            }
            s.check_stop()?;
            return Err(Error::new(
                ErrorCode::SpellError,
                "the spell awaits a Promise that never settles (nothing it waits on is left: no call, no timer)",
            ));
        }
        for ready in self.wait()? {
            self.run(ready, goal)?;
        }
        Ok(None)
    }

    /// Waits until something is ready: a call ended, a timer due, or a job
    /// or call that script code a body ran has made. What is ready, in the
    /// order it runs.
    fn wait(&self) -> Result<Vec<Ready>> {
        let s = &self.session;
        // A timer-like call (workflow.sleep) due before a timer holds the
        // timer back until it has ended: its body keeps the I/O runtime's
        // time, not the spell's, and may end a moment after its due.
        let first_wait = || self.waits.borrow().first().copied();
        let next = self.shared.timers.borrow().next(first_wait());
        let next = next.map(|(due, _)| due);
        let mut alarm = next.map(|due| {
            Box::pin(crate::session::wait::sleep(
                due.saturating_sub(self.clock()),
            ))
        });
        let ended = crate::session::wait::block_on(
            s,
            std::future::poll_fn(|cx| {
                let mut ended = Vec::new();
                let mut running = self.running.borrow_mut();
                while let Poll::Ready(Some(e)) = running.poll_next_unpin(cx) {
                    ended.push(e);
                }
                drop(running);
                let rang = alarm
                    .as_mut()
                    .is_some_and(|a| a.as_mut().poll(cx).is_ready());
                let quiet = ended.is_empty()
                    && !rang
                    && next.is_none_or(|due| due > self.clock())
                    && !self._rt.is_job_pending()
                    && self.shared.ops.borrow().is_empty();
                if quiet {
                    Poll::Pending
                } else {
                    Poll::Ready(ended)
                }
            }),
        )?;
        let now = self.clock();
        for e in &ended {
            if let Some(due) = e.1.due {
                self.waits.borrow_mut().remove(&(due, e.1.seq));
            }
        }
        // Timer-like calls settle in the order they fall due, whatever
        // order the I/O runtime saw them end in: one that ended while one
        // due before it still runs waits for it.
        let first_running = self.waits.borrow().first().copied();
        let before_running = |key: (Duration, u64)| first_running.is_none_or(|f| key < f);
        let held = std::mem::take(&mut *self.held.borrow_mut());
        let mut ready: Vec<((Duration, u64), Ready)> = Vec::new();
        for e in held.into_iter().chain(ended) {
            match e.1.due {
                Some(due) if !before_running((due, e.1.seq)) => self.held.borrow_mut().push(e),
                _ => {
                    let key = (e.1.due.map_or(now, |d| d.min(now)), e.1.seq);
                    ready.push((key, Ready::Ended(Box::new(e))));
                }
            }
        }
        for (key, id) in self.shared.timers.borrow().due_by(now, first_wait()) {
            ready.push((key, Ready::Timer(key, id)));
        }
        ready.sort_by_key(|(key, _)| *key);
        Ok(ready.into_iter().map(|(_, r)| r).collect())
    }

    /// Runs one ready thing, then every job it made.
    fn run(&self, ready: Ready, goal: Option<&Persistent<Promise<'static>>>) -> Result<()> {
        let s = &self.session;
        match ready {
            Ready::Ended(ended) => self.ctx.with(|ctx| {
                let (result, settle) = *ended;
                let signal = match settle.signal {
                    Some((signal, stop)) => {
                        let stop = stop.restore(&ctx).map_err(internal)?;
                        stop.call::<_, ()>(()).map_err(|_| js_error(&ctx, s))?;
                        Some(signal.restore(&ctx).map_err(internal)?)
                    }
                    None => None,
                };
                let (f, v) = match result {
                    Some(Ok(v)) => (settle.resolve, to_js(&ctx, v)),
                    Some(Err(e)) if e.code.is_fatal() => return Err(e),
                    Some(Err(e)) => (settle.reject, error_value(&ctx, &self.shared, &e)),
                    None => {
                        let reason = signal.map_or_else(
                            || Ok(JsValue::new_undefined(ctx.clone())),
                            |sig| sig.get::<_, JsValue>("reason"),
                        );
                        (settle.reject, reason)
                    }
                };
                let f = f.restore(&ctx).map_err(internal)?;
                let v = v.map_err(|_| js_error(&ctx, s))?;
                self.shared.poll_lines(s);
                f.call::<_, ()>((v,)).map_err(|_| js_error(&ctx, s))?;
                self.jobs(&ctx, goal)
            }),
            Ready::Timer(key, id) => {
                let now = self.clock();
                let seq = self.shared.next_seq();
                let Some(fire) = self.shared.timers.borrow_mut().take(key, id, now, seq) else {
                    return Ok(());
                };
                self.ctx.with(|ctx| {
                    let fire: Function = fire.restore(&ctx).map_err(internal)?;
                    // A timer's callback that throws is uncaught: the run
                    // fails with it, as node's process does.
                    fire.call::<_, ()>(()).map_err(|_| js_error(&ctx, s))?;
                    self.jobs(&ctx, goal)
                })
            }
        }
    }

    /// Runs every pending Promise job. A job that throws, or a Promise
    /// rejected with no handler once they are done, fails the run (except
    /// `goal`'s own rejection, which its waiter reports).
    fn jobs(&self, ctx: &Ctx<'_>, goal: Option<&Persistent<Promise<'static>>>) -> Result<()> {
        let s = &self.session;
        loop {
            s.check_stop()?;
            let mut from = std::mem::MaybeUninit::<*mut rquickjs::qjs::JSContext>::uninit();
            // SAFETY: the runtime is alive and this thread runs it; a job
            // that throws leaves its exception on `from`, which is this
            // engine's only context.
            let ran = unsafe {
                let rt = rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr());
                rquickjs::qjs::JS_ExecutePendingJob(rt, from.as_mut_ptr())
            };
            if ran == 0 {
                break;
            }
            if ran < 0 {
                // Uncaught (a queueMicrotask callback threw): the run
                // fails with it, as node's process does.
                return Err(js_error(ctx, s));
            }
        }
        let rejections: Vec<Rejection> = self.shared.rejections.borrow_mut().drain(..).collect();
        let goal = match goal {
            Some(g) => Some(g.clone().restore(ctx).map_err(internal)?.into_value()),
            None => None,
        };
        for (promise, reason) in rejections {
            let promise = promise.restore(ctx).map_err(internal)?;
            if goal.as_ref() == Some(&promise) {
                continue;
            }
            let reason = reason.restore(ctx).map_err(internal)?;
            let mut err = super::exception_to_error(&reason, &s.info.name);
            err.message = format!("unhandled rejection: {}", err.message);
            return Err(err);
        }
        Ok(())
    }
}
