//! Count-down primitives: [`Latch`] and [`WaitGroup`], on one shared core.
//!
//! The core is a counter and a wait list. Counting down is one SeqCst read-modify-write; the
//! step that reaches zero wakes every waiter. Waiting is the crate's one waiting path
//! (`wait::wait_blocking`): check the count, spin briefly, register, re-check, park. The
//! count-down RMW is the notifier's condition write that `WaitList::has_waiters` pairs with,
//! so a count-down with no one parked costs one load more, and no wake-up is lost.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use crate::context::{Context, ContextError};
use crate::sync::{AtomicUsize, Ordering, StdArc};
use crate::wait::{self, deadline_after, Until, WaitList, WaitPolicy, Waiter, NOTIFIED};

/// A counter that wakes its waiters when it reaches zero.
pub(super) struct Count {
    /// The count. Every write is a SeqCst RMW (see the module docs); waiters read it SeqCst.
    count: AtomicUsize,
    waiters: WaitList<()>,
    policy: WaitPolicy,
}

impl Count {
    fn new(count: usize) -> Self {
        Count {
            count: AtomicUsize::new(count),
            waiters: WaitList::new(),
            policy: WaitPolicy::default(),
        }
    }

    fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn add(&self, n: usize, who: &str) {
        let r = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_add(n));
        if r.is_err() {
            panic!("{who}: the count would overflow usize");
        }
    }

    /// Subtracts `n`; fails with the current count if it is below `n`. Wakes every waiter if
    /// the count reached zero.
    fn sub(&self, n: usize) -> Result<(), usize> {
        let prev = self
            .count
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(n))?;
        if prev == n && n != 0 {
            self.waiters.notify_all(NOTIFIED);
        }
        Ok(())
    }

    fn attempt(&self) -> Option<()> {
        (self.get() == 0).then_some(())
    }

    fn wait_ctx(&self, ctx: &Context) -> Result<(), ContextError> {
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        match self.wait(ctx.until()) {
            true => Ok(()),
            false => Err(ctx.err_after_wait()),
        }
    }

    fn wait(&self, until: Until<'_>) -> bool {
        wait::wait_blocking(&self.waiters, self.policy, until, || self.attempt()).is_some()
    }
}

/// A one-shot count-down latch: threads wait until the count reaches zero, which happens once
/// (C++20's `std::latch`, Java's `CountDownLatch`, the tutorial's WaitGroup-based barrier).
///
/// # Example
///
/// ```
/// use lockgate::barrier::Latch;
///
/// let ready = Latch::new(3);
/// std::thread::scope(|s| {
///     for _ in 0..3 {
///         s.spawn(|| ready.count_down());
///     }
///     ready.wait(); // returns once all three have counted down
/// });
/// assert_eq!(ready.count(), 0);
/// ```
pub struct Latch {
    core: Count,
}

impl Latch {
    /// A latch that opens after `count` count-downs (at once if `count == 0`).
    pub fn new(count: usize) -> Self {
        Latch {
            core: Count::new(count),
        }
    }

    /// Counts down by one, waking every waiter when the count reaches zero. Once the count is
    /// zero this does nothing (as Java's `CountDownLatch`).
    pub fn count_down(&self) {
        let _ = self.core.sub(1);
    }

    /// The count now (a snapshot).
    pub fn count(&self) -> usize {
        self.core.get()
    }

    /// True if the count has reached zero; never blocks.
    pub fn try_wait(&self) -> bool {
        self.core.get() == 0
    }

    /// Blocks until the count reaches zero.
    pub fn wait(&self) {
        self.core.wait(Until::FOREVER);
    }

    /// Counts down by one, then waits for zero.
    pub fn arrive_and_wait(&self) {
        self.count_down();
        self.wait();
    }

    /// Waits at most `timeout`; true if the count reached zero.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.core.wait(deadline_after(timeout).into())
    }

    /// Waits until `deadline` at most; true if the count reached zero.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.core.wait(Some(deadline).into())
    }

    /// Waits for zero until `ctx` is done (cancelled or past its deadline), then returns why.
    /// A context already done fails the call before it looks at the count.
    pub fn wait_ctx(&self, ctx: &Context) -> Result<(), ContextError> {
        self.core.wait_ctx(ctx)
    }

    /// Waits for zero, asynchronously (cancel-safe).
    pub fn wait_async(&self) -> WaitZero<'_> {
        WaitZero::new(&self.core)
    }
}

impl fmt::Debug for Latch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch")
            .field("count", &self.count())
            .finish()
    }
}

