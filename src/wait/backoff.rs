//! Exponential backoff for spin phases (step 2 of the waiting path).
//!
//! Step `k` spins `2^k` `spin_loop` hints while `k <= SPIN_LIMIT`, then yields the thread
//! until `YIELD_LIMIT`, after which [`Backoff::is_completed`] tells the caller to park. The
//! limits follow the usual practice (crossbeam-utils, folly's `Sleeper`): 2^6 pauses is about
//! the cost of a cross-core cache-line transfer round trip; a few yields let a descheduled
//! partner run on an oversubscribed machine.

use crate::sync;

#[cfg(not(lockgate_loom))]
const SPIN_LIMIT: u32 = 6;
#[cfg(not(lockgate_loom))]
const YIELD_LIMIT: u32 = 10;

// Under loom every spin is a yield, and loom schedules the least-yielded thread first, so a
// thread that yielded through spin phases is starved by one that waits for it; keep the phase
// to a single step so models stay small and fair.
#[cfg(lockgate_loom)]
const SPIN_LIMIT: u32 = 0;
#[cfg(lockgate_loom)]
const YIELD_LIMIT: u32 = 0;

/// Exponential backoff state for one waiting call.
#[derive(Debug, Default)]
pub struct Backoff {
    /// Steps taken so far; saturates at `YIELD_LIMIT + 1`.
    step: u32,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff { step: 0 }
    }

    /// Backs off in a loop that waits for another thread: spins, then yields.
    pub fn snooze(&mut self) {
        if self.step <= SPIN_LIMIT {
            for _ in 0..(1u32 << self.step) {
                sync::spin_loop();
            }
        } else {
            sync::yield_now();
        }
        if self.step <= YIELD_LIMIT {
            self.step += 1;
        }
    }

    /// Backs off with pure spinning, capped at `2^SPIN_LIMIT` hints (the `Spin` policy).
    pub fn spin(&mut self) {
        for _ in 0..(1u32 << self.step.min(SPIN_LIMIT)) {
            sync::spin_loop();
        }
        if self.step <= SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// True once the spin and yield phases are over and the caller should park.
    pub fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}
