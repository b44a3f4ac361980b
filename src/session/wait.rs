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

/// The runtime that HTTP and timers run on, shared by every spell.
pub fn io() -> &'static tokio::runtime::Runtime {
    static IO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("llmspell-io")
            // A panic in a task is the waiting spell's error (below).
            .on_thread_start(crate::panic::quiet_thread)
            .enable_all()
            .build()
            .expect("the I/O runtime must start: without it no model can be called")
    })
}

/// Runs `fut` on the I/O runtime. Dropping the returned future aborts it,
/// so a cancelled spell leaves no request running behind it.
pub fn spawn_io<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = Result<T>> + 'static {
    IoTask(io().spawn(fut))
}

struct IoTask<T>(tokio::task::JoinHandle<T>);

impl<T> Future for IoTask<T> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.map_err(|e| match e.try_into_panic() {
                Ok(payload) => crate::panic::internal(&crate::panic::payload_text(&*payload)),
                Err(e) => crate::panic::internal(&e.to_string()),
            })
        })
    }
}

impl<T> Drop for IoTask<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on the I/O runtime with a time limit: `None` when `d` passes
/// first. One task holds both the work and its timer, so a call that
/// answers in time costs no more wake-ups than the work itself.
pub fn spawn_io_timeout<T: Send + 'static>(
    d: Duration,
    fut: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = Result<Option<T>>> + 'static {
    spawn_io(async move { tokio::time::timeout(d, fut).await.ok() })
}

/// Sleeps without holding the spell's thread (other waiting work goes on).
pub fn sleep(d: Duration) -> impl Future<Output = Result<()>> + 'static {
    spawn_io(async move { tokio::time::sleep(d).await })
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
    let waker = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(true),
    });
    let as_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&as_waker);
    loop {
        session.check_stop()?;
        if session.past_deadline() {
            return Err(session.trip(ErrorCode::LimitTime));
        }
        if waker.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return Ok(out);
            }
        }
        std::thread::park_timeout(CHECK_EVERY);
    }
}