/// Go's `sync.WaitGroup`: [`add`](WaitGroup::add) work, [`done`](WaitGroup::done) it, and
/// [`wait`](WaitGroup::wait) until none is left. Clones share one group; the count can go
/// up again after it reached zero, so a group can be reused.
///
/// [`WaitGroup::guard`] returns a [`WaitGuard`] that counts one unit of work and calls `done`
/// when dropped (even by a panic), which is the easy way to hand work to a thread.
///
/// # Example
///
/// ```
/// use lockgate::barrier::WaitGroup;
///
/// let wg = WaitGroup::new();
/// for i in 0..4 {
///     let guard = wg.guard(); // add(1)
///     std::thread::spawn(move || {
///         let _done = guard; // done() when the thread ends
///         let _ = i * 2;
///     });
/// }
/// wg.wait();
/// assert_eq!(wg.count(), 0);
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    core: StdArc<Count>,
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitGroup {
    /// A group with nothing to wait for.
    pub fn new() -> Self {
        WaitGroup {
            core: StdArc::new(Count::new(0)),
        }
    }

    /// Adds `n` units of work.
    ///
    /// # Panics
    /// If the count would overflow `usize`.
    pub fn add(&self, n: usize) {
        self.core.add(n, "WaitGroup::add");
    }

    /// Marks one unit of work done, waking every waiter if none is left.
    ///
    /// # Panics
    /// If the count is already zero (Go panics on a negative counter too).
    pub fn done(&self) {
        if self.core.sub(1).is_err() {
            panic!("WaitGroup::done called more times than work was added");
        }
    }

    /// Adds one unit of work and returns a guard that marks it done when dropped.
    pub fn guard(&self) -> WaitGuard {
        self.add(1);
        WaitGuard {
            core: self.core.clone(),
        }
    }

    /// Work added and not yet done (a snapshot).
    pub fn count(&self) -> usize {
        self.core.get()
    }

    /// Blocks until the count is zero.
    pub fn wait(&self) {
        self.core.wait(Until::FOREVER);
    }

    /// Waits at most `timeout`; true if the count reached zero.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.core.wait(deadline_after(timeout).into())
    }

    /// Waits until `deadline` at most; true if the count reached zero.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.core.wait(Some(deadline).into())
    }

    /// Waits for zero until `ctx` is done (cancelled or past its deadline), then returns why.
    /// A context already done fails the call before it looks at the count.
    pub fn wait_ctx(&self, ctx: &Context) -> Result<(), ContextError> {
        self.core.wait_ctx(ctx)
    }

    /// Waits for zero, asynchronously (cancel-safe).
    pub fn wait_async(&self) -> WaitZero<'_> {
        WaitZero::new(&self.core)
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// One unit of a [`WaitGroup`]'s work; marks it done when dropped. Cloning adds one more.
///
/// If the count is already zero when a guard drops (an explicit `done` took its unit), the
/// drop does nothing rather than panic in a destructor.
pub struct WaitGuard {
    core: StdArc<Count>,
}

impl Clone for WaitGuard {
    fn clone(&self) -> Self {
        self.core.add(1, "WaitGuard::clone");
        WaitGuard {
            core: self.core.clone(),
        }
    }
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        // At zero (an explicit `done` took this unit) there is nothing to do.
        let _ = self.core.sub(1);
    }
}

impl fmt::Debug for WaitGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGuard").finish_non_exhaustive()
    }
}

/// The future of [`Latch::wait_async`] and [`WaitGroup::wait_async`]. Embeds its wait node
/// (no allocation; `!Unpin`); dropping it unlinks the node.
#[must_use = "futures do nothing unless polled"]
pub struct WaitZero<'a> {
    core: &'a Count,
    node: Waiter<()>,
    done: bool,
}

impl<'a> WaitZero<'a> {
    fn new(core: &'a Count) -> Self {
        WaitZero {
            core,
            node: Waiter::new(()),
            done: false,
        }
    }
}

impl Future for WaitZero<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        // SAFETY: `node` is structurally pinned: never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "WaitZero polled after completion");
        let core = this.core;
        // SAFETY: `node` is pinned, only ever registered in `core.waiters`, and `Drop` calls
        // `cancel_wait` unless the future completed.
        let r = unsafe { wait::poll_wait(&core.waiters, &this.node, cx, || core.attempt()) };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl Drop for WaitZero<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: the node was only ever registered in `core.waiters`.
            unsafe { wait::cancel_wait(&self.core.waiters, &self.node) };
        }
    }
}

impl fmt::Debug for WaitZero<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitZero")
            .field("done", &self.done)
            .finish()
    }
}
