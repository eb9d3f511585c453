//! The semaphore's core: one atomic word and a FIFO of parked waiters.
//!
//! `state` holds `free_permits << SHIFT | HANDOFF | QUEUED | CLOSED`. The fast paths touch only
//! this word: acquiring is one compare-and-swap that subtracts permits, releasing one
//! `fetch_add`. A caller that finds too few permits spins a little, then links a wait node
//! (payload: the permits it wants) into a FIFO under a mutex, sets `QUEUED`, and parks.
//!
//! Hand-off: while `QUEUED` is set, every release goes on to the slow path, where it takes the
//! queue lock and hands permits to the head of the queue (subtracting them from the word and
//! marking the node `NOTIFIED`), oldest first. A parked waiter therefore never re-competes for
//! permits after waking: it wakes holding them. No wake-up is lost without any fence, because
//! all of it happens on one word: every write to `state` is a read-modify-write, so all of
//! them fall in one total order. A release that comes before an enqueuer's `fetch_or(QUEUED)`
//! in that order is seen by the enqueuer's own grant attempt right after it; one that comes
//! after sees `QUEUED` and runs the hand-off itself.
//!
//! Fairness. `HANDOFF` closes the fast path: new callers may not take free permits, which stay
//! reserved for the queue. A fair semaphore sets it together with `QUEUED`: strict FIFO, as
//! tokio's semaphore, so a large `acquire_many` is never overtaken. The default semaphore lets
//! new callers barge past parked waiters (throughput: no convoy behind a sleeping thread), but
//! once the head of the queue has been passed over `STARVE_PASSES` times it sets `HANDOFF`
//! until the queue drains, so nothing starves (Go's `sync.Mutex` starvation mode, counted in
//! failed grants instead of elapsed time, which needs no clock and so works for async waiters
//! and under loom). Both flags clear, under the lock, when the queue empties.
//!
//! The shape follows tokio's `batch_semaphore` (permits in one word, waiters in an intrusive
//! list, permits assigned to waiters by the releaser); unlike it, a release with no one queued
//! takes no lock, and a waiter's permits are handed over whole rather than accumulated.

use core::task::{Context, Poll};

use crossbeam_utils::CachePadded;

use crate::sync::{self, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait::{
    park_node, Backoff, Notified, OnUnwind, Until, WaitPolicy, WaitQueue, Waiter, Wake,
    CLOSED as NODE_CLOSED, NOTIFIED, WAITING,
};

/// Set once by `close`; never cleared.
const CLOSED: usize = 1;
/// Some waiter may be linked in the queue: releases must take the slow path. Set and cleared
/// under the queue lock only.
const QUEUED: usize = 2;
/// The fast path is closed: free permits are reserved for the queue. Set and cleared under the
/// queue lock only, and only while `QUEUED` is set.
const HANDOFF: usize = 4;
/// Permits live above the flag bits.
const SHIFT: u32 = 3;

/// The most permits a semaphore can hold, free and held together.
pub const MAX_PERMITS: usize = usize::MAX >> SHIFT;

/// Failed grants to the head of the queue after which a barging semaphore turns fair until
/// its queue drains.
const STARVE_PASSES: u32 = 8;

/// Why a non-blocking attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TryFail {
    Closed,
    NoPermits,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Acquired,
    Closed,
    TimedOut,
}

/// The queue and the starvation counter, under one lock.
struct Waiters {
    /// Parked waiters, oldest first; each node's payload is the number of permits it wants.
    queue: WaitQueue<usize>,
    /// Failed grant attempts since the current head last changed.
    passes: u32,
}

pub(super) struct RawSemaphore {
    /// `free << SHIFT | HANDOFF | QUEUED | CLOSED`. Invariant: `free <= total`, so the word
    /// never overflows. Every write is a read-modify-write (see the module docs).
    state: CachePadded<AtomicUsize>,
    /// Free plus held permits; changed only by `add_permits` and `forget`. Invariant:
    /// `total <= MAX_PERMITS`. Relaxed everywhere: it only bounds the count, it publishes
    /// nothing.
    total: AtomicUsize,
    waiters: Mutex<Waiters>,
    fair: bool,
    policy: WaitPolicy,
}

impl RawSemaphore {
    pub(super) fn new(permits: usize, fair: bool, policy: WaitPolicy) -> Self {
        assert!(
            permits <= MAX_PERMITS,
            "Semaphore::new: {permits} permits exceed MAX_PERMITS ({MAX_PERMITS})"
        );
        RawSemaphore {
            state: CachePadded::new(AtomicUsize::new(permits << SHIFT)),
            total: AtomicUsize::new(permits),
            waiters: Mutex::new(Waiters {
                queue: WaitQueue::new(),
                passes: 0,
            }),
            fair,
            policy,
        }
    }

