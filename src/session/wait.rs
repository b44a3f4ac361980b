//! Waiting: the I/O runtime that model and tool calls run on, and how a
//! spell's thread waits for them.
//!
//! A spell's thread never blocks past a stop or a limit: every wait here
//! wakes at least every [`CHECK_EVERY`] to look at the stop flag and the
//! deadline, and dropping what it waited for cancels the I/O behind it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::Session;
use crate::error::{ErrorCode, Result};

/// How often a waiting spell thread looks at its stop flag and deadline.
const CHECK_EVERY: Duration = Duration::from_millis(5);

/// The runtime whose driver HTTP and timers are registered with, shared by
/// every spell: a current-thread runtime driven by one thread of its own,
/// which watches the sockets and timers and runs the tasks that HTTP
/// connections spawn. The calls themselves are polled by the spell's
/// thread ([`on_io`]).
///
/// One thread, not a pool, and no task per call: both cost every call
/// wake-ups between threads. Measured in `benches/llm.rs` (CPU time, 200
/// instant model calls from a Lua spell against Rust calling `llm`
/// directly): a two-worker pool with a task per call +38-45%, one thread
/// with a task per call +15-26%, the call polled by the spell's thread
/// about even (medians of five runs: Lua -5%, JavaScript +6%, Rhai -2%).
/// Measured and dropped since, on the wall clock: a current-thread runtime
/// per spell thread, with no I/O thread (about 8% slower: nothing left to
/// overlap), and a task per call with the timer fix (about 35% slower).
/// See benches/README.md, "Fourth pass".
/// Nothing may block this thread: blocking work goes to `spawn_blocking`.
pub fn io() -> &'static tokio::runtime::Handle {
    static IO: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    IO.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            // The blocking pool's threads (DNS lookups): their panics are
            // reported through `panic::contain`, not printed.
            .on_thread_start(crate::panic::quiet_thread)
            .enable_all()
            .build()
            .expect("the I/O runtime must start: without it no model can be called");
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("llmspell-io".into())
            .spawn(move || {
                crate::panic::quiet_thread();
                ON_IO_THREAD.with(|on| on.set(true));
                rt.block_on(keep_a_timer_near())
            })
            .expect("the I/O thread must start: without it no model can be called");
        handle
    })
}

/// Runs forever on the I/O thread, with a timer never more than
/// [`NEAR`] away. tokio wakes a parked timer driver whenever a timer is
/// set to fall due before the one it parked for, and, with no timer at
/// all, for any timer: each model call sets its time limits from the
/// spell's thread, so without this the I/O thread was woken (a system call
/// on the spell's thread, a context switch on the I/O thread's) for nearly
/// every call. A time limit further off than [`NEAR`] now wakes nothing;
/// a nearer one wakes the driver as it must.
async fn keep_a_timer_near() {
    let mut tick = tokio::time::interval(NEAR);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
    }
}

/// See [`keep_a_timer_near`].
const NEAR: Duration = Duration::from_secs(1);

/// `fut` as a call the spell's thread polls in the I/O runtime's context:
/// its sockets and timers belong to the I/O thread, which wakes the spell
/// when they are ready. Dropping it drops the call, so a cancelled spell
/// leaves no request running behind it; a panic inside it is the call's
/// internal error.
pub fn on_io<T>(
    fut: impl Future<Output = T> + 'static,
) -> impl Future<Output = Result<T>> + 'static {
    OnIo {
        fut: Some(Box::pin(fut)),
        later: None,
    }
}

/// Wakes the spell's thread for a call; a wake-up from the I/O thread
/// itself goes out only after the tasks the I/O thread has queued by then
/// have run. An HTTP/1 connection goes back to the pool in such a task,
/// after its reply has reached the call: woken at once, a spell making
/// calls in a row would often find no idle connection for the next call
/// and open another (`tests/llm.rs`, `calls_in_a_row_reuse_one_connection`).
struct Later(Waker);

thread_local! {
    static ON_IO_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Wake for Later {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !ON_IO_THREAD.with(std::cell::Cell::get) {
            return self.0.wake_by_ref();
        }
        let waker = self.0.clone();
        // A task queued here, on the I/O thread, runs after those already
        // queued; yielding once puts it after those they queue in turn.
        drop(io().spawn(async move {
            tokio::task::yield_now().await;
            waker.wake();
        }));
    }
}

struct OnIo<F> {
    fut: Option<Pin<Box<F>>>,
    /// The caller's waker as the call is given it (see [`Later`]).
    later: Option<Arc<Later>>,
}

