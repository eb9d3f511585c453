//! Nested waits: the pool's side of the blocking hook (`wait/hook.rs`), so that a job that
//! waits for another job of its own pool never deadlocks it.
//!
//! - **Claim-inline**: a job that calls `get` on the promise of a job of the same pool that
//!   has not started runs that job on its own stack (the queue keeps a handle that the worker
//!   dequeuing it later finds empty), up to `inline_depth` nested levels per thread; deeper,
//!   it blocks. Only the awaited job runs there, never an unrelated one (see the hook).
//! - **Compensation**: a worker whose wait inside a job lasts longer than
//!   [`COMPENSATION_DELAY`] starts a stand-in: an extra worker, unpinned and counted apart
//!   from the pool's own (`stand_ins`), at most `max_stand_ins` at a time. When the
//!   compensated wait ends, one stand-in owes its retirement: it retires after its current
//!   job, or at once if idle (idle stand-ins wait on the queue with a cancellation source
//!   that the returning worker fires). A worker that blocks while a retirement is owed keeps
//!   that stand-in instead of starting one. Go's runtime does the same with a thread blocked
//!   in a system call (its monitor hands the processor to another thread after ~20 µs).
//!
//! Why this cannot deadlock within the limits: jobs that wait on their own children form
//! trees (a job can only wait for jobs that exist, and a child exists after its parent
//! started), so a cycle of waits needs a wait on something other than a job of the pool.
//! A job waiting on a queued child runs it (claim); one waiting on a running child waits
//! for a thread that makes progress by induction; one waiting on anything else (a channel,
//! a lock, a child past the depth limit) is compensated after the delay, so the queue keeps
//! draining while fewer than `max_stand_ins` workers are blocked at once.
//!
//! State: `stand_ins` in one word, live stand-ins (low half) and retirements owed (high
//! half), with owed ≤ live; the worker loops read it at each job boundary.

use core::cell::Cell;
use std::time::Duration;

use super::inner::Inner;
use crate::channel::RecvTimeoutError;
use crate::sync::{full_fence, spawn_named, thread_local, Arc, AtomicU64, Ordering};
use crate::wait::hook::{self, Claim, Hook};
use crate::wait::{Interrupt, Until, WaitList, NOTIFIED};

/// How long a worker's wait inside a job lasts before the pool starts a stand-in. Long
/// enough that a pipeline stage's ordinary hand-offs (microseconds) never start one, short
/// enough that a job waiting on queued work behind it is unblocked quickly.
pub const COMPENSATION_DELAY: Duration = Duration::from_micros(50);

/// Default nesting depth of claimed jobs on one thread (each level is a few frames of the
/// thread's stack plus the job's own).
pub const DEFAULT_INLINE_DEPTH: usize = 64;

/// Default cap on stand-ins alive at once, per pool.
pub const DEFAULT_MAX_STAND_INS: usize = 256;

/// How long an idle stand-in that owes its retirement lingers first, so that a worker that
/// blocks again soon keeps it instead of starting a new thread (a job looping over short
/// blocking waits would otherwise start and end a thread per wait).
const LINGER: Duration = Duration::from_millis(5);

/// `stand_ins`: live stand-ins (bits 0-31) and retirements owed (bits 32-63).
const LIVE_ONE: u64 = 1;
const OWED_ONE: u64 = 1 << 32;
const HALF: u64 = 0xFFFF_FFFF;

pub(super) fn live(s: u64) -> usize {
    (s & HALF) as usize
}

fn owed(s: u64) -> usize {
    (s >> 32) as usize
}

thread_local! {
    /// Claimed jobs running nested on this thread.
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static DEPTH: Cell<usize> = Cell::new(0);
}

/// The pool's stand-in bookkeeping (a field of `Inner`).
pub(super) struct StandIns {
    /// Live | owed (see the module docs). Invariant: owed ≤ live. SeqCst RMWs: the owed
    /// count is the condition idle stand-ins' cancellation source re-checks (`Interrupt`'s
    /// contract), and the live count is part of `join`'s condition.
    pub(super) state: AtomicU64,
    /// Idle stand-ins wait here (as a cancellation source) for an owed retirement.
    retire: WaitList<()>,
    /// Most stand-ins alive at once; 0 turns compensation off.
    pub(super) max: usize,
    /// Most claimed jobs nested on one thread; 0 turns claim-inline off.
    pub(super) depth: usize,
}

impl StandIns {
    pub(super) fn new(max: usize, depth: usize) -> Self {
        StandIns {
            state: AtomicU64::new(0),
            retire: WaitList::new(),
            max: max.min(HALF as usize), // the width of the live count
            depth,
        }
    }

    /// True while a retirement is owed.
    fn owing(&self) -> bool {
        owed(self.state.load(Ordering::SeqCst)) > 0
    }

    /// Stand-ins alive now.
    pub(super) fn live(&self) -> usize {
        live(self.state.load(Ordering::SeqCst))
    }

    /// Takes an owed retirement for the calling stand-in; true if it must exit now.
    fn retire(&self) -> bool {
        let mut s = self.state.load(Ordering::SeqCst);
        while owed(s) > 0 {
            match self.state.compare_exchange_weak(
                s,
                s - OWED_ONE - LIVE_ONE,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(x) => s = x,
            }
        }
        false
    }

