//! [`WaitQueue`]: the intrusive doubly linked FIFO of [`Waiter`] nodes under a wait list's
//! lock (link, unlink, pop the front, pop the first node a select may still be claimed
//! through).

use core::ptr;
use core::task::Waker;

use crate::sync::{AtomicUsize, Ordering};

use super::node::*;

/// An intrusive FIFO of [`Waiter`] nodes. Every method runs under the lock that owns the queue
/// (it takes `&mut self`, which only the lock guard hands out).
pub(crate) struct WaitQueue<P> {
    /// Oldest waiter, or null. Invariant: `head` is null exactly when `tail` is.
    head: *const Waiter<P>,
    /// Newest waiter, or null.
    tail: *const Waiter<P>,
    /// Number of linked nodes.
    len: usize,
}

// SAFETY: the queue only holds pointers to nodes whose owners stay parked (or pinned) until
// the node is unlinked under the lock that owns this queue; moving the queue between threads
// moves no node.
unsafe impl<P: Send> Send for WaitQueue<P> {}

impl<P> core::fmt::Debug for WaitQueue<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitQueue").field("len", &self.len).finish()
    }
}

impl<P> WaitQueue<P> {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            head: ptr::null(),
            tail: ptr::null(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Links `node` at the back, with `wake` as its wake handle, and marks it `WAITING`.
    ///
    /// # Safety
    /// `node` is not linked (`state != WAITING`), and it stays at its address until it is
    /// unlinked again (by [`WaitQueue::pop_front`], [`WaitQueue::remove`]).
    pub(crate) unsafe fn push_back(&mut self, node: &Waiter<P>, wake: Wake) {
        debug_assert_ne!(node.state.load(Ordering::Relaxed), WAITING);
        let this: *const Waiter<P> = node;
        // SAFETY: the node is not linked, so no one else touches its cells (caller contract).
        node.wake.with_mut(|w| unsafe { *w = wake });
        node.links.with_mut(|l| {
            // SAFETY: as above.
            unsafe {
                (*l).prev = self.tail;
                (*l).next = ptr::null();
            }
        });
        if self.tail.is_null() {
            self.head = this;
        } else {
            // SAFETY: `tail` is a linked node; linked nodes are alive (push_back contract) and
            // their links are ours under the lock.
            unsafe { (*self.tail).links.with_mut(|l| (*l).next = this) };
        }
        self.tail = this;
        self.len += 1;
        // Relaxed: the lock orders this against every other queue operation; the owner's
        // lock-free reads only act on the other states, which are stored with Release.
        node.state.store(WAITING, Ordering::Relaxed);
    }

    /// Unlinks `node`. Its state stays `WAITING` until the caller completes it or resets it.
    ///
    /// # Safety
    /// `node` is linked in this queue.
    unsafe fn unlink(&mut self, node: *const Waiter<P>) {
        // SAFETY: linked nodes are alive and their links are ours under the lock.
        let (prev, next) = unsafe { (*node).links.with(|l| ((*l).prev, (*l).next)) };
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: `prev` is linked, hence alive.
            unsafe { (*prev).links.with_mut(|l| (*l).next = next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: `next` is linked, hence alive.
            unsafe { (*next).links.with_mut(|l| (*l).prev = prev) };
        }
        self.len -= 1;
    }

    /// True if `node` is the oldest waiter.
    pub(crate) fn is_front(&self, node: &Waiter<P>) -> bool {
        ptr::eq(self.head, node)
    }

    /// Runs `f` on the payload of the oldest waiter, if any, leaving it linked.
    pub(crate) fn with_front<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> Option<R> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: the head is linked, hence alive and WAITING, and `&mut self` means we hold
        // the lock that owns the queue, so its payload is ours.
        Some(unsafe { (*self.head).with_payload(f) })
    }

    /// Unlinks the oldest waiter and completes it with `state` (`NOTIFIED` or `CLOSED`) after
    /// `fill` has run on its payload. Returns the wake handle to call once the lock is dropped.
    pub(crate) fn pop_front_with(
        &mut self,
        state: usize,
        fill: impl FnOnce(&mut P),
    ) -> Option<Wake> {
        let node = self.head;
        if node.is_null() {
            return None;
        }
        // SAFETY: `node` is the linked head.
        unsafe { self.unlink(node) };
        // SAFETY: still alive: its owner waits for a state other than WAITING, stored below.
        let node = unsafe { &*node };
        // SAFETY: the node is WAITING and we hold the lock, so its payload is ours.
        unsafe { node.with_payload(fill) };
        // SAFETY: unlinked but still WAITING, so it is alive and its cells are ours.
        Some(unsafe { Self::complete(node, state) })
    }

    /// Like [`WaitQueue::pop_front_with`], for queues whose nodes carry values (the
    /// rendezvous channel): takes the oldest node that may be handed something, which is an
    /// ordinary waiter's node, or a select's node whose token this call moves from
    /// [`SELECT_OPEN`] to its arm (a SeqCst CAS, under the queue lock, so the hand-over and
    /// the claim are one step for everyone who takes this lock). Nodes of selects that have
    /// stopped waiting or committed to another arm are skipped and left linked: their owners
    /// unlink them.
    pub(crate) fn pop_claimable_with(
        &mut self,
        state: usize,
        fill: impl FnOnce(&mut P),
    ) -> Option<Wake> {
        let mut node = self.head;
        while !node.is_null() {
            // SAFETY: linked nodes are alive, and their links and claim are ours under the lock.
            let ((token, arm), next) =
                unsafe { ((*node).claim.get(), (*node).links.with(|l| (*l).next)) };
            // SAFETY: a linked select node's token outlives the linking (`set_claim`).
            let won = token.is_null()
                || unsafe { &*token }
                    .compare_exchange(SELECT_OPEN, arm + 2, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
            if won {
                // SAFETY: `node` is linked in this queue.
                unsafe { self.unlink(node) };
                // SAFETY: alive until completed; WAITING under our lock, so the payload is ours.
                unsafe { (*node).with_payload(fill) };
                // SAFETY: unlinked but still WAITING.
                return Some(unsafe { Self::complete(node, state) });
            }
            node = next;
        }
        None
    }

    /// True if [`WaitQueue::pop_claimable_with`] would find a node, not counting the nodes of
    /// the select whose token is `except` (a select never pairs with itself).
    pub(crate) fn has_claimable(&self, except: *const AtomicUsize) -> bool {
        let mut node = self.head;
        while !node.is_null() {
            // SAFETY: as in `pop_claimable_with`.
            let ((token, _), next) =
                unsafe { ((*node).claim.get(), (*node).links.with(|l| (*l).next)) };
            if token.is_null() {
                return true;
            }
            if !ptr::eq(token, except) {
                // SAFETY: as in `pop_claimable_with`. SeqCst: ordered with the claim CAS.
                if unsafe { &*token }.load(Ordering::SeqCst) == SELECT_OPEN {
                    return true;
                }
            }
            node = next;
        }
        false
    }

    /// Unlinks the oldest waiter and completes it with `state`.
    pub(crate) fn pop_front(&mut self, state: usize) -> Option<Wake> {
        self.pop_front_with(state, |_| {})
    }

    /// Hands the node back to its owner.
    ///
    /// Takes a raw pointer, not a reference: the owner may free the node the instant the state
    /// store lands, so no reference to it may outlive that store (as in `Arc`'s drop).
    ///
    /// # Safety
    /// `node` is alive, unlinked, still `WAITING`, and the caller holds the queue lock.
    unsafe fn complete(node: *const Waiter<P>, state: usize) -> Wake {
        // SAFETY: unlinked but still WAITING: only we (under the lock) touch its cells.
        let wake = unsafe { (*node).wake.with_mut(|w| core::mem::take(&mut *w)) };
        // Release pairs with the owner's Acquire in `Waiter::state`: the payload write and the
        // unlinking happen before the owner reuses or frees the node. This store is our last
        // access to the node.
        // SAFETY: still alive until this store completes (caller contract).
        unsafe { (*node).state.store(state, Ordering::Release) };
        wake
    }

    /// Takes `node` out of the queue if it is still linked. Also returns the node's wake
    /// handle, which the caller drops after releasing the lock: dropping a `Waker` runs user
    /// code, which must not run (or panic) with the node half removed or the lock held.
    ///
    /// # Safety
    /// `node` is either linked in this queue or has been completed by it.
    pub(crate) unsafe fn remove(&mut self, node: &Waiter<P>) -> (Notified, Wake) {
        // Relaxed: under the lock every state change of a linked node is visible to us.
        match node.state.load(Ordering::Relaxed) {
            WAITING => {
                // SAFETY: WAITING means linked in this queue (caller contract).
                unsafe { self.unlink(node) };
                // SAFETY: unlinked, so the wake handle is ours.
                let wake = node.wake.with_mut(|w| unsafe { core::mem::take(&mut *w) });
                node.state.store(IDLE, Ordering::Relaxed);
                (Notified::No, wake)
            }
            s => (Notified::Yes(s), Wake::None),
        }
    }

    /// Installs `waker` in a linked node (an async waiter polled again). Returns whether the
    /// node was still linked, and the displaced wake handle (or the unused `waker`), which the
    /// caller drops after releasing the lock. The caller clones the waker before taking the
    /// lock, so no waker code runs under it.
    ///
    /// # Safety
    /// `node` is linked in this queue or has been completed by it.
    pub(crate) unsafe fn update_waker(&mut self, node: &Waiter<P>, waker: Waker) -> (bool, Wake) {
        // Relaxed: under the lock every state change of a linked node is visible to us.
        if node.state.load(Ordering::Relaxed) != WAITING {
            return (false, Wake::Waker(waker));
        }
        // SAFETY: WAITING and we hold the lock, so the wake cell is ours.
        let old = node.wake.with_mut(|w| unsafe {
            match &*w {
                Wake::Waker(old) if old.will_wake(&waker) => Wake::Waker(waker),
                _ => core::mem::replace(&mut *w, Wake::Waker(waker)),
            }
        });
        (true, old)
    }
}