    pub(super) fn is_fair(&self) -> bool {
        self.fair
    }

    pub(super) fn set_policy(&mut self, policy: WaitPolicy) {
        self.policy = policy;
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        // Only list surgery and counter updates run under the lock (wakers run outside it), so
        // a poisoned lock cannot hold a half-done update: recover the guard.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn available(&self) -> usize {
        // Relaxed: a snapshot for the caller, not a synchronization point.
        self.state.load(Ordering::Relaxed) >> SHIFT
    }

    pub(super) fn is_closed(&self) -> bool {
        // Acquire pairs with the AcqRel `fetch_or` in `close`.
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The fast path: takes `n` permits if they are free and not reserved for the queue.
    #[inline(always)]
    pub(super) fn try_acquire(&self, n: usize) -> Result<(), TryFail> {
        // Relaxed: a first guess that the compare-and-swap below checks.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryFail::Closed);
            }
            if n == 0 {
                return Ok(());
            }
            if s & HANDOFF != 0 || (s >> SHIFT) < n {
                return Err(TryFail::NoPermits);
            }
            // Acquire pairs with the Release of the `fetch_add` in `release` that freed these
            // permits: whatever their last holder did happens before we hold them.
            match self.state.compare_exchange_weak(
                s,
                s - (n << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(cur) => s = cur,
            }
        }
    }

    /// Gives `n` held permits back: one `fetch_add`, plus the hand-off if anyone is queued.
    #[inline]
    pub(super) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Release pairs with the Acquire of whoever takes these permits next (`try_acquire`
        // or `grant_head`). Cannot overflow: free permits never exceed `total`.
        let prev = self.state.fetch_add(n << SHIFT, Ordering::Release);
        if prev & QUEUED != 0 {
            self.distribute(true);
        }
    }

