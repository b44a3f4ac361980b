//! QuickJS's memory, capped: every allocation the JavaScript engine makes
//! goes through [`CappedAllocator`], which trips `limit.memory` past the
//! cap and keeps a reserve for the host to stop the spell cleanly. It
//! never raises anything itself: the interrupt handler does.

use std::sync::Arc;

use rquickjs::allocator::{Allocator, RustAllocator};

use super::MIN_RESERVE;
use crate::error::ErrorCode;
use crate::session::Session;
use crate::stop::StopHandle;

/// QuickJS's allocations, capped: the first allocation past the cap trips
/// `limit.memory`, which the interrupt handler then raises uncatchably.
pub(super) struct CappedAllocator {
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
    /// The context's interrupt countdown, once found (see `super::countdown`).
    countdown: std::sync::Arc<std::sync::atomic::AtomicPtr<i32>>,
}

/// The allocator reads the clock every this many bytes allocated:
/// compiling a long `eval` source allocates much and ticks never.
pub(super) const CLOCK_EVERY_BYTES: usize = 4 << 20;

impl CappedAllocator {
    /// Capped at `cap` bytes; what it holds is the session's heap size.
    /// `countdown` is where the context's interrupt countdown will be.
    pub(super) fn new(
        session: &Session,
        cap: usize,
        countdown: &Arc<std::sync::atomic::AtomicPtr<i32>>,
    ) -> Self {
        let shown: Arc<std::sync::atomic::AtomicUsize> = Default::default();
        let read = Arc::clone(&shown);
        session.set_heap(Box::new(move || {
            read.load(std::sync::atomic::Ordering::Relaxed)
        }));
        CappedAllocator {
            inner: RustAllocator,
            used: 0,
            shown,
            cap,
            stop: session.stop_handle().clone(),
            deadline: session.deadline().clone(),
            since: 0,
            spent_since_stop: None,
            countdown: Arc::clone(countdown),
        }
    }

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
