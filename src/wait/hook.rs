//! The blocking hook: how a thread pool learns that one of its workers blocks inside a job,
//! so that it can help (run the awaited job itself) or compensate (start a stand-in worker).
//!
//! A pool installs a [`Hook`] on its worker thread for the worker's life ([`with_hook`]),
//! lifting it while the worker waits for its next job ([`without_hook`], only when that wait
//! would block, so a busy worker pays nothing per job); the waits of this layer consult it,
//! and nothing else does:
//!
//! - **help**: a blocking read of a promise whose producer is a job still queued offers that
//!   job to the hook first ([`help`]); a pool may claim it and run it on the waiting thread's
//!   stack, as a fork-join scheduler does with a child it has not started. Only the awaited
//!   job is offered, never an unrelated one: a helped job that waited for something the
//!   suspended frame does after its wait (a send, a lock) would deadlock where plain blocking
//!   does not.
//! - **compensate**: a park of a thread with a hook first sleeps at most the hook's
//!   [`delay`](Hook::delay); a wait still blocked after it calls [`Hook::blocked`] once (the
//!   pool may start a stand-in worker) and then parks for as long as it must. When the wait
//!   ends, [`Hook::unblocked`] follows (the pool may retire the stand-in). Waits shorter than
//!   the delay (a pipeline stage's normal hand-offs) cost the pool nothing. This is the
//!   system-call hand-off of Go's runtime, whose monitor hands a blocked thread's processor to
//!   another thread after some tens of microseconds.
//!
//! The hook sits in a thread-local, so the primitives that wait (promises, channels,
//! semaphores, barriers, select) know nothing of pools: the layering of the crate holds. A
//! thread without a hook pays one thread-local read per park, and nothing per operation that
//! does not park.

use core::cell::Cell;
use std::time::{Duration, Instant};

use crate::sync::{self, thread_local};

/// A job queued in a pool that the reader of its result may run on its own thread: the
/// producer behind a promise (see [`help`]).
pub(crate) trait Claim: Send + Sync {
    /// The pool the job was queued in (compared with [`Hook::pool`]).
    fn pool(&self) -> usize;
    /// Takes the job if nobody has taken it yet (the worker that dequeues it, or a reader
    /// that claims it here), and runs it on this thread. `None` if it was taken already;
    /// else whether its code panicked. At most one call of all those on one job runs it.
    fn run_claimed(&self) -> Option<bool>;
}

/// What a pool installs on its workers (see the module docs).
pub(crate) trait Hook {
    /// The pool's identity, as [`Claim::pool`] gives it.
    fn pool(&self) -> usize;
    /// Offered the job a blocking read on this thread waits for: runs it here and returns
    /// true, or declines (false), e.g. past the pool's nesting limit.
    fn help(&self, job: &dyn Claim) -> bool;
    /// How long a park lasts before [`blocked`](Hook::blocked) is called.
    fn delay(&self) -> Duration;
    /// This thread's wait has been blocked for [`delay`](Hook::delay): true if the pool
    /// started a stand-in, in which case [`unblocked`](Hook::unblocked) follows once the
    /// wait ends (however it ends).
    fn blocked(&self) -> bool;
    /// The wait that [`blocked`](Hook::blocked) compensated has ended.
    fn unblocked(&self);
}

