//! Fibers: how a Rhai spell's `workflow` branches overlap their waits.
//!
//! Rhai has no async and its values cannot cross threads, so each branch
//! runs on its own stack on the spell's thread. When a branch waits
//! ([`super::wait::block_on`]) its fiber hands control back, and the
//! branch's future is pending until what it waits on wakes it. Only one
//! fiber runs at a time, so the engine is never entered from two places at
//! once; it is entered in an order that is not last-in-first-out, which
//! Rhai allows (each call keeps its own state). Lua and QuickJS do not:
//! their hosts use their own coroutines and Promises instead.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::Session;
use crate::error::{Error, ErrorCode, Result};
use crate::spell::SPELL_STACK;
use crate::value::Value;

type Body = Coroutine<Waker, (), Result<Value>, DefaultStack>;

/// The running fiber, innermost last: its way back and the waker of the
/// poll that resumed it.
struct Running {
    yielder: *const Yielder<Waker, ()>,
    waker: Waker,
}

thread_local! {
    static RUNNING: RefCell<Vec<Running>> = const { RefCell::new(Vec::new()) };
}

/// A script call running on its own fiber, as a future.
pub struct Fiber {
    body: Option<Body>,
}

impl Fiber {
    /// `f` runs when the fiber is first polled.
    pub fn new(f: impl FnOnce() -> Result<Value> + 'static) -> Result<Fiber> {
        let stack = DefaultStack::new(SPELL_STACK).map_err(|e| {
            Error::new(
                ErrorCode::LimitMemory,
                format!("cannot make a stack for a workflow branch: {e}"),
            )
        })?;
        let body = Coroutine::with_stack(stack, move |yielder: &Yielder<Waker, ()>, waker| {
            // A fiber keeps its own entry on top of RUNNING while it runs,
            // and takes it off while it is suspended.
            RUNNING.with(|r| {
                r.borrow_mut().push(Running {
                    yielder: yielder as *const _,
                    waker,
                })
            });
            let out = f();
            RUNNING.with(|r| r.borrow_mut().pop());
            out
        });
        Ok(Fiber { body: Some(body) })
    }
}

impl Future for Fiber {
    type Output = Result<Value>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Value>> {
        let Some(body) = self.body.as_mut() else {
            return Poll::Pending;
        };
        match body.resume(cx.waker().clone()) {
            CoroutineResult::Yield(()) => Poll::Pending,
            CoroutineResult::Return(out) => {
                self.body = None;
                Poll::Ready(out)
            }
        }
    }
}

/// When called inside a fiber: waits for `fut` by suspending the fiber
/// between polls, and returns its output. `None` outside any fiber.
pub(crate) fn wait_in_fiber<F: Future + ?Sized>(
    session: &Session,
    mut fut: Pin<&mut F>,
) -> Option<Result<F::Output>> {
    // Only the running fiber's code runs, and fibers it started have ended
    // or are suspended: the top entry is this fiber's own.
    let mut me = RUNNING.with(|r| r.borrow_mut().pop())?;
    let out = loop {
        if let Err(e) = session.check_stop() {
            break Err(e);
        }
        let mut cx = Context::from_waker(&me.waker);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            break Ok(out);
        }
        // SAFETY: the yielder lives on this fiber's own stack for as long
        // as the fiber runs, and we are on that fiber now.
        let yielder = unsafe { &*me.yielder };
        me.waker = yielder.suspend(());
    };
    RUNNING.with(|r| r.borrow_mut().push(me));
    Some(out)
}
