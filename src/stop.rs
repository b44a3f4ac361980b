//! Stopping a spell: the stop flag another thread sets, the run's deadline,
//! and the count of the engine's work for `[limits] instructions`.
//!
//! Everything here is shared between the spell's thread and whoever may stop
//! it, through atomics only: nothing here ever blocks or takes a lock.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::ErrorCode;

/// Stops a running spell from any thread. The first reason set wins, and
/// once set, every later check in the spell fails with it: a spell cannot
/// catch its way past a stop or a limit.
#[derive(Clone, Default)]
pub struct StopHandle(Arc<AtomicU8>);

const REASONS: [ErrorCode; 5] = [
    ErrorCode::Cancelled,
    ErrorCode::LimitTime,
    ErrorCode::LimitInstructions,
    ErrorCode::LimitMemory,
    ErrorCode::LimitDepth,
];

impl StopHandle {
    pub fn new() -> Self {
        StopHandle::default()
    }

    /// Asks the spell to stop; it ends with `cancelled`.
    pub fn stop(&self) {
        self.trip(ErrorCode::Cancelled);
    }

    /// Sets the reason the spell stops, unless one is set already.
    pub fn trip(&self, code: ErrorCode) {
        let n = REASONS
            .iter()
            .position(|c| *c == code)
            .map_or(1, |i| i as u8 + 1);
        let _ = self
            .0
            .compare_exchange(0, n, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn reason(&self) -> Option<ErrorCode> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            n => REASONS.get(n as usize - 1).copied(),
        }
    }

    /// A new start: no reason to stop. A REPL clears a limit an entry
    /// tripped itself; a stop from outside stays until its host clears it.
    pub fn clear(&self) {
        self.0.store(0, Ordering::Release);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }
}

/// When a run's time is up: its start plus its time limit, plus the time it
/// has spent paused in a debugger (a pause is the user's time, not the
/// spell's). Clones share it all, so engines' limit checks on other
/// threads see a pause, and a REPL's new entry ([`Deadline::restart`]).
#[derive(Clone, Debug)]
pub(crate) struct Deadline(Arc<DeadlineAt>);

#[derive(Debug)]
struct DeadlineAt {
    /// What the microseconds below count from.
    base: Instant,
    /// The time limit's end, `u64::MAX` for none.
    at_us: AtomicU64,
    paused_us: AtomicU64,
    /// All the time paused since `base`, which a new entry does not reset.
    paused_ever_us: AtomicU64,
}

impl Deadline {
    /// `limit` from now (none: never).
    pub(crate) fn new(limit: Option<Duration>) -> Deadline {
        let d = Deadline(Arc::new(DeadlineAt {
            base: Instant::now(),
            at_us: AtomicU64::new(u64::MAX),
            paused_us: AtomicU64::new(0),
            paused_ever_us: AtomicU64::new(0),
        }));
        d.restart(limit);
        d
    }

    /// The time limit starts again from now (a REPL's entry).
    pub(crate) fn restart(&self, limit: Option<Duration>) {
        let at = limit.map_or(u64::MAX, |l| {
            micros(self.0.base.elapsed()).saturating_add(micros(l))
        });
        self.0.paused_us.store(0, Ordering::Relaxed);
        self.0.at_us.store(at, Ordering::Relaxed);
    }

    /// Checked often (every few thousand instructions): two loads and a
    /// clock read, no 128-bit arithmetic.
    pub(crate) fn passed(&self) -> bool {
        let at = self.0.at_us.load(Ordering::Relaxed);
        at != u64::MAX && {
            let paused = self.0.paused_us.load(Ordering::Relaxed);
            self.0.base.elapsed() >= Duration::from_micros(at.saturating_add(paused))
        }
    }

    /// The run was paused this long: its time limit moves on by as much.
    pub(crate) fn add_pause(&self, d: Duration) {
        self.0.paused_us.fetch_add(micros(d), Ordering::Relaxed);
        self.0
            .paused_ever_us
            .fetch_add(micros(d), Ordering::Relaxed);
    }

    /// The spell's own clock: time since the run began less the time it
    /// spent paused in a debugger, so a timer set before a pause is still
    /// as far off after it. A REPL's new entry does not set it back.
    pub(crate) fn run_time(&self) -> Duration {
        let paused = Duration::from_micros(self.0.paused_ever_us.load(Ordering::Relaxed));
        self.0.base.elapsed().saturating_sub(paused)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The engine's own work so far in this run (or this REPL entry), in its
/// own units, for `[limits] instructions`. Only the spell's thread counts
/// (plain loads and stores, no locked add); a REPL sets it back to zero
/// between entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work(Arc<AtomicU64>);

impl Work {
    /// Counts `n` more; the total so far.
    #[inline]
    pub(crate) fn add(&self, n: u64) -> u64 {
        let total = self.0.load(Ordering::Relaxed).saturating_add(n);
        self.0.store(total, Ordering::Relaxed);
        total
    }

    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}
