//! A global allocator that counts each thread's live bytes, which gives
//! Rhai (which has no allocator hook of its own) a real memory cap.
//!
//! The `llmspell` binaries install it. A library user who wants the Rhai
//! cap installs it too:
//!
//! ```text
//! #[global_allocator]
//! static ALLOC: llmspell::CountingAllocator = llmspell::CountingAllocator;
//! ```
//!
//! Without it, Rhai spells are bounded only by the per-value size limits
//! llmspell sets from `memory_mb`. Lua and QuickJS have their own caps and
//! do not need it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts bytes allocated minus bytes freed, per thread, then defers to the
/// system allocator.
pub struct CountingAllocator;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn add(n: isize) {
    // `try_with`: during thread teardown the counter may be gone already.
    let _ = LIVE.try_with(|c| c.set(c.get().wrapping_add(n)));
}

// SAFETY: every call is passed to `System` unchanged; only a counter moves.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Whether the counting allocator is this process's allocator: a probe
/// allocation either moves this thread's count or it does not.
pub fn installed() -> bool {
    let before = thread_live_bytes();
    let probe = std::hint::black_box(vec![0u8; 4096]);
    let grew = thread_live_bytes() - before >= 4096;
    drop(probe);
    grew
}

/// Bytes this thread holds now (allocated minus freed here).
pub fn thread_live_bytes() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}