    /// Adds `n` new permits; panics past `MAX_PERMITS`.
    pub(super) fn add_permits(&self, n: usize) {
        let grown = self
            .total
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                t.checked_add(n).filter(|&t| t <= MAX_PERMITS)
            });
        if let Err(total) = grown {
            panic!(
                "Semaphore::add_permits: adding {n} permits to {total} would exceed MAX_PERMITS \
                 ({MAX_PERMITS})"
            );
        }
        self.release(n);
    }

    /// Forgets `n` held permits: they leave the semaphore for good.
    pub(super) fn forget(&self, n: usize) {
        self.total.fetch_sub(n, Ordering::Relaxed);
    }

    /// Closes the semaphore: later acquires fail, and every queued waiter wakes with an error.
    pub(super) fn close(&self) {
        // AcqRel: the flag is one more RMW in `state`'s total order; a waiter's enqueue under
        // the lock either precedes the drain below (and is drained) or sees the flag. From
        // here on `grant_head` grants nothing, so every queued waiter ends `CLOSED`.
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        self.drain_closed();
    }

    fn drain_closed(&self) {
        let rest = OnUnwind(|| self.drain_closed());
        loop {
            let wake = {
                let mut w = self.lock();
                let wake = w.queue.pop_front(NODE_CLOSED);
                if wake.is_none() {
                    self.clear_queue_flags(&mut w);
                }
                wake
            };
            match wake {
                Some(wake) => wake.wake(),
                None => break,
            }
        }
        core::mem::forget(rest);
    }

    /// Under the lock, once the queue is empty: reopens the fast path.
    fn clear_queue_flags(&self, w: &mut Waiters) {
        debug_assert!(w.queue.is_empty());
        w.passes = 0;
        // Relaxed: the flags only steer callers to the slow path, which takes the lock; the
        // lost-wake-up argument rests on the RMW total order, not on this ordering.
        self.state.fetch_and(!(QUEUED | HANDOFF), Ordering::Relaxed);
    }

    /// Under the lock: hands the head waiter its permits if the free permits cover them (the
    /// head may take permits reserved by `HANDOFF`; they are reserved for it). Returns the
    /// head's wake handle, to be called after the lock is released. Grants nothing once
    /// closed: `close` drains the queue. `release` says whether a release called: only then
    /// does a failed grant count as the head being passed over.
    fn grant_head(&self, w: &mut Waiters, release: bool) -> Option<Wake> {
        let Some(need) = w.queue.with_front(|need| *need) else {
            self.clear_queue_flags(w);
            return None;
        };
        // Relaxed: a first guess that the compare-and-swap checks.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                return None;
            }
            if (s >> SHIFT) < need {
                if !release {
                    return None;
                }
                w.passes = w.passes.saturating_add(1);
                if !self.fair && w.passes >= STARVE_PASSES && s & HANDOFF == 0 {
                    // Relaxed: as in `clear_queue_flags`.
                    self.state.fetch_or(HANDOFF, Ordering::Relaxed);
                }
                return None;
            }
            // Acquire, as in `try_acquire`: pairs with the releases that freed the permits;
            // the node's Release completion below passes that on to the waiter.
            match self.state.compare_exchange_weak(
                s,
                s - (need << SHIFT),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        w.passes = 0;
        w.queue.pop_front(NOTIFIED)
    }

    /// Hands free permits to queued waiters, oldest first, until the head cannot be served.
    /// Wakes each outside the lock; if a waker panics, the rest are still served (a second
    /// panicking waker, during that unwinding, aborts the process). `release`: called for a
    /// release, so a head left unserved counts as passed over.
    #[cold]
    fn distribute(&self, release: bool) {
        let rest = OnUnwind(|| self.distribute(release));
        loop {
            let wake = {
                let mut w = self.lock();
                self.grant_head(&mut w, release)
            };
            match wake {
                Some(wake) => wake.wake(),
                None => break,
            }
        }
        core::mem::forget(rest);
    }

    /// Wakes a waiter that was just granted its permits, then serves whoever else the free
    /// permits cover, even if the waker panics.
    fn wake_then_distribute(&self, wake: Wake) {
        let rest = OnUnwind(|| self.distribute(false));
        wake.wake();
        core::mem::forget(rest);
        self.distribute(false);
    }

    /// Links `node` (whose payload is the permits it wants) at the back of the queue, unless
    /// the permits can be taken at once or the semaphore is closed (`Some` then).
    ///
    /// # Safety
    /// `node` is not linked and stays at its address until it has been unlinked: completed
    /// by a grant or `close`, or taken back with [`RawSemaphore::cancel`].
    unsafe fn enqueue(&self, node: &Waiter<usize>, n: usize, wake: Wake) -> Option<Outcome> {
        let granted = {
            let mut w = self.lock();
            match self.try_acquire(n) {
                Ok(()) => return Some(Outcome::Acquired),
                Err(TryFail::Closed) => return Some(Outcome::Closed),
                Err(TryFail::NoPermits) => {}
            }
            let flags = if self.fair { QUEUED | HANDOFF } else { QUEUED };
            // Relaxed: see the module docs; the RMW order, not this ordering, makes every
            // later release see `QUEUED`.
            self.state.fetch_or(flags, Ordering::Relaxed);
            // SAFETY: forwarded caller contract.
            unsafe { w.queue.push_back(node, wake) };
            // A release ordered before our `fetch_or` did not see `QUEUED`; serve it here.
            let granted = self.grant_head(&mut w, false);
            // Under the lock no one else can have completed our node: if it is `NOTIFIED`,
            // this grant was ours.
            (granted, node.state() == NOTIFIED)
        };
        match granted {
            (Some(_ours), true) => {
                // Ours: no need to wake ourselves. Permits left over may serve the next head.
                self.distribute(false);
                Some(Outcome::Acquired)
            }
            (Some(wake), false) => {
                self.wake_then_distribute(wake);
                None
            }
            (None, _) => None,
        }
    }

    /// Takes `node` back after a timeout, a dropped future or an unwinding frame, and says how
    /// its wait ended: `TimedOut` if it was still queued (it then holds nothing), `Acquired` if
    /// a grant got there first (it holds the permits), `Closed` if `close` did.
    ///
    /// # Safety
    /// `node` was only ever linked into this semaphore's queue.
    unsafe fn cancel(&self, node: &Waiter<usize>) -> Outcome {
        debug_assert_ne!(
            node.state(),
            crate::wait::IDLE,
            "cancel of a node never queued"
        );
        let (removed, granted, displaced) = {
            let mut w = self.lock();
            let was_head = w.queue.is_front(node);
            // SAFETY: forwarded caller contract: the node is linked here or was completed by
            // this queue (then `remove` only reports how).
            let (removed, displaced) = unsafe { w.queue.remove(node) };
            // The node may have been the head holding back smaller requests behind it, or the
            // last waiter: either way the head may have changed.
            let granted = match removed {
                Notified::No => {
                    if was_head {
                        w.passes = 0; // the new head has not been passed over yet
                    }
                    self.grant_head(&mut w, false)
                }
                Notified::Yes(_) => None,
            };
            (removed, granted, displaced)
        };
        drop(displaced);
        if let Some(wake) = granted {
            self.wake_then_distribute(wake);
        }
        match removed {
            Notified::No => Outcome::TimedOut,
            Notified::Yes(NOTIFIED) => Outcome::Acquired,
            Notified::Yes(_) => Outcome::Closed,
        }
    }

    /// The blocking acquire: fast path, spin, then park in the queue until granted, closed or
    /// past `deadline`.
    #[inline]
    pub(super) fn acquire(&self, n: usize, until: Until<'_>) -> Outcome {
        match self.try_acquire(n) {
            Ok(()) => Outcome::Acquired,
            Err(TryFail::Closed) => Outcome::Closed,
            Err(TryFail::NoPermits) => self.acquire_slow(n, until),
        }
    }

    #[cold]
    fn acquire_slow(&self, n: usize, until: Until<'_>) -> Outcome {
        let _yielding = until.yielding_locks();
        let attempt = || match self.try_acquire(n) {
            Ok(()) => Some(Outcome::Acquired),
            Err(TryFail::Closed) => Some(Outcome::Closed),
            Err(TryFail::NoPermits) => None,
        };
        let past = || until.passed();
        let mut backoff = Backoff::new();
        match self.policy {
            WaitPolicy::Park => {}
            WaitPolicy::Adaptive => {
                while !backoff.is_completed() {
                    backoff.snooze();
                    if let Some(o) = attempt() {
                        return o;
                    }
                    if past() {
                        return Outcome::TimedOut;
                    }
                }
            }
            WaitPolicy::Spin => loop {
                backoff.spin();
                if let Some(o) = attempt() {
                    return o;
                }
                if past() {
                    return Outcome::TimedOut;
                }
            },
        }
        let node = Waiter::new(n);
        // Unlinks the node (and gives back permits granted to it) if this frame unwinds: a
        // grant below may wake a peer, and a peer's waker is user code that may panic.
        let guard = ReleaseOnUnwind {
            sem: self,
            node: &node,
            n,
        };
        // SAFETY: `node` is fresh, and this frame cannot be left while it is linked: every
        // return below follows its completion or `cancel`, and `guard` covers unwinding.
        if let Some(o) = unsafe { self.enqueue(&node, n, Wake::Thread(sync::current())) } {
            core::mem::forget(guard);
            return o;
        }
        let outcome = match park_node(&node, until) {
            NOTIFIED => Outcome::Acquired,
            NODE_CLOSED => Outcome::Closed,
            // Deadline passed while linked; `cancel` settles the race with a grant.
            // SAFETY: linked only into our queue.
            _ => unsafe { self.cancel(&node) },
        };
        core::mem::forget(guard);
        outcome
    }

    /// One poll of an async acquire whose pinned wait node is `node`.
    ///
    /// # Safety
    /// `node` is pinned, only ever linked into this semaphore's queue, and its owner calls
    /// [`RawSemaphore::drop_async`] before freeing it unless this returned `Ready`.
    pub(super) unsafe fn poll_acquire(
        &self,
        node: &Waiter<usize>,
        n: usize,
        cx: &mut Context<'_>,
    ) -> Poll<Outcome> {
        match node.state() {
            NOTIFIED => return Poll::Ready(Outcome::Acquired),
            NODE_CLOSED => return Poll::Ready(Outcome::Closed),
            WAITING => {
                let waker = cx.waker().clone();
                let (linked, displaced) = {
                    let mut w = self.lock();
                    // SAFETY: `node` is linked in this queue or was completed by it.
                    unsafe { w.queue.update_waker(node, waker) }
                };
                drop(displaced);
                if linked {
                    return Poll::Pending;
                }
                // Completed since we looked: act on it now.
                return Poll::Ready(match node.state() {
                    NOTIFIED => Outcome::Acquired,
                    _ => Outcome::Closed,
                });
            }
            _ => {}
        }
        // SAFETY: the node is not linked (IDLE: never enqueued) and pinned (caller contract).
        match unsafe { self.enqueue(node, n, Wake::Waker(cx.waker().clone())) } {
            Some(o) => Poll::Ready(o),
            None => Poll::Pending,
        }
    }

    /// Called when an async acquire is dropped before it completed: unlinks its node, and
    /// gives back any permits granted to it, so a dropped acquire holds nothing.
    ///
    /// # Safety
    /// As [`RawSemaphore::poll_acquire`].
    pub(super) unsafe fn drop_async(&self, node: &Waiter<usize>, n: usize) {
        let outcome = match node.state() {
            WAITING => {
                // SAFETY: forwarded caller contract.
                unsafe { self.cancel(node) }
            }
            NOTIFIED => Outcome::Acquired,
            _ => return,
        };
        if outcome == Outcome::Acquired {
            self.release(n);
        }
    }
}

/// Settles a blocking wait whose frame unwinds: unlinks the node, and releases any permits
/// granted to it.
struct ReleaseOnUnwind<'a> {
    sem: &'a RawSemaphore,
    node: &'a Waiter<usize>,
    n: usize,
}

impl Drop for ReleaseOnUnwind<'_> {
    fn drop(&mut self) {
        // SAFETY: the node was only ever linked into `sem`'s queue.
        unsafe { self.sem.drop_async(self.node, self.n) };
    }
}

impl core::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Semaphore")
            .field("available_permits", &self.available())
            .field("closed", &self.is_closed())
            .field("fair", &self.fair)
            .finish()
    }
}
