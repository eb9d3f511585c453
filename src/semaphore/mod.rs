//! A counting semaphore: one atomic word on the fast path, FIFO hand-off to parked waiters.
//!
//! Serves the "Semaphore" and "Semaphore with timeout" sections of the Go concurrency patterns
//! tutorial (ten workers, at most three at once, and Go's `select` between acquiring and a
//! timeout). A [`Semaphore`] holds permits; [`acquire`]
//! returns a [`Permit`] that gives them back when dropped.
//!
//! Cost: an uncontended acquire is one compare-and-swap on the semaphore's word and a release
//! one `fetch_add`; neither takes a lock or allocates. Waiters that find no permits spin
//! briefly (per the [`WaitPolicy`]) and then park in a FIFO queue; a release then hands its
//! permits straight to the oldest waiter that they cover.
//!
//! Fairness is a choice made at construction:
//!
//! - [`Semaphore::new`] lets a caller that finds free permits take them even while others are
//!   parked (barging). This keeps throughput up under contention: no one waits behind a
//!   thread that is still waking up. It cannot starve anyone: once the oldest waiter has been
//!   passed over a few times, the semaphore reserves free permits for the queue until it
//!   drains (the starvation mode of Go's `sync.Mutex`).
//! - [`Semaphore::new_fair`] is strictly first come, first served whenever anyone waits, as
//!   tokio's semaphore: a large [`acquire_many`] is never overtaken by small ones.
//!
//! The design follows tokio's `batch_semaphore` (permits in one word, waiters in an intrusive
//! list, permits assigned to waiters by the releaser); unlike it, a release with no one queued
//! takes no lock, and a waiter's permits are handed over whole rather than accumulated.
//!
//! [`acquire`]: Semaphore::acquire
//! [`acquire_many`]: Semaphore::acquire_many

mod error;
mod future;
mod raw;

use core::fmt;
use std::time::{Duration, Instant};

use crate::context::Context;
use crate::sync::StdArc;
use crate::wait::{deadline_after, Until, WaitPolicy};
use raw::{Outcome, RawSemaphore, TryFail};

pub use error::{AcquireCtxError, AcquireError, AcquireTimeoutError, TryAcquireError};
pub use future::Acquire;
pub use raw::MAX_PERMITS;

