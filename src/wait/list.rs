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
use std::time::Instant;

use crate::sync::{self, full_fence, AtomicUsize, Mutex, MutexGuard, Ordering, Thread, UnsafeCell};

use super::{Backoff, Until, WaitPolicy};

/// Not linked into any queue; only the owner touches the node.
pub const IDLE: usize = 0;
/// Linked into a queue; links, wake handle and payload belong to whoever holds the lock.
pub const WAITING: usize = 1;
/// Unlinked by a notifier that picked this node (and possibly filled its payload).
pub const NOTIFIED: usize = 2;
/// Unlinked because the structure closed or disconnected; the payload was not touched.
pub const CLOSED: usize = 3;

/// How to wake a waiter: unpark its thread or wake its task.
#[derive(Debug, Default)]
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
    pub fn wake(self) {
        match self {
            Wake::None => {}
            Wake::Thread(t) => t.unpark(),
            Wake::Waker(w) => w.wake(),
        }
    }
}

/// The result of taking a node out of the list without being picked by a notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notified {
    /// The node was still linked and has been removed: it consumed nothing.
    No,
    /// A notifier had already picked the node; the state it left is inside.
    Yes(usize),
}

struct Links<P> {
    prev: *const Waiter<P>,
    next: *const Waiter<P>,
}

/// One waiting thread or task. Must stay at one address while linked (`PhantomPinned`).
pub struct Waiter<P> {
    /// `IDLE`, `WAITING`, `NOTIFIED` or `CLOSED`. Written under the queue lock; read by the
    /// owner without it. The Release store that completes a node pairs with the owner's
    /// Acquire load, which publishes the payload and makes the node the owner's again.
    state: AtomicUsize,
    /// Guarded by the queue lock while `state == WAITING`; the owner's otherwise.
    wake: UnsafeCell<Wake>,
    /// Value handed between notifier and waiter. Same guard as `wake`.
    payload: UnsafeCell<P>,
    /// Neighbours in the queue; meaningful only while `WAITING`, guarded by the queue lock.
    links: UnsafeCell<Links<P>>,
    /// For a node of a `select`: the select's token word and this node's arm. A notifier
    /// that hands something over through the node (the rendezvous channel) must first win
    /// the token (see [`WaitQueue::pop_claimable_with`]). Null for every other waiter. Set by
    /// the owner while the node is not linked; read by notifiers under the queue lock.
    claim: core::cell::Cell<(*const AtomicUsize, usize)>,
    _pin: PhantomPinned,
}

/// A select's token while it waits: no arm committed yet, so a peer may claim one.
pub const SELECT_OPEN: usize = 0;
/// The select stopped waiting on its own (an arm looked ready, a deadline passed, or it was
/// woken): peers may no longer claim its nodes. An arm `k` claimed by a peer is `k + 2`.
pub const SELECT_ABORTED: usize = 1;

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
    pub fn new(payload: P) -> Self {
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
    pub fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Makes this a select's node for arm `arm`, claimed through `token` (see `claim`).
    ///
    /// # Safety
    /// The node is not linked, and `token` outlives every later linking of the node.
    pub unsafe fn set_claim(&self, token: &AtomicUsize, arm: usize) {
        debug_assert_ne!(self.state.load(Ordering::Relaxed), WAITING);
        self.claim.set((token, arm));
    }

    /// Marks a node that a queue completed as its owner's again (as [`WaitList::reset`], for
    /// nodes of a bare [`WaitQueue`]). Only the owner calls it, after reading the completed
    /// state with [`Waiter::state`] or under the queue lock.
    pub fn make_idle(&self) {
        debug_assert_ne!(self.state.load(Ordering::Relaxed), WAITING);
        // Relaxed: the owner already synchronized with the completer (Acquire or the lock).
        self.state.store(IDLE, Ordering::Relaxed);
    }

    /// Runs `f` on the payload.
    ///
    /// # Safety
    /// The caller holds the queue lock while the node is `WAITING`, or owns the node (its
    /// state is not `WAITING` and was read with [`Waiter::state`]).
    pub unsafe fn with_payload<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        // SAFETY: exclusive access is the caller's contract, stated above.
        self.payload.with_mut(|p| f(unsafe { &mut *p }))
    }
}

