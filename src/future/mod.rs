//! Promises: one-shot results computed elsewhere (the "Future/Promise" section of the Go
//! concurrency patterns tutorial).
//!
//! A [`Promise<T>`] is the reading end of a write-once cell, a [`Resolver<T>`] its writing
//! end. [`crate::spawn`] runs a closure on the shared pool and returns its promise;
//! [`Promise::pending`] makes a pair to complete by hand. The result is a
//! `Result<T, PromiseError>`: a panic in the computation, or a resolver dropped without a
//! value, becomes an error at the reader, never a hang.
//!
//! Reading: [`get`](Promise::get) blocks (spin briefly, then park),
//! [`get_timeout`](Promise::get_timeout) and [`get_ctx`](Promise::get_ctx) give the promise
//! back when they give up, [`is_done`](Promise::is_done) never blocks, and `Promise<T>` is a
//! [`std::future::Future`], so async code can `.await` it.
//!
//! Composing: [`then`](Promise::then) maps a result, [`and_then`](Promise::and_then) chains a
//! computation that returns another promise (the tutorial's `Chain`), [`when_all`],
//! [`when_all_fail_fast`] and [`when_any`] combine many. Over fallible computations (promises
//! of `Result<T, E>`), [`try_when_all`], [`try_when_all_fail_fast`] and [`try_when_any`] treat
//! an input's `Err(e)` as a failure too, as the tutorial's `WhenAll` returns the first error.
//! Combinators are continuations: they run on the thread that completes their input (or at
//! once, if it already has), and never block a thread waiting, so they cannot starve a small
//! pool the way the tutorial's blocking `WhenAll` can. [`shared`](Promise::shared) turns a
//! promise into a [`SharedPromise`] that many readers may wait on and clone the value from
//! (the tutorial uses one future twice).
//!
//! The cell is one tagged word: the state, a Treiber stack of continuations (swapped for a
//! sentinel by the resolver) and the async-reader flag; blocking readers wait on the crate's
//! event count, as every blocking call does.
//!
//! # Example
//!
//! ```
//! use lockgate::future::{when_all, Promise};
//!
//! let a = lockgate::spawn(|| 10);
//! let b = lockgate::spawn(|| 20);
//! let doubled = when_all([a, b]).then(|v| v.iter().sum::<i32>() * 2);
//! assert_eq!(doubled.get(), Ok(60));
//!
//! let (resolver, promise) = Promise::pending();
//! std::thread::spawn(move || resolver.resolve("done"));
//! assert_eq!(promise.get(), Ok("done"));
//! ```

pub(crate) mod arm;
mod cell;
mod combine;
mod error;
mod fallible;
mod trampoline;

use core::fmt;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::context::{Context, ContextError};
use crate::sync::{Arc, StdArc};
use crate::wait::hook::Claim;
use crate::wait::{self, deadline_after, Until};
use cell::{Cell, Outcome};

pub use combine::{when_all, when_all_fail_fast, when_any};
pub use error::{GetCtxError, GetTimeoutError, PromiseError};
pub use fallible::{try_when_all, try_when_all_fail_fast, try_when_any};

/// The reading end of a one-shot result. See the [module docs](self).
#[must_use = "a promise does nothing unless its result is read"]
pub struct Promise<T> {
    /// Invariant: no other reader of this cell exists (`shared` consumes the promise), so
    /// taking the result out is ours alone.
    cell: Arc<Cell<T>>,
    /// The queued job that resolves `cell`, when a pool made this promise: a blocking `get`
    /// on one of that pool's workers may run it here (`wait::hook::help`). `None` otherwise.
    job: Option<StdArc<dyn Claim>>,
}

/// The writing end: [`resolve`](Resolver::resolve) completes the promise; dropping it
/// unresolved completes it with [`PromiseError::Abandoned`].
pub struct Resolver<T: Send + 'static> {
    /// `Some` until the promise is completed: a cell is completed exactly once.
    cell: Option<Arc<Cell<T>>>,
}

impl<T: Send + 'static> Resolver<T> {
    /// Completes the promise with `value`, running its continuations on this thread and
    /// waking its reader.
    pub fn resolve(self, value: T) {
        self.complete(Ok(value));
    }

    pub(crate) fn complete(mut self, outcome: Outcome<T>) {
        let cell = self.cell.take().expect("a resolver completes once");
        // SAFETY: `cell` was `Some`, and we took it: this is the cell's only completion.
        unsafe { Cell::complete(&cell, outcome) };
    }

    /// Completes with the result of `f`, or with [`PromiseError::Panicked`] if it panics.
    pub(crate) fn complete_with(self, f: impl FnOnce() -> T) {
        self.complete(catch(f));
    }
}