/// A counting semaphore.
///
/// # Example
///
/// The tutorial's example: ten workers, at most three inside at once.
///
/// ```
/// use lockgate::semaphore::Semaphore;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let sem = Semaphore::new(3);
/// let inside = AtomicUsize::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..10 {
///         s.spawn(|| {
///             let _permit = sem.acquire().unwrap(); // released when dropped
///             let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///             assert!(now <= 3);
///             inside.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert_eq!(sem.available_permits(), 3);
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// A semaphore with `permits` permits that lets callers barge past parked waiters (see
    /// the module docs on fairness).
    ///
    /// # Panics
    /// If `permits > MAX_PERMITS`.
    pub fn new(permits: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::new(permits, false, WaitPolicy::default()),
        }
    }

    /// A strictly first-come-first-served semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits > MAX_PERMITS`.
    pub fn new_fair(permits: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::new(permits, true, WaitPolicy::default()),
        }
    }

    /// The same semaphore, waiting with `policy` before it parks.
    pub fn with_policy(mut self, policy: WaitPolicy) -> Self {
        self.raw.set_policy(policy);
        self
    }

    /// Permits free right now (a snapshot).
    pub fn available_permits(&self) -> usize {
        self.raw.available()
    }

    /// True if this semaphore was made with [`Semaphore::new_fair`].
    pub fn is_fair(&self) -> bool {
        self.raw.is_fair()
    }

    /// Closes the semaphore: every parked waiter wakes with [`AcquireError::Closed`], and
    /// every later acquire fails. Permits already held stay valid and are returned as usual.
    pub fn close(&self) {
        self.raw.close();
    }

    /// True once [`Semaphore::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Adds `n` permits, waking waiters they cover.
    ///
    /// # Panics
    /// If the semaphore would then hold more than [`MAX_PERMITS`] permits, free and held
    /// together.
    pub fn add_permits(&self, n: usize) {
        self.raw.add_permits(n);
    }

    /// Waits for one permit.
    #[inline]
    pub fn acquire(&self) -> Result<Permit<'_>, AcquireError> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, taken all at once.
    ///
    /// `n > MAX_PERMITS` fails at once with [`AcquireError::TooMany`]. `n == 0` succeeds at
    /// once unless the semaphore is closed.
    #[inline]
    pub fn acquire_many(&self, n: usize) -> Result<Permit<'_>, AcquireError> {
        check(n)?;
        match self.raw.acquire(n, Until::FOREVER) {
            Outcome::Acquired => Ok(Permit::new(self, n)),
            Outcome::Closed => Err(AcquireError::Closed),
            Outcome::TimedOut => unreachable!("a wait without a deadline timed out"),
        }
    }

    /// Takes one permit if one is free, without waiting.
    pub fn try_acquire(&self) -> Result<Permit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free, without waiting.
    ///
    /// While others wait in the queue of a fair semaphore (or of one that has turned fair
    /// against starvation) this fails with [`TryAcquireError::NoPermits`] even if permits are
    /// free: they are reserved for the waiters.
    pub fn try_acquire_many(&self, n: usize) -> Result<Permit<'_>, TryAcquireError> {
        if n > MAX_PERMITS {
            return Err(TryAcquireError::TooMany(n));
        }
        match self.raw.try_acquire(n) {
            Ok(()) => Ok(Permit::new(self, n)),
            Err(TryFail::Closed) => Err(TryAcquireError::Closed),
            Err(TryFail::NoPermits) => Err(TryAcquireError::NoPermits),
        }
    }

    /// Waits at most `timeout` for one permit (the tutorial's `AcquireWithTimeout`).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Permit<'_>, AcquireTimeoutError> {
        self.acquire_many_timed(1, deadline_after(timeout).into())
    }

    /// Waits at most `timeout` for `n` permits.
    pub fn acquire_many_timeout(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Permit<'_>, AcquireTimeoutError> {
        self.acquire_many_timed(n, deadline_after(timeout).into())
    }

    /// Waits until `deadline` at most for one permit.
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<Permit<'_>, AcquireTimeoutError> {
        self.acquire_many_timed(1, Some(deadline).into())
    }

    /// Waits until `deadline` at most for `n` permits.
    pub fn acquire_many_deadline(
        &self,
        n: usize,
        deadline: Instant,
    ) -> Result<Permit<'_>, AcquireTimeoutError> {
        self.acquire_many_timed(n, Some(deadline).into())
    }

    fn acquire_many_timed(
        &self,
        n: usize,
        until: Until<'_>,
    ) -> Result<Permit<'_>, AcquireTimeoutError> {
        check(n)?;
        match self.raw.acquire(n, until) {
            Outcome::Acquired => Ok(Permit::new(self, n)),
            Outcome::Closed => Err(AcquireTimeoutError::Closed),
            Outcome::TimedOut => Err(AcquireTimeoutError::Timeout),
        }
    }

    /// Waits for one permit, giving up once `ctx` is done (cancelled or past its deadline).
    /// A context that is already done fails the call before it looks at the semaphore; a
    /// cancellation during the wait wakes it at once, holding nothing.
    ///
    /// ```
    /// use lockgate::semaphore::{AcquireCtxError, Semaphore};
    /// use lockgate::context::{Context, ContextError};
    ///
    /// let sem = Semaphore::new(1);
    /// let _held = sem.acquire().unwrap();
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// std::thread::spawn(move || cancel.cancel());
    /// assert_eq!(sem.acquire_ctx(&ctx).err(), Some(AcquireCtxError::Done(ContextError::Canceled)));
    /// assert_eq!(sem.available_permits(), 0); // nothing lost, nothing granted
    /// ```
    pub fn acquire_ctx(&self, ctx: &Context) -> Result<Permit<'_>, AcquireCtxError> {
        self.acquire_many_ctx(1, ctx)
    }

    /// Waits for `n` permits, giving up once `ctx` is done; as [`Semaphore::acquire_ctx`].
    pub fn acquire_many_ctx(&self, n: usize, ctx: &Context) -> Result<Permit<'_>, AcquireCtxError> {
        check(n)?;
        if let Some(e) = ctx.err() {
            return Err(AcquireCtxError::Done(e));
        }
        match self.raw.acquire(n, ctx.until()) {
            Outcome::Acquired => Ok(Permit::new(self, n)),
            Outcome::Closed => Err(AcquireCtxError::Closed),
            Outcome::TimedOut => Err(AcquireCtxError::Done(ctx.err_after_wait())),
        }
    }

    /// Waits for one permit, asynchronously. Cancel-safe: dropping the future before it
    /// completes leaves it holding nothing.
    pub fn acquire_async(&self) -> Acquire<'_> {
        Acquire::new(self, 1)
    }

    /// Waits for `n` permits, asynchronously; cancel-safe like [`Semaphore::acquire_async`].
    pub fn acquire_many_async(&self, n: usize) -> Acquire<'_> {
        Acquire::new(self, n)
    }

    /// Waits for one permit that owns a handle to the semaphore, so it can move to another
    /// thread or outlive the borrow.
    pub fn acquire_owned(self: &StdArc<Self>) -> Result<OwnedPermit, AcquireError> {
        self.acquire_many_owned(1)
    }

    /// Waits for `n` permits, as an [`OwnedPermit`].
    pub fn acquire_many_owned(self: &StdArc<Self>, n: usize) -> Result<OwnedPermit, AcquireError> {
        self.acquire_many(n).map(|p| p.into_owned(self))
    }

    /// Takes one permit if free, as an [`OwnedPermit`].
    pub fn try_acquire_owned(self: &StdArc<Self>) -> Result<OwnedPermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits if free, as an [`OwnedPermit`].
    pub fn try_acquire_many_owned(
        self: &StdArc<Self>,
        n: usize,
    ) -> Result<OwnedPermit, TryAcquireError> {
        self.try_acquire_many(n).map(|p| p.into_owned(self))
    }

    /// Waits at most `timeout` for `n` permits, as an [`OwnedPermit`].
    pub fn acquire_many_owned_timeout(
        self: &StdArc<Self>,
        n: usize,
        timeout: Duration,
    ) -> Result<OwnedPermit, AcquireTimeoutError> {
        self.acquire_many_timeout(n, timeout)
            .map(|p| p.into_owned(self))
    }

    /// Waits for `n` permits until `ctx` is done, as an [`OwnedPermit`].
    pub fn acquire_many_owned_ctx(
        self: &StdArc<Self>,
        n: usize,
        ctx: &Context,
    ) -> Result<OwnedPermit, AcquireCtxError> {
        self.acquire_many_ctx(n, ctx).map(|p| p.into_owned(self))
    }
}

