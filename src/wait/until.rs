//! What bounds a wait: a deadline, a cancellation source (a context), both or neither.
//!
//! Every blocking call of the crate waits through [`park_node`](super::park_node) and the
//! spin phases of this module's callers, all of which take an [`Until`]. A deadline is
//! honoured by parking no later than it. A cancellation source is honoured by registering the
//! parked thread in the source's own wait list as well: the waiter is then linked in two lists
//! at once (the structure's and the source's), and whichever fires first unparks it. The
//! waiter re-checks both after every wake-up, and gives up through the same path a timeout
//! takes, so a cancelled wait leaves the structure exactly as a timed-out one does (a value
//! not received stays in the channel, a permit not granted stays in the semaphore).

use std::time::Instant;

use super::WaitList;

/// A source of cancellation that blocking waits honour (implemented by contexts).
///
/// Contract: the source sets its
/// condition with a SeqCst read-modify-write and then wakes every waiter of `waiters()` with
/// `notify_all`, and `is_interrupted` reads it with a SeqCst load (the event-count pairing of
/// `WaitList`). A source may stop firing again (the worker pool's retirement signal does): a
/// wait it woke then gives up as on a timeout, and its caller decides whether to wait again.
/// Contexts, once fired, always are.
pub(crate) trait Interrupt: Sync {
    /// True once the source has fired.
    fn is_interrupted(&self) -> bool;
    /// The list a parked waiter registers in to be woken when the source fires.
    fn waiters(&self) -> &WaitList<()>;
}

/// The bound of one wait: a deadline and an optional cancellation source.
#[derive(Clone, Copy, Default)]
pub(crate) struct Until<'a> {
    /// Give up at this instant (`None`: never).
    pub deadline: Option<Instant>,
    /// Give up once this fires.
    pub cancel: Option<&'a dyn Interrupt>,
}

impl core::fmt::Debug for Until<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Until")
            .field("deadline", &self.deadline)
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

impl From<Option<Instant>> for Until<'_> {
    fn from(deadline: Option<Instant>) -> Self {
        Until {
            deadline,
            cancel: None,
        }
    }
}

impl<'a> Until<'a> {
    /// No bound: wait until the operation completes.
    pub(crate) const FOREVER: Until<'static> = Until {
        deadline: None,
        cancel: None,
    };

    /// True for [`Until::FOREVER`]: no deadline and nothing that cancels.
    #[inline]
    pub(crate) fn is_forever(&self) -> bool {
        self.deadline.is_none() && self.cancel.is_none()
    }

    /// True once the deadline has passed or the source has fired: the wait should give up.
    #[inline]
    pub(crate) fn passed(&self) -> bool {
        self.is_interrupted() || self.deadline.is_some_and(crate::sync::deadline_passed)
    }

    /// True once the cancellation source has fired (one load).
    #[inline]
    pub(crate) fn is_interrupted(&self) -> bool {
        self.cancel.is_some_and(|c| c.is_interrupted())
    }

    /// For a wait with a cancellation source, held for the whole wait: the thread is linked
    /// in two lists, and the notifier of one may unpark it late, while it waits for the
    /// other's lock. std's park tolerates that; loom's mutex does not (see `sync::Mutex`),
    /// so under loom such a wait takes locks by yielding. Nothing in other builds.
    #[inline]
    pub(crate) fn yielding_locks(&self) -> Option<crate::sync::YieldingLocks> {
        self.cancel.map(|_| crate::sync::YieldingLocks::enter())
    }
}
