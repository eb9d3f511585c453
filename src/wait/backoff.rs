//! Exponential backoff for spin phases (step 2 of the waiting path).
//!
//! Step `k` spins `2^k` `spin_loop` hints while `k <= SPIN_LIMIT`, then yields the thread
//! until `YIELD_LIMIT`, after which [`Backoff::is_completed`] tells the caller to park. The
//! limits follow the usual practice (crossbeam-utils, folly's `Sleeper`): 2^6 pauses is about
//! the cost of a cross-core cache-line transfer round trip; a few yields let a descheduled
//! partner run on an oversubscribed machine.

use crate::sync;

#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const SPIN_LIMIT: u32 = 6;
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const YIELD_LIMIT: u32 = 10;

// Under loom every spin is a yield, and loom schedules the least-yielded thread first, so a
// thread that yielded through spin phases is starved by one that waits for it; keep the phase
// to a single step so models stay small and fair.
#[cfg(lockgate_loom)]
const SPIN_LIMIT: u32 = 0;
#[cfg(lockgate_loom)]
const YIELD_LIMIT: u32 = 0;

// Under shuttle a spin is a yield too, and each yield a step of the schedule. Shuttle's
// schedulers are fair to spinners (PCT lowers a yielding thread's priority), so the phase need
// not be a single step; a short one (three spins, then one yield) keeps schedules short, so
// PCT's few priority changes land in the protocol, and still lets a partner be caught while
// spinning as well as after parking.
#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
const SPIN_LIMIT: u32 = 1;
#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
const YIELD_LIMIT: u32 = 2;

/// Exponential backoff state for one waiting call.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    /// Steps taken so far; saturates at `YIELD_LIMIT + 1`.
    step: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { step: 0 }
    }

    /// Backs off in a loop that waits for another thread: spins, then yields.
    pub(crate) fn snooze(&mut self) {
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
    pub(crate) fn spin(&mut self) {
        for _ in 0..(1u32 << self.step.min(SPIN_LIMIT)) {
            sync::spin_loop();
        }
        if self.step <= SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// True once the spin and yield phases are over and the caller should park.
    pub(crate) fn is_completed(&self) -> bool {
        self.step > YIELD_LIMIT
    }
}

/// Checks per spin phase of [`spin_poll`]: a microsecond or two of `pause`s, several barrier
/// rounds with a thread per core. Longer phases cost oversubscribed machines more than they
/// save (measured: 1024 checks made 8 threads on 2 cores 5x slower than 128).
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const POLL_SPINS: u32 = 128;
/// Yields after the spin phase of [`spin_poll`], for oversubscribed machines.
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const POLL_YIELDS: u32 = 8;
// Under loom a spin is a yield; one of each keeps the models small (see above).
#[cfg(lockgate_loom)]
const POLL_SPINS: u32 = 1;
#[cfg(lockgate_loom)]
const POLL_YIELDS: u32 = 0;
// Under shuttle, a short phase of each (see above).
#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
const POLL_SPINS: u32 = 2;
#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
const POLL_YIELDS: u32 = 1;

/// A spin phase for waits that are expected to end within a round trip or two of a cache
/// line (a barrier round): re-checks `attempt` after every `spin_loop` hint instead of backing
/// off exponentially, so the waiter sees the change as soon as it lands; then yields a few
/// times. Returns `Some` as soon as `attempt` does, `None` once the phase is over (the caller
/// then parks) or `past()` says the deadline passed. `Park` skips the phase; `Spin` never
/// ends it except by success or deadline.
pub(crate) fn spin_poll<R>(
    policy: crate::wait::WaitPolicy,
    past: impl Fn() -> bool,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    use crate::wait::WaitPolicy;
    if policy == WaitPolicy::Park {
        return None;
    }
    let mut i: u32 = 0;
    loop {
        if let Some(r) = attempt() {
            return Some(r);
        }
        i = i.wrapping_add(1);
        // The clock is read once every 64 checks: it costs more than a check.
        if i % 64 == 0 && past() {
            return None;
        }
        if policy == WaitPolicy::Spin || i < POLL_SPINS {
            sync::spin_loop();
        } else if i < POLL_SPINS + POLL_YIELDS {
            sync::yield_now();
        } else {
            return None;
        }
    }
}