fn check(n: usize) -> Result<(), AcquireError> {
    if n > MAX_PERMITS {
        Err(AcquireError::TooMany(n))
    } else {
        Ok(())
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

/// Permits borrowed from a [`Semaphore`]; they go back when this is dropped.
#[must_use = "the permits are released as soon as the Permit is dropped"]
pub struct Permit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl<'a> Permit<'a> {
    fn new(sem: &'a Semaphore, permits: usize) -> Self {
        Permit { sem, permits }
    }

    /// How many permits this holds.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Keeps the permits out of the semaphore for good: its capacity shrinks by them.
    pub fn forget(self) {
        self.sem.raw.forget(self.permits);
        core::mem::forget(self);
    }

    /// Adds `other`'s permits to this one. Both must come from the same semaphore.
    ///
    /// # Panics
    /// If they come from different semaphores.
    pub fn merge(&mut self, other: Permit<'a>) {
        assert!(
            core::ptr::eq(self.sem, other.sem),
            "Permit::merge: permits from different semaphores"
        );
        self.permits += other.permits;
        core::mem::forget(other);
    }

    /// Splits `n` permits off into a new permit.
    ///
    /// # Panics
    /// If this holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Permit<'a> {
        assert!(
            n <= self.permits,
            "Permit::split: {n} permits asked of a permit holding {}",
            self.permits
        );
        self.permits -= n;
        Permit::new(self.sem, n)
    }

    fn into_owned(self, sem: &StdArc<Semaphore>) -> OwnedPermit {
        debug_assert!(core::ptr::eq(self.sem, &**sem));
        let permits = self.permits;
        core::mem::forget(self);
        OwnedPermit {
            sem: sem.clone(),
            permits,
        }
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.raw.release(self.permits);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("permits", &self.permits)
            .finish()
    }
}

/// Permits that own a handle to their [`Semaphore`]: `Send`, `'static`, released on drop.
#[must_use = "the permits are released as soon as the OwnedPermit is dropped"]
pub struct OwnedPermit {
    sem: StdArc<Semaphore>,
    permits: usize,
}

impl OwnedPermit {
    /// How many permits this holds.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &StdArc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.sem.raw.forget(self.permits);
        self.permits = 0;
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.sem.raw.release(self.permits);
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("permits", &self.permits)
            .finish()
    }
}