/// Runs `f`, turning a panic into [`PromiseError::Panicked`].
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Outcome<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(PromiseError::from_panic)
}

impl<T: Send + 'static> Drop for Resolver<T> {
    fn drop(&mut self) {
        if let Some(cell) = self.cell.take() {
            // SAFETY: as in `complete`: taken from `self.cell`, so completed once.
            unsafe { Cell::complete(&cell, Err(PromiseError::Abandoned)) };
        }
    }
}

impl<T> Promise<T> {
    /// A promise and the resolver that completes it.
    pub fn pending() -> (Resolver<T>, Promise<T>)
    where
        T: Send + 'static,
    {
        let cell = Arc::new(Cell::new());
        (
            Resolver {
                cell: Some(cell.clone()),
            },
            Promise { cell, job: None },
        )
    }

    /// This promise, resolved by `job` (a job queued in a pool, which a blocking `get` on
    /// one of that pool's workers may claim and run).
    pub(crate) fn with_job(mut self, job: StdArc<dyn Claim>) -> Self {
        self.job = Some(job);
        self
    }

    /// A promise that is already resolved with `value`.
    pub fn ready(value: T) -> Promise<T>
    where
        T: Send + 'static,
    {
        let (r, p) = Promise::pending();
        r.resolve(value);
        p
    }

    /// True once the result is in; never blocks (one atomic load).
    #[inline]
    pub fn is_done(&self) -> bool {
        self.cell.is_done()
    }

    /// Blocks until the result is in, and returns it.
    ///
    /// Called inside a job of a [`WorkerPool`](crate::workers::WorkerPool) (or of
    /// [`crate::spawn`]'s pool) on a promise of a job of the same pool that has not started
    /// yet, it runs that job on this thread instead of waiting for a worker (up to a nesting
    /// depth; see the pool's docs). The timed and context forms never do: they give up on
    /// time. A job run that way runs with this thread's thread-locals (a `RefCell` the
    /// caller holds borrowed is borrowed for it too), as a job run by caller-runs does.
    pub fn get(self) -> Result<T, PromiseError> {
        if let Some(job) = &self.job {
            if !self.cell.is_done() {
                wait::hook::help(&**job);
            }
        }
        self.cell.wait(Until::FOREVER);
        self.take()
    }

    /// Blocks at most `timeout`; on timeout, hands the promise back to wait again.
    pub fn get_timeout(self, timeout: Duration) -> Result<T, GetTimeoutError<T>> {
        self.get_until(deadline_after(timeout))
    }

    /// Blocks until `deadline` at most; as [`get_timeout`](Promise::get_timeout).
    pub fn get_deadline(self, deadline: Instant) -> Result<T, GetTimeoutError<T>> {
        self.get_until(Some(deadline))
    }

    fn get_until(self, deadline: Option<Instant>) -> Result<T, GetTimeoutError<T>> {
        if self.cell.wait(deadline.into()) {
            self.take().map_err(GetTimeoutError::Failed)
        } else {
            Err(GetTimeoutError::Timeout(self))
        }
    }

    /// Blocks until the result is in or `ctx` is done (cancelled or past its deadline); in
    /// the second case hands the promise back. A context already done fails at once.
    pub fn get_ctx(self, ctx: &Context) -> Result<T, GetCtxError<T>> {
        if let Some(e) = ctx.err() {
            return Err(GetCtxError::Done(self, e));
        }
        if self.cell.wait(ctx.until()) {
            self.take().map_err(GetCtxError::Failed)
        } else {
            let e = ctx.err_after_wait();
            Err(GetCtxError::Done(self, e))
        }
    }

    fn take(self) -> Outcome<T> {
        // SAFETY: `Promise` is the cell's unique reader (field invariant).
        unsafe { self.cell.take() }.expect("read after the result is in")
    }

