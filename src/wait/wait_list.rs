//! The wait list: an intrusive FIFO of parked waiters (steps 3 and 4 of the waiting path).
//!
//! A [`Waiter`] node lives where the waiting happens: on the stack of a blocked thread, or
//! inside a pinned future. [`WaitQueue`] links nodes into a doubly linked FIFO and is only
//! touched under a lock; [`WaitList`] pairs one queue with its mutex and a mirror of its length
//! that notifiers read without the lock. This is the event-count protocol (Vyukov's
//! "eventcount", the shape of tokio's `Notify` and crossbeam-channel's `SyncWaker`):
//!
//! ```text
//!   waiter                              notifier
//!   register node (lock, len += 1)      make the condition true (a SeqCst RMW)
//!   fence(SeqCst)
//!   re-check the condition (SeqCst)     if len == 0 { return }   // a load: no lock, no syscall
//!   park until node.state != WAITING    lock, pop front, state = NOTIFIED, unpark
//! ```
//!
//! SeqCst on both sides forbids the store-buffering outcome in which the waiter misses the
//! condition *and* the notifier misses the waiter, so no wake-up is lost. The notifier's side
//! is one load when nobody waits: its condition write is already a SeqCst read-modify-write,
//! which needs no extra fence (see `WaitList::has_waiters`).
//!
//! The nodes and their states are in `node.rs`, the FIFO in `fifo.rs`.

use core::task::Waker;

use crate::sync::{full_fence, AtomicUsize, Mutex, MutexGuard, Ordering};

use super::fifo::*;
use super::node::*;

/// A [`WaitQueue`] with its own lock and a lock-free mirror of its length.
pub(crate) struct WaitList<P = ()> {
    /// Number of linked waiters. Written under `queue`'s lock; read by notifiers without it
    /// (SeqCst on both sides; see `has_waiters`).
    waiting: AtomicUsize,
    queue: Mutex<WaitQueue<P>>,
}

impl<P> core::fmt::Debug for WaitList<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}

impl<P> Default for WaitList<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> WaitList<P> {
    /// An empty list.
    pub(crate) fn new() -> Self {
        WaitList {
            waiting: AtomicUsize::new(0),
            queue: Mutex::new(WaitQueue::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WaitQueue<P>> {
        // Only list surgery runs under this lock (wakers are cloned, woken and dropped outside
        // it), so a poisoned lock means a panic elsewhere in the holder's thread, not a
        // half-done update: recover the guard rather than propagate.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sync_len(&self, q: &WaitQueue<P>) {
        // SeqCst: part of the SeqCst pairing described at `has_waiters`.
        self.waiting.store(q.len(), Ordering::SeqCst);
    }

    /// Links `node` at the back of the list, then issues the fence that makes the caller's
    /// re-check of its condition safe (see the module docs).
    ///
    /// # Safety
    /// As [`WaitQueue::push_back`]: `node` is not linked and stays put until it is unlinked.
    pub(crate) unsafe fn register(&self, node: &Waiter<P>, wake: Wake) {
        {
            let mut q = self.lock();
            // SAFETY: forwarded caller contract.
            unsafe { q.push_back(node, wake) };
            self.sync_len(&q);
        }
        // With the SeqCst store of `waiting` above, our re-check is ordered after it (see
        // `has_waiters`); under loom, where SeqCst loads and stores are not modelled, this
        // fence pairs with the notifier's.
        full_fence();
    }

    /// Takes `node` out of the list if still linked; see [`WaitQueue::remove`].
    ///
    /// # Safety
    /// `node` was registered in this list (it may have been completed since).
    pub(crate) unsafe fn unregister(&self, node: &Waiter<P>) -> Notified {
        if node.state() == IDLE {
            return Notified::No;
        }
        let (r, wake) = {
            let mut q = self.lock();
            // SAFETY: forwarded caller contract.
            let r = unsafe { q.remove(node) };
            self.sync_len(&q);
            r
        };
        drop(wake);
        r
    }

    /// Marks a node that a notifier completed as the owner's again.
    pub(crate) fn reset(&self, node: &Waiter<P>) {
        debug_assert_ne!(node.state(), WAITING);
        // Relaxed: the owner already synchronized with the notifier through `Waiter::state`.
        node.state.store(IDLE, Ordering::Relaxed);
    }

    /// Updates the waker of a registered async node; false if it was completed already.
    ///
    /// # Safety
    /// `node` was registered in this list.
    pub(crate) unsafe fn update_waker(&self, node: &Waiter<P>, waker: &Waker) -> bool {
        let waker = waker.clone();
        let (linked, displaced) = {
            let mut q = self.lock();
            // SAFETY: forwarded caller contract.
            unsafe { q.update_waker(node, waker) }
        };
        drop(displaced);
        linked
    }

    /// True if some waiter may be linked.
    ///
    /// The caller's condition write must be a SeqCst read-modify-write (a ticket CAS, the
    /// disconnect `fetch_or`) that the waiter's re-check reads with a SeqCst load. Then no
    /// fence is needed here: that RMW precedes this SeqCst load in the single order S of
    /// SeqCst operations; if this load misses the waiter's SeqCst store of `waiting`, that
    /// store, and the waiter's re-check after it, come later in S, and the re-check sees the
    /// RMW. (crossbeam-channel relies on the same argument.) Loom cannot model SeqCst loads
    /// and stores beyond Acquire/Release, so under loom the pairing is made with a fence, which
    /// is the form the loom models verify. Shuttle builds go without the fence, as normal builds do: shuttle
    /// runs every access SeqCst, so its models check the fence-free form.
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        #[cfg(lockgate_loom)]
        full_fence();
        self.waiting.load(Ordering::SeqCst) != 0
    }

    /// Wakes the oldest waiter, if any. Costs one load when no one waits.
    #[inline]
    pub(crate) fn notify_one(&self) -> bool {
        if !self.has_waiters() {
            return false;
        }
        self.notify_one_slow()
    }

    #[cold]
    fn notify_one_slow(&self) -> bool {
        let wake = {
            let mut q = self.lock();
            let w = q.pop_front(NOTIFIED);
            self.sync_len(&q);
            w
        };
        match wake {
            Some(w) => {
                w.wake();
                true
            }
            None => false,
        }
    }

    /// Completes every waiter with `state` (`NOTIFIED` to wake all, `CLOSED` on disconnect).
    /// Wakes them one at a time outside the lock, so it allocates nothing.
    pub(crate) fn notify_all(&self, state: usize) {
        if !self.has_waiters() {
            return;
        }
        // Finishes the job if a waker panics, so no waiter is left parked.
        let rest = super::OnUnwind(|| self.wake_all_now(state));
        self.wake_all_now(state);
        core::mem::forget(rest);
    }

    fn wake_all_now(&self, state: usize) {
        // Only the waiters linked at our first look need us: one that links later takes the
        // lock after we did, so its re-check comes after the caller's condition write and sees
        // it. The bound keeps a waiter that re-registers at once from keeping us here.
        let mut left = None;
        loop {
            let wake = {
                let mut q = self.lock();
                let n = left.get_or_insert(q.len());
                if *n == 0 {
                    return;
                }
                *n -= 1;
                let w = q.pop_front(state);
                self.sync_len(&q);
                w
            };
            match wake {
                Some(w) => w.wake(),
                None => return,
            }
        }
    }
}