/// An intrusive FIFO of [`Waiter`] nodes. Every method runs under the lock that owns the queue
/// (it takes `&mut self`, which only the lock guard hands out).
pub struct WaitQueue<P> {
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
    pub const fn new() -> Self {
        WaitQueue {
            head: ptr::null(),
            tail: ptr::null(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Links `node` at the back, with `wake` as its wake handle, and marks it `WAITING`.
    ///
    /// # Safety
    /// `node` is not linked (`state != WAITING`), and it stays at its address until it is
    /// unlinked again (by [`WaitQueue::pop_front`], [`WaitQueue::remove`]).
    pub unsafe fn push_back(&mut self, node: &Waiter<P>, wake: Wake) {
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
    pub fn is_front(&self, node: &Waiter<P>) -> bool {
        ptr::eq(self.head, node)
    }

    /// Runs `f` on the payload of the oldest waiter, if any, leaving it linked.
    pub fn with_front<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> Option<R> {
        if self.head.is_null() {
            return None;
        }
        // SAFETY: the head is linked, hence alive and WAITING, and `&mut self` means we hold
        // the lock that owns the queue, so its payload is ours.
        Some(unsafe { (*self.head).with_payload(f) })
    }

    /// Unlinks the oldest waiter and completes it with `state` (`NOTIFIED` or `CLOSED`) after
    /// `fill` has run on its payload. Returns the wake handle to call once the lock is dropped.
    pub fn pop_front_with(&mut self, state: usize, fill: impl FnOnce(&mut P)) -> Option<Wake> {
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
    pub fn pop_claimable_with(&mut self, state: usize, fill: impl FnOnce(&mut P)) -> Option<Wake> {
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
    pub fn has_claimable(&self, except: *const AtomicUsize) -> bool {
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
    pub fn pop_front(&mut self, state: usize) -> Option<Wake> {
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
    pub unsafe fn remove(&mut self, node: &Waiter<P>) -> (Notified, Wake) {
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
    pub unsafe fn update_waker(&mut self, node: &Waiter<P>, waker: Waker) -> (bool, Wake) {
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

/// A [`WaitQueue`] with its own lock and a lock-free mirror of its length.
pub struct WaitList<P = ()> {
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
    pub fn new() -> Self {
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
    pub unsafe fn register(&self, node: &Waiter<P>, wake: Wake) {
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
    pub unsafe fn unregister(&self, node: &Waiter<P>) -> Notified {
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
    pub fn reset(&self, node: &Waiter<P>) {
        debug_assert_ne!(node.state(), WAITING);
        // Relaxed: the owner already synchronized with the notifier through `Waiter::state`.
        node.state.store(IDLE, Ordering::Relaxed);
    }

    /// Updates the waker of a registered async node; false if it was completed already.
    ///
    /// # Safety
    /// `node` was registered in this list.
    pub unsafe fn update_waker(&self, node: &Waiter<P>, waker: &Waker) -> bool {
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
    /// and stores beyond Acquire/Release, so under loom the pairing is made with a fence (and
    /// the channel parks on an in-flight slot, see `channel::array`), which is the form the
    /// loom models verify. Shuttle builds go without the fence, as normal builds do: shuttle
    /// runs every access SeqCst, so its models check the fence-free form.
    #[inline]
    fn has_waiters(&self) -> bool {
        #[cfg(lockgate_loom)]
        full_fence();
        self.waiting.load(Ordering::SeqCst) != 0
    }

    /// Wakes the oldest waiter, if any. Costs one load when no one waits.
    #[inline]
    pub fn notify_one(&self) -> bool {
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
    pub fn notify_all(&self, state: usize) {
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

/// Parks the calling thread until `node` leaves `WAITING`, or `until` passes (its deadline, or
/// its cancellation source fires). Returns the node's state (`WAITING` means the wait should
/// give up and the node is still linked: the caller's timeout path settles the race).
///
/// With a cancellation source, the thread is also linked into the source's wait list while it
/// parks, so the source's `notify_all` unparks it (see `until.rs`).
pub fn park_node<P>(node: &Waiter<P>, until: Until<'_>) -> usize {
    let Some(source) = until.cancel else {
        return park_plain(node, until.deadline, || false);
    };
    let list = source.waiters();
    let watch = Waiter::new(());
    // SAFETY: `watch` is fresh and lives on this frame; `_unlink` unregisters it before the
    // frame is left, however it is left.
    unsafe { list.register(&watch, Wake::Thread(sync::current())) };
    // The source wakes every waiter (`notify_all`), so a notification taken by `watch` needs
    // no passing on: the guard only unlinks.
    struct Unlink<'a>(&'a WaitList<()>, &'a Waiter<()>);
    impl Drop for Unlink<'_> {
        fn drop(&mut self) {
            // SAFETY: registered in this list above.
            unsafe { self.0.unregister(self.1) };
        }
    }
    let _unlink = Unlink(list, &watch);
    // `register` ends with the fence that orders this re-check after our link (the source's
    // side is a SeqCst RMW followed by `notify_all`): a firing we miss here will unpark us.
    park_plain(node, until.deadline, || source.is_interrupted())
}

fn park_plain<P>(node: &Waiter<P>, deadline: Option<Instant>, stop: impl Fn() -> bool) -> usize {
    loop {
        let s = node.state();
        if s != WAITING || stop() {
            return s;
        }
        super::pause_point!(Parking);
        let passed = sync::park_until(deadline);
        super::pause_point!(Woke);
        if passed {
            return node.state();
        }
    }
}

/// The whole waiting path for a blocking call: `attempt` is the call's own non-blocking form,
/// returning `Some` when the call is finished (succeeded or failed for good) and `None` when it
/// must wait. Returns `None` if `until` passed first (deadline or cancellation); `attempt` has
/// then run once more after it, so nothing that became ready in time is lost.
pub fn wait_blocking<'u, P: Default, R>(
    list: &WaitList<P>,
    policy: WaitPolicy,
    until: impl Into<Until<'u>>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let until = until.into();
    if let Some(r) = attempt() {
        return Some(r);
    }
    // Step 2: spin.
    let mut backoff = Backoff::new();
    match policy {
        WaitPolicy::Park => {}
        WaitPolicy::Adaptive => {
            while !backoff.is_completed() {
                backoff.snooze();
                if let Some(r) = attempt() {
                    return Some(r);
                }
                if until.passed() {
                    return None;
                }
            }
        }
        WaitPolicy::Spin => loop {
            backoff.spin();
            if let Some(r) = attempt() {
                return Some(r);
            }
            if until.passed() {
                return None;
            }
        },
    }
    // Steps 3 and 4: register, re-check, park. The guard unlinks the node (passing on a
    // notification it was picked for) however this frame is left, unwinding included: an
    // `attempt` may wake a peer, and a peer's waker is user code that may panic.
    let node = Waiter::new(P::default());
    let _guard = CancelOnDrop { list, node: &node };
    loop {
        // SAFETY: `node` is not linked (fresh, or completed and handled below) and lives on
        // this frame, which cannot be left before `_guard` unlinks it.
        unsafe { list.register(&node, Wake::Thread(sync::current())) };
        if let Some(r) = attempt() {
            return Some(r); // `_guard` unlinks, or passes on a notification we got meanwhile
        }
        if park_node(&node, until) == WAITING {
            // Timed out (or cancelled) while linked; `unregister` decides the race with a notifier.
            // SAFETY: registered above.
            let picked = unsafe { list.unregister(&node) };
            let last = attempt();
            if last.is_some() && picked != Notified::No {
                // We acted on the notification we were picked for.
                list.reset(&node);
            }
            return last; // `_guard` passes on a notification we did not use
        }
        // Notified (or closed): the node is ours again; act on it by re-checking.
        list.reset(&node);
    }
}

/// Unlinks a wait node when the frame that owns it is left, normally or by unwinding.
struct CancelOnDrop<'a, P> {
    list: &'a WaitList<P>,
    node: &'a Waiter<P>,
}

impl<P> Drop for CancelOnDrop<'_, P> {
    fn drop(&mut self) {
        // SAFETY: the node is only ever registered in `list`.
        unsafe { cancel_wait(self.list, self.node) };
    }
}

/// The async form of [`wait_blocking`]: one poll of a future whose wait node is `node`.
///
/// # Safety
/// `node` is pinned (it does not move until it is dropped), is only ever registered in `list`,
/// and its owner calls [`cancel_wait`] before dropping it.
pub unsafe fn poll_wait<P, R>(
    list: &WaitList<P>,
    node: &Waiter<P>,
    cx: &mut core::task::Context<'_>,
    mut attempt: impl FnMut() -> Option<R>,
) -> core::task::Poll<R> {
    use core::task::Poll;
    let state = node.state();
    if state == NOTIFIED || state == CLOSED {
        // We were woken: the node is ours again and this poll acts on the notification.
        list.reset(node);
    }
    let finish = |r: R| {
        // SAFETY: `node` is only registered in `list` (caller contract).
        if let Notified::Yes(_) = unsafe { list.unregister(node) } {
            // Picked while we succeeded on our own: the wake-up is someone else's.
            list.reset(node);
            list.notify_one();
        }
        Poll::Ready(r)
    };
    if let Some(r) = attempt() {
        return finish(r);
    }
    // SAFETY: caller contract; `update_waker` only touches a node linked in `list`.
    if state == WAITING && unsafe { list.update_waker(node, cx.waker()) } {
        return Poll::Pending;
    }
    if node.state() != IDLE {
        // Completed between our first look and now: act on it in this poll.
        list.reset(node);
    }
    // SAFETY: the node is IDLE and pinned (caller contract).
    unsafe { list.register(node, Wake::Waker(cx.waker().clone())) };
    match attempt() {
        Some(r) => finish(r),
        None => Poll::Pending,
    }
}

/// Called when a future that may have a node in `list` is dropped: unlinks the node and, if a
/// notifier had already picked it, passes the notification on so that no wake-up is lost.
///
/// # Safety
/// `node` is only ever registered in `list`.
pub unsafe fn cancel_wait<P>(list: &WaitList<P>, node: &Waiter<P>) {
    match node.state() {
        IDLE => {}
        WAITING => {
            // SAFETY: caller contract.
            if let Notified::Yes(NOTIFIED) = unsafe { list.unregister(node) } {
                list.notify_one();
            }
        }
        NOTIFIED => {
            list.notify_one();
        }
        _ => {}
    }
}
