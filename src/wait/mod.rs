//! How every blocking call in lockgate waits.
//!
//! One path serves every blocking operation:
//!
//! 1. a lock-free fast path: the caller's own `try_*` operation;
//! 2. bounded spinning with exponential backoff ([`Backoff`]), long enough to catch a partner
//!    that is a few hundred nanoseconds away, short enough that an idle thread stops burning CPU;
//! 3. registration in a [`WaitList`]: an intrusive FIFO of waiter nodes that live on the
//!    waiting thread's stack (or inside a pinned future), so a wait allocates nothing. The
//!    waiter registers, re-checks its condition, and only then parks: an *event count*, so a
//!    notification that lands between the check and the park is never lost;
//! 4. parking until notified, or until a deadline passes.
//!
//! The notifier's side costs one fence and one load of the waiter count when nobody sleeps: no
//! lock, no syscall. Notification is FIFO, and a notifier may hand a value straight to the
//! waiter it picked (the payload of a node), which the rendezvous channel uses.
//!
//! Cancellation: every wait is bounded by an [`Until`] (a deadline and an optional
//! [`Interrupt`] source such as a context). A parked waiter with a source is linked in the
//! source's wait list as well as the structure's; it re-checks its node, the source and the
//! deadline after every wake-up, and gives up through the timeout path, so cancellation and
//! timeouts leave a structure in the same state.
//!
//! The [`WaitPolicy`] chosen per structure decides how long step 2 lasts.
//!
//! Deadlines that must strike while nobody waits (a context's, an `after` channel's) fire on
//! the crate's one timer ([`timer`]): a thread in normal builds, a heap that timed parks
//! advance under the model checkers.

mod backoff;
mod blocking;
mod fifo;
pub(crate) mod hook;
mod node;
#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
pub(crate) mod pause;
pub(crate) mod select;
pub(crate) mod timer;
pub(crate) mod turn;
mod until;
mod wait_list;

/// `pause_point!(Name)`: a named point where a schedule test may stop this thread (see
/// `pause.rs`); compiled only into this crate's unit tests, nothing elsewhere.
macro_rules! pause_point {
    ($point:ident) => {
        #[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
        $crate::wait::pause::at($crate::wait::pause::Point::$point);
    };
}
pub(crate) use pause_point;

pub(crate) use backoff::{spin_poll, Backoff};
pub(crate) use blocking::{cancel_wait, park_node, poll_wait, wait_blocking};
pub(crate) use fifo::WaitQueue;
pub use node::Wake;
pub(crate) use node::{
    Notified, Waiter, CLOSED, IDLE, NOTIFIED, SELECT_ABORTED, SELECT_OPEN, WAITING,
};
pub(crate) use until::{Interrupt, Until};
pub(crate) use wait_list::WaitList;

/// Runs its closure if dropped while the thread unwinds: finishes a job (waking, draining,
/// handing on) that a panicking waker interrupted, so no waiter is left behind. Forget it once
/// the job is done. (A second waker panicking during that unwinding aborts the process, as
/// any panic in a destructor while unwinding.)
pub(crate) struct OnUnwind<F: FnMut()>(pub(crate) F);

impl<F: FnMut()> Drop for OnUnwind<F> {
    fn drop(&mut self) {
        if crate::sync::panicking() {
            (self.0)();
        }
    }
}

/// The deadline `timeout` from now; `None` (wait forever) for a timeout too large to
/// represent, as std's `recv_timeout` does.
pub(crate) fn deadline_after(timeout: std::time::Duration) -> Option<std::time::Instant> {
    std::time::Instant::now().checked_add(timeout)
}

/// How a blocking call waits before it parks, chosen per structure.
///
/// Whatever the policy, a call with a timeout or deadline honours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitPolicy {
    /// Never park: spin (with `spin_loop` hints) until the operation succeeds or its deadline
    /// passes. For threads pinned to dedicated cores where a wake-up syscall costs more than
    /// the core. Burns a core while waiting; never use it on an oversubscribed machine.
    Spin,
    /// Spin briefly with exponential backoff, yield a few times, then park. The default.
    #[default]
    Adaptive,
    /// Park at once after the first failed attempt. For oversubscribed machines, where the
    /// partner thread is likely not running at all.
    Park,
}