    /// A promise of `f` applied to this one's value, run when the value comes (on the
    /// resolving thread) or at once if it is in. An error passes through without calling
    /// `f`; a panic in `f` becomes [`PromiseError::Panicked`].
    pub fn then<U, F>(self, f: F) -> Promise<U>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        let (r, p) = Promise::pending();
        self.on_result(move |out| match out {
            Ok(v) => r.complete_with(|| f(v)),
            Err(e) => r.complete(Err(e)),
        });
        p
    }

    /// The tutorial's `Chain`: when this promise's value comes, `f` starts the next computation,
    /// and the returned promise completes with that computation's result.
    pub fn and_then<U, F>(self, f: F) -> Promise<U>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(T) -> Promise<U> + Send + 'static,
    {
        let (r, p) = Promise::pending();
        self.on_result(move |out| match out.and_then(|v| catch(|| f(v))) {
            Ok(next) => next.on_result(move |o| r.complete(o)),
            Err(e) => r.complete(Err(e)),
        });
        p
    }

    /// Runs `f` with the result once it is in (on the resolving thread, or now).
    pub(crate) fn on_result(self, f: impl FnOnce(Outcome<T>) + Send + 'static)
    where
        T: Send + 'static,
    {
        Cell::on_complete(
            &self.cell,
            Box::new(move |cell| {
                // SAFETY: the cell belonged to a `Promise`, consumed here: its unique reader.
                let out = unsafe { cell.take() }.expect("a continuation runs after the result");
                f(out);
            }),
        );
    }

    /// A clonable handle that many readers may wait on; each gets a clone of the value.
    ///
    /// # Panics
    /// If this promise was already awaited to completion (through `&mut`): its value is gone.
    pub fn shared(self) -> SharedPromise<T>
    where
        T: Clone,
    {
        assert!(
            !self.cell.is_taken(),
            "Promise::shared after the promise was awaited to completion"
        );
        SharedPromise {
            cell: self.cell,
            _sync: PhantomData,
        }
    }
}

impl<T> core::future::Future for Promise<T> {
    type Output = Result<T, PromiseError>;

    /// # Panics
    /// If polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        if !self.cell.register_waker(cx.waker()) {
            return Poll::Pending;
        }
        // SAFETY: `Promise` is the cell's unique reader (field invariant).
        Poll::Ready(unsafe { self.cell.take() }.expect("the result is in"))
    }
}

/// A promise many readers can wait on; [`get`](SharedPromise::get) clones the value.
pub struct SharedPromise<T> {
    /// Invariant: no `Promise` reads this cell any more, so the result is never taken and
    /// stays readable by reference once in.
    cell: Arc<Cell<T>>,
    /// Readers on many threads clone from one `&T`: `Send` and `Sync` only for `T: Send + Sync`.
    _sync: PhantomData<StdArc<T>>,
}

impl<T> Clone for SharedPromise<T> {
    fn clone(&self) -> Self {
        SharedPromise {
            cell: self.cell.clone(),
            _sync: PhantomData,
        }
    }
}

impl<T: Clone> SharedPromise<T> {
    /// True once the result is in; never blocks.
    pub fn is_done(&self) -> bool {
        self.cell.is_done()
    }

    /// Blocks until the result is in; returns a clone of it.
    pub fn get(&self) -> Result<T, PromiseError> {
        self.cell.wait(Until::FOREVER);
        self.read()
    }

    /// Blocks at most `timeout`; `None` if the result is not in by then.
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, PromiseError>> {
        self.cell
            .wait(deadline_after(timeout).into())
            .then(|| self.read())
    }

    /// Blocks until the result is in or `ctx` is done (cancelled or past its deadline);
    /// `Err` with the context's error in the second case. A context already done fails at
    /// once.
    pub fn get_ctx(&self, ctx: &Context) -> Result<Result<T, PromiseError>, ContextError> {
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        if self.cell.wait(ctx.until()) {
            Ok(self.read())
        } else {
            Err(ctx.err_after_wait())
        }
    }

    fn read(&self) -> Result<T, PromiseError> {
        // SAFETY: shared-only cell (field invariant).
        unsafe { self.cell.peek() }
            .expect("read after the result is in")
            .clone()
    }

    /// A [`Promise`] of a clone of this one's result, for the combinators and for `.await`.
    pub fn promise(&self) -> Promise<T>
    where
        T: Send + Sync + 'static,
    {
        let (r, p) = Promise::pending();
        Cell::on_complete(
            &self.cell,
            Box::new(move |cell| {
                // SAFETY: shared-only cell (field invariant), and the result is in.
                match unsafe { cell.peek() }.expect("a continuation runs after the result") {
                    // A panicking `clone` is user code: it becomes this promise's error.
                    Ok(v) => r.complete_with(|| v.clone()),
                    Err(e) => r.complete(Err(e.clone())),
                }
            }),
        );
        p
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("done", &self.cell.is_done())
            .finish()
    }
}

impl<T: Send + 'static> fmt::Debug for Resolver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SharedPromise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPromise")
            .field("done", &self.cell.is_done())
            .finish()
    }
}