    /// A stand-in leaves because the pool shut down: one fewer live, owed clamped to it.
    fn leave(&self) {
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            let l = live(s) as u64 - 1;
            let o = (owed(s) as u64).min(l);
            match self.state.compare_exchange_weak(
                s,
                l | (o << 32),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(x) => s = x,
            }
        }
    }
}

/// An idle stand-in's cancellation source: fires while a retirement is owed. Unlike a
/// context it can fire and then stop (another stand-in took the retirement); a wait it
/// cuts short only returns `Timeout`, and the stand-in looks again, so that is harmless.
struct Retire<'a>(&'a StandIns);

impl Interrupt for Retire<'_> {
    fn is_interrupted(&self) -> bool {
        self.0.owing()
    }

    fn waiters(&self) -> &WaitList<()> {
        &self.0.retire
    }
}

impl Inner {
    /// Runs `body` (a worker's whole loop) with the pool's hook installed, unless both
    /// claiming and compensation are off.
    pub(super) fn hooked(this: &Arc<Inner>, body: impl FnOnce()) {
        if this.stand_ins.max == 0 && this.stand_ins.depth == 0 {
            return body();
        }
        hook::with_hook(this, body);
    }

    /// A stand-in's life: runs jobs until a retirement is owed (taken at once after a job;
    /// after `LINGER` when idle) or the queue ends.
    fn work_stand_in(this: Arc<Inner>) {
        Inner::enter_thread(&this, None);
        Inner::hooked(&this, || Inner::stand_in_loop(&this));
        Inner::leave_thread(&this);
    }

    fn stand_in_loop(this: &Arc<Inner>) {
        let st = &this.stand_ins;
        let signal = Retire(st);
        // No deque slot: a stand-in takes from the injector and steals, and blocks on the
        // injector's receive.
        let mut local = this.sched.no_slot();
        let mut after_job = false;
        loop {
            let got = if st.owing() && !after_job {
                // Idle with a retirement owed: linger, so a worker that blocks again soon
                // keeps this thread (`blocked` takes the owed retirement back).
                let until = crate::wait::deadline_after(LINGER).into();
                match Inner::next_job(this, &mut local, until) {
                    Err(RecvTimeoutError::Timeout) if st.retire() => break,
                    got => got,
                }
            } else {
                if st.retire() {
                    break;
                }
                let until = Until {
                    deadline: None,
                    cancel: Some(&signal),
                };
                Inner::next_job(this, &mut local, until)
            };
            after_job = false;
            match got {
                Ok(job) => {
                    this.run_or_drop(job, this.max);
                    after_job = true;
                }
                Err(RecvTimeoutError::Timeout) => {} // a retirement is (or was) owed: look again
                Err(RecvTimeoutError::Disconnected) => {
                    st.leave();
                    break;
                }
            }
        }
    }
}

impl Hook for Arc<Inner> {
    fn pool(&self) -> usize {
        Inner::id(self)
    }

    fn help(&self, job: &dyn Claim) -> bool {
        let depth = DEPTH.with(Cell::get);
        if depth >= self.stand_ins.depth {
            return false;
        }
        DEPTH.with(|d| d.set(depth + 1));
        struct Restore(usize);
        impl Drop for Restore {
            fn drop(&mut self) {
                DEPTH.with(|d| d.set(self.0));
            }
        }
        let _restore = Restore(depth);
        // Counted as completed, not as one more active worker: this thread already is one.
        self.count(self.max, false, || job.run_claimed())
    }

    fn delay(&self) -> Duration {
        COMPENSATION_DELAY
    }

    fn blocked(&self) -> bool {
        // Jobs this worker's own jobs queued on its deque go where the others look first,
        // so they run while it waits (a stand-in takes from the injector).
        Inner::flush_local(self);
        if self.is_drained() {
            return false; // shut down and nothing queued: a stand-in would find no work
        }
        let st = &self.stand_ins;
        let mut s = st.state.load(Ordering::SeqCst);
        loop {
            // Keep a stand-in that owes its retirement, else start one below the cap.
            let new = if owed(s) > 0 {
                s - OWED_ONE
            } else if live(s) < st.max {
                s + LIVE_ONE
            } else {
                return false; // at the cap: this wait blocks uncompensated
            };
            match st
                .state
                .compare_exchange_weak(s, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(x) => s = x,
            }
        }
        if owed(s) > 0 {
            return true;
        }
        let k = self.stand_in_ids();
        let me = self.clone();
        match spawn_named(format!("{}-stand-in-{k}", self.name), move || {
            Inner::work_stand_in(me)
        }) {
            Ok(h) => {
                self.keep_handle(h);
                true
            }
            Err(_) => {
                // Counted but not started: take it back (as a stand-in leaving would).
                st.leave();
                full_fence();
                self.gate.notify_all(NOTIFIED);
                false
            }
        }
    }

    fn unblocked(&self) {
        let st = &self.stand_ins;
        let mut s = st.state.load(Ordering::SeqCst);
        // One retirement owed, unless every live stand-in already owes one (stand-ins that
        // left at shutdown took theirs with them).
        while owed(s) < live(s) {
            match st.state.compare_exchange_weak(
                s,
                s + OWED_ONE,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    // The SeqCst RMW above is the condition write `Retire` re-checks.
                    st.retire.notify_all(NOTIFIED);
                    return;
                }
                Err(x) => s = x,
            }
        }
    }
}