thread_local! {
    /// The hook installed on this thread, if any. Invariant: set only by `with_hook`, which
    /// restores the previous value before the borrow it was made from ends; so a pointer
    /// read here is valid for as long as the frame that read it is inside that call.
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static HOOK: Cell<Option<*const (dyn Hook + 'static)>> = Cell::new(None);
}

/// Puts the previous hook back when dropped (returning or unwinding).
struct Restore(Option<*const (dyn Hook + 'static)>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = HOOK.try_with(|h| h.set(self.0));
    }
}

/// Runs `f` with `hook` installed on this thread (nested calls stack: the inner one wins
/// until it returns).
pub(crate) fn with_hook<R>(hook: &dyn Hook, f: impl FnOnce() -> R) -> R {
    // SAFETY: only the lifetime changes. `Restore` puts the previous value back before this
    // frame is left (returning or unwinding), so no reader of `HOOK` uses the pointer after
    // the borrow of `hook` ends (the invariant on `HOOK`).
    let ptr: *const (dyn Hook + 'static) =
        unsafe { core::mem::transmute::<*const dyn Hook, _>(hook as *const dyn Hook) };
    let prev = HOOK.try_with(|h| h.replace(Some(ptr))).ok().flatten();
    let _restore = Restore(prev);
    f()
}

/// Runs `f` with no hook on this thread (a pool's worker waiting for its next job: that
/// wait is idleness, not a blocked job); the hook comes back when `f` returns.
pub(crate) fn without_hook<R>(f: impl FnOnce() -> R) -> R {
    let prev = HOOK.try_with(|h| h.replace(None)).ok().flatten();
    let _restore = Restore(prev);
    f()
}

/// The hook of this thread, for the length of the caller's frame.
fn current() -> Option<&'static dyn Hook> {
    let ptr = HOOK.try_with(Cell::get).ok().flatten()?;
    // SAFETY: the invariant on `HOOK`: the hook outlives every frame inside `with_hook`. The
    // callers (`help`, and `Watch`, which keeps it for one wait) use the reference only
    // within the frame that read it: a `Watch` lives on the stack of one wait, never longer.
    Some(unsafe { &*ptr })
}

/// Offers `job` to this thread's hook before a blocking read waits for its result; true if
/// the job ran here (its result is then in). Jobs of another pool are declined.
pub(crate) fn help(job: &dyn Claim) -> bool {
    match current() {
        Some(h) if h.pool() == job.pool() => h.help(job),
        _ => false,
    }
}

/// The hook's view of one wait: parks through [`Watch::park_until`] and, dropped, reports the
/// end of a compensated wait. Invariant: a local of the wait that made it, never kept beyond
/// it (its hook reference is valid only that long; it is `!Send`, as `dyn Hook` is not `Sync`).
pub(crate) struct Watch {
    hook: Option<&'static dyn Hook>,
    phase: Phase,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No park yet.
    Fresh,
    /// Parked once, until `at` at the latest (the delay after the first park).
    Delaying(Instant),
    /// The delay passed with the wait still blocked: `blocked` is called at the next park.
    Due,
    /// `blocked` was called; `true` if it compensated (then `unblocked` is owed).
    Reported(bool),
}

impl Watch {
    /// A watch for one wait of this thread (one thread-local read).
    #[inline]
    pub(crate) fn new() -> Self {
        Watch {
            hook: current(),
            phase: Phase::Fresh,
        }
    }

    /// Parks until unparked or `deadline`; true if the deadline passed (as
    /// `sync::park_until`). With a hook, the first park lasts at most the hook's delay and
    /// then returns false (a spurious wake-up: the caller re-checks its condition); the next
    /// park reports the wait as blocked first. Without the wall clock: under the model
    /// checkers the delay passes whenever the park times out.
    pub(crate) fn park_until(&mut self, deadline: Option<Instant>) -> bool {
        self.park_with(deadline, sync::park_until)
    }

    /// [`Watch::park_until`] with another way to sleep: `park(deadline)` sleeps until woken or
    /// `deadline` and says whether the deadline passed (a futex wait, for the turn wait).
    pub(crate) fn park_with(
        &mut self,
        deadline: Option<Instant>,
        mut park: impl FnMut(Option<Instant>) -> bool,
    ) -> bool {
        let Some(hook) = self.hook else {
            return park(deadline);
        };
        match self.phase {
            Phase::Fresh => {
                let at = Instant::now().checked_add(hook.delay());
                match at {
                    Some(at) if deadline.map_or(true, |d| at < d) => {
                        self.phase = Phase::Delaying(at);
                        self.delay(at, park)
                    }
                    // The wait ends before the delay would: a plain park.
                    _ => {
                        self.phase = Phase::Reported(false);
                        park(deadline)
                    }
                }
            }
            Phase::Delaying(at) => self.delay(at, park),
            Phase::Due => {
                // The pool takes locks here while this thread may still get a late unpark.
                let _y = sync::YieldingLocks::enter();
                self.phase = Phase::Reported(hook.blocked());
                park(deadline)
            }
            Phase::Reported(_) => park(deadline),
        }
    }

    /// One park of the delay phase: always "not passed" (the delay ends before the deadline).
    fn delay(&mut self, at: Instant, mut park: impl FnMut(Option<Instant>) -> bool) -> bool {
        if park(Some(at)) {
            self.phase = Phase::Due;
        }
        false
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let (Some(hook), Phase::Reported(true)) = (self.hook, self.phase) {
            let _y = sync::YieldingLocks::enter();
            hook.unblocked();
        }
    }
}