impl<F: Future> Future for OnIo<F> {
    type Output = Result<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(Err(crate::panic::internal("a call polled after it ended")));
        };
        let later = match &this.later {
            Some(later) if later.0.will_wake(cx.waker()) => later.clone(),
            _ => this
                .later
                .insert(Arc::new(Later(cx.waker().clone())))
                .clone(),
        };
        let waker = Waker::from(later);
        let mut cx = Context::from_waker(&waker);
        let _in = io().enter();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(&mut cx)))
        {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => {
                this.fut = None;
                Poll::Ready(Ok(out))
            }
            Err(payload) => {
                // A future that panicked is not polled again.
                this.fut = None;
                let text = crate::panic::payload_text(&*payload);
                Poll::Ready(Err(crate::panic::internal(&text)))
            }
        }
    }
}

/// `d` from now, or as far ahead as a clock goes (`sleep(1e300)`).
fn from_now(d: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    // About thirty years, as tokio's own far future.
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// [`on_io`] with a time limit, counted from now: `None` when `d` passes
/// first.
pub fn on_io_timeout<T>(
    d: Duration,
    fut: impl Future<Output = T> + 'static,
) -> impl Future<Output = Result<Option<T>>> + 'static {
    let until = from_now(d);
    on_io(async move { tokio::time::timeout_at(until, fut).await.ok() })
}

/// Sleeps from now without holding the spell's thread (other waiting work
/// goes on).
pub fn sleep(d: Duration) -> impl Future<Output = Result<()>> + 'static {
    let until = from_now(d);
    // Made when first polled, in the I/O runtime's context (tokio's timers
    // need it), with the deadline taken now.
    on_io(async move { tokio::time::sleep_until(until).await })
}

/// Wakes a parked spell thread.
struct ThreadWaker {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Drives `fut` to its end on this thread. Ends early with the stop's
/// reason when the spell is stopped or passes its deadline; `fut` is then
/// dropped, which cancels what it waited on.
pub fn block_on<F: Future>(session: &Session, fut: F) -> Result<F::Output> {
    let mut fut = std::pin::pin!(fut);
    if let Some(out) = super::fiber::wait_in_fiber(session, fut.as_mut()) {
        return out;
    }
    park_until_ready(fut, || {
        session.check_stop()?;
        if session.past_deadline() {
            return Err(session.trip(ErrorCode::LimitTime));
        }
        Ok(())
    })
}

/// Polls `fut` each time it is woken, parking this thread between, and
/// asks `go_on` at least every [`CHECK_EVERY`] whether to keep waiting.
fn park_until_ready<F: Future>(
    mut fut: Pin<&mut F>,
    mut go_on: impl FnMut() -> Result<()>,
) -> Result<F::Output> {
    let waker = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(true),
    });
    let as_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&as_waker);
    loop {
        go_on()?;
        if waker.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return Ok(out);
            }
        }
        std::thread::park_timeout(CHECK_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives `fut` on this thread, as a spell's thread does, with no
    /// session (and no runtime of its own).
    fn drive<F: Future>(fut: F) -> F::Output {
        park_until_ready(std::pin::pin!(fut), || Ok(())).unwrap()
    }

    #[test]
    fn a_call_that_panics_is_its_own_internal_error_and_calls_go_on() {
        crate::panic::quiet_thread();
        let err = drive(on_io(async { panic!("boom") })).unwrap_err();
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(err.message.contains("boom"), "{err}");
        // The I/O thread and its timers are still there for the next call.
        drive(sleep(Duration::from_millis(1))).unwrap();
    }

    #[test]
    fn a_time_limit_and_a_sleep_count_from_when_they_are_made() {
        let d = Duration::from_millis(300);
        let (limited, slept) = (on_io_timeout(d, std::future::pending::<()>()), sleep(d));
        std::thread::sleep(d);
        let polled = std::time::Instant::now();
        assert_eq!(drive(limited).unwrap(), None, "the limit has passed");
        drive(slept).unwrap();
        assert!(polled.elapsed() < d / 2, "{:?}", polled.elapsed());
    }

    #[test]
    fn a_short_wait_ends_on_time_though_the_io_thread_parks_for_a_second() {
        // Let the I/O thread park on its own one-second timer first.
        drive(sleep(Duration::from_millis(1))).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for d in [Duration::from_millis(30), Duration::from_millis(80)] {
            let started = std::time::Instant::now();
            assert_eq!(
                drive(on_io_timeout(d, std::future::pending::<()>())).unwrap(),
                None
            );
            let took = started.elapsed();
            assert!(took >= d && took < NEAR / 2, "{d:?} took {took:?}");
        }
    }

    #[test]
    fn a_call_polled_by_its_own_thread_is_woken_by_the_io_thread() {
        // A timer the I/O thread fires wakes the parked caller.
        let started = std::time::Instant::now();
        drive(sleep(Duration::from_millis(50))).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
