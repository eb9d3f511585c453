//! Wait nodes: one waiting thread or task ([`Waiter`]), how to wake it ([`Wake`]), and the
//! states a node passes through while a wait list holds it.
//!
//! Node life cycle (`Waiter::state`): `IDLE` (not linked) -> `WAITING` (linked, owned by the
//! queue) -> `NOTIFIED` or `CLOSED` (unlinked by a notifier; the owner may reuse or free it).
//! A waiter that gives up (timeout, dropped future) unlinks itself under the lock; if it finds
//! that a notifier got there first, it owns a notification it will not use and passes it on.
//!
//! A notifier unparks its waiter after releasing the lock, so a waiter that already saw its
//! node completed can receive that unpark later, during some other `park`. `std::thread::park`
//! allows spurious returns and every wait loop here re-checks, so this is harmless.

use core::marker::PhantomPinned;
use core::ptr;
use core::task::Waker;

use crate::sync::{AtomicUsize, Ordering, Thread, UnsafeCell};

/// Not linked into any queue; only the owner touches the node.
pub(crate) const IDLE: usize = 0;
/// Linked into a queue; links, wake handle and payload belong to whoever holds the lock.
pub(crate) const WAITING: usize = 1;
/// Unlinked by a notifier that picked this node (and possibly filled its payload).
pub(crate) const NOTIFIED: usize = 2;
/// Unlinked because the structure closed or disconnected; the payload was not touched.
pub(crate) const CLOSED: usize = 3;

/// How to wake a waiter: unpark its thread or wake its task.
#[derive(Debug, Default)]
/// (`pub`, not `pub(crate)`: it appears in the signature of the hidden `Arm` trait that the
/// `select!` expansion names.)
pub enum Wake {
    /// Nothing to wake (a node that has been completed already).
    #[default]
    None,
    /// A thread blocked in [`park_node`].
    Thread(Thread),
    /// An async task.
    Waker(Waker),
}

impl Wake {
    /// Wakes the waiter. Called after the queue lock has been released.
    pub(crate) fn wake(self) {
        match self {
            Wake::None => {}
            Wake::Thread(t) => crate::sync::unpark(&t),
            Wake::Waker(w) => w.wake(),
        }
    }
}

/// The result of taking a node out of the list without being picked by a notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notified {
    /// The node was still linked and has been removed: it consumed nothing.
    No,
    /// A notifier had already picked the node; the state it left is inside.
    Yes(usize),
}

pub(super) struct Links<P> {
    pub(super) prev: *const Waiter<P>,
    pub(super) next: *const Waiter<P>,
}

/// One waiting thread or task. Must stay at one address while linked (`PhantomPinned`).
pub(crate) struct Waiter<P> {
    /// `IDLE`, `WAITING`, `NOTIFIED` or `CLOSED`. Written under the queue lock; read by the
    /// owner without it. The Release store that completes a node pairs with the owner's
    /// Acquire load, which publishes the payload and makes the node the owner's again.
    pub(super) state: AtomicUsize,
    /// Guarded by the queue lock while `state == WAITING`; the owner's otherwise.
    pub(super) wake: UnsafeCell<Wake>,
    /// Value handed between notifier and waiter. Same guard as `wake`.
    pub(super) payload: UnsafeCell<P>,
    /// Neighbours in the queue; meaningful only while `WAITING`, guarded by the queue lock.
    pub(super) links: UnsafeCell<Links<P>>,
    /// For a node of a `select`: the select's token word and this node's arm. A notifier
    /// that hands something over through the node (the rendezvous channel) must first win
    /// the token (see [`WaitQueue::pop_claimable_with`]). Null for every other waiter. Set by
    /// the owner while the node is not linked; read by notifiers under the queue lock.
    pub(super) claim: core::cell::Cell<(*const AtomicUsize, usize)>,
    _pin: PhantomPinned,
}

/// A select's token while it waits: no arm committed yet, so a peer may claim one.
pub(crate) const SELECT_OPEN: usize = 0;
/// The select stopped waiting on its own (an arm looked ready, a deadline passed, or it was
/// woken): peers may no longer claim its nodes. An arm `k` claimed by a peer is `k + 2`.
pub(crate) const SELECT_ABORTED: usize = 1;

// SAFETY: the raw pointers in `links` are only followed under the queue lock, and the payload
// moves between threads only as a `P`, so the node is as thread-safe as its payload.
unsafe impl<P: Send> Send for Waiter<P> {}
// SAFETY: shared access goes through `state` (atomic) or under the queue lock.
unsafe impl<P: Send> Sync for Waiter<P> {}

impl<P> core::fmt::Debug for Waiter<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Waiter")
            .field("state", &self.state())
            .finish()
    }
}

impl<P> Waiter<P> {
    pub(crate) fn new(payload: P) -> Self {
        Waiter {
            state: AtomicUsize::new(IDLE),
            wake: UnsafeCell::new(Wake::None),
            payload: UnsafeCell::new(payload),
            links: UnsafeCell::new(Links {
                prev: ptr::null(),
                next: ptr::null(),
            }),
            claim: core::cell::Cell::new((ptr::null(), 0)),
            _pin: PhantomPinned,
        }
    }

    /// The node's state. Acquire pairs with the Release store in [`WaitQueue::complete`].
    pub(crate) fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Makes this a select's node for arm `arm`, claimed through `token` (see `claim`).
    ///
    /// # Safety
    /// The node is not linked, and `token` outlives every later linking of the node.
    pub(crate) unsafe fn set_claim(&self, token: &AtomicUsize, arm: usize) {
        debug_assert_ne!(self.state.load(Ordering::Relaxed), WAITING);
        self.claim.set((token, arm));
    }

    /// Marks a node that a queue completed as its owner's again (as [`WaitList::reset`], for
    /// nodes of a bare [`WaitQueue`]). Only the owner calls it, after reading the completed
    /// state with [`Waiter::state`] or under the queue lock.
    pub(crate) fn make_idle(&self) {
        debug_assert_ne!(self.state.load(Ordering::Relaxed), WAITING);
        // Relaxed: the owner already synchronized with the completer (Acquire or the lock).
        self.state.store(IDLE, Ordering::Relaxed);
    }

    /// Runs `f` on the payload.
    ///
    /// # Safety
    /// The caller holds the queue lock while the node is `WAITING`, or owns the node (its
    /// state is not `WAITING` and was read with [`Waiter::state`]).
    pub(crate) unsafe fn with_payload<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        // SAFETY: exclusive access is the caller's contract, stated above.
        self.payload.with_mut(|p| f(unsafe { &mut *p }))
    }
}
