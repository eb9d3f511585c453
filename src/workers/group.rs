//! [`Group`]: a set of jobs that fail together, Go's `errgroup` (`golang.org/x/sync/errgroup`).
//!
//! A group runs jobs that return `Result<T, E>` on a worker pool and waits for all of them.
//! The first job to fail (an `Err`, or a panic) cancels the group's [`Context`], so the others,
//! which watch it, stop early; [`Group::wait`] waits for every job, as Go's `Wait` does, and
//! returns that first failure, or every value in spawn order. [`Group::with_limit`] bounds the
//! jobs in flight (Go's `SetLimit`); [`Group::try_spawn`] hands a job back at the limit instead
//! of waiting (Go's `TryGo`).
//!
//! # Algorithm
//!
//! The group keeps one promise per job in a `Vec` of its own (spawning takes `&mut self`, so
//! the list needs no lock) and shares one word with the jobs: the index of the first failed
//! job, or `NONE`. A job's wrapper runs the closure under `catch_unwind`; on a failure it
//! compares-and-swaps its index into the word, from `NONE`, and the one whose swap succeeds
//! cancels the context. All of that happens before the wrapper returns, so before the job's
//! promise completes: once `wait` has every promise, every failure has reached the word, and
//! the index it holds is the first failure in time (the word's modification order). A job
//! that fails because it saw the context cancelled fails after the cancel, hence after the
//! swap that preceded it: the root cause is what is reported, never its consequence.
//!
//! Failures that are not a job's own go through the same word:
//!
//! - a job the pool drops unrun (shut down or aborted) is recorded by its wrapper's `Drop`
//!   (the wrapper still holds the closure), as [`GroupError::Abandoned`];
//! - with a limit, a spawn that waits for a slot (a permit of the group's [`Semaphore`])
//!   gives up when the group's context ends, and records [`GroupError::Cancelled`] without
//!   running the job. The permit moves into the job and is released when its closure has
//!   returned (or panicked) and its failure, if any, is recorded, as in Go's `errgroup`.
//!
//! [`Group::wait`] also cancels the group's context once every job has finished, as Go's
//! `Wait` does; so does dropping a group without waiting.

use core::fmt;

use crate::context::{CancelHandle, Context, ContextError};
use crate::future::{catch, Promise, PromiseError};
use crate::semaphore::{AcquireCtxError, OwnedPermit, Semaphore, MAX_PERMITS};
use crate::sync::{Arc, AtomicUsize, Ordering, StdArc};

use super::WorkerPool;

/// `first`'s value while no job has failed.
const NONE: usize = usize::MAX;

/// A group of jobs that fail together (Go's `errgroup.Group`). See the [module docs](self).
///
/// # Example
///
/// A fan-out in the style of Go's `errgroup.WithContext`: one job fails, and the others,
/// which watch the group's context, see it cancelled and stop.
///
/// ```
/// use lockgate::context::ContextError;
/// use lockgate::workers::{Group, GroupError, WorkerPool};
/// use std::time::Duration;
///
/// let pool = WorkerPool::new(4);
/// let mut g = Group::new();
/// for id in 0..4 {
///     let ctx = g.context().clone();
///     g.spawn_on(&pool, move || {
///         if id == 2 {
///             return Err(format!("job {id}: connection refused"));
///         }
///         // Long work, until the group gives up on it.
///         match ctx.done_timeout(Duration::from_secs(60)) {
///             Some(ContextError::Canceled) => Err(format!("job {id}: stopped")),
///             _ => Ok(id),
///         }
///     });
/// }
/// // The first failure in time, never the failures it caused.
/// assert_eq!(
///     g.wait(),
///     Err(GroupError::Failed("job 2: connection refused".to_string()))
/// );
/// ```
///
/// At most `n` jobs in flight, on the default pool:
///
/// ```
/// use lockgate::workers::Group;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let inside = Arc::new(AtomicUsize::new(0));
/// let mut g = Group::<u32, String>::new().with_limit(2);
/// for i in 0..10 {
///     let inside = inside.clone();
///     g.spawn(move || {
///         let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
///         assert!(now <= 2, "{now} jobs in flight");
///         inside.fetch_sub(1, Ordering::SeqCst);
///         Ok(i * i)
///     });
/// }
/// let squares = g.wait().unwrap();
/// assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>()); // in spawn order
/// ```
pub struct Group<T, E> {
    /// The group's context: a cancellable child of the parent given at construction. Its
    /// cancel handle is in `shared`.
    ctx: Context,
    /// What the jobs' wrappers share with the group: the first failure and the cancel handle.
    shared: Arc<Shared>,
    /// `Some` with a limit: one permit per job in flight (started and not yet returned).
    limit: Option<StdArc<Semaphore>>,
    /// One slot per job spawned, in spawn order: index `i` is the `i`-th spawn, the index
    /// its wrapper records in `shared.first`.
    jobs: Vec<Slot<T, E>>,
}

/// The state the group shares with its jobs' wrappers.
struct Shared {
    /// The index of the first job that failed, or `NONE`. Invariant: set once, from `NONE`,
    /// by a compare-and-swap, before the failed job's promise completes (or, for a job that
    /// never started, before `spawn` returns); only the winner of that swap cancels.
    first: AtomicUsize,
    /// Cancels the group's context.
    cancel: CancelHandle,
}

impl Shared {
    /// Records that job `index` failed; the first to do so cancels the group's context.
    fn fail(&self, index: usize) {
        // Relaxed: the index is read only by `wait`, after every job's promise has completed
        // (each swap is sequenced before its job's promise completes, which the promise's
        // own Release/Acquire pair carries to `wait`), so that load sees every swap. "First"
        // is this word's modification order, and a failure caused by the cancel below (a job
        // that saw the context end) happens after this swap, so it is later in that order
        // by coherence: the context's own synchronization orders the two.
        if self
            .first
            .compare_exchange(NONE, index, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.cancel.cancel();
        }
    }
}

/// A job of the group, as `wait` finds it.
enum Slot<T, E> {
    /// Started on a pool: the promise of its wrapper's result.
    Started(Promise<Result<T, GroupError<E>>>),
    /// Never started (no slot before the context ended, or the pool refused it).
    Failed(GroupError<E>),
}

/// The closure of one job and what its wrapper needs to report it.
struct Job<F> {
    /// `Some` until the job runs: if it is still here when the job is dropped, the pool
    /// dropped the job unrun.
    f: Option<F>,
    /// This job's index in the group.
    index: usize,
    shared: Arc<Shared>,
    /// The job's slot under the group's limit, released when the job is dropped: after its
    /// closure returned and its failure was recorded.
    _permit: Option<OwnedPermit>,
}

impl<F> Job<F> {
    /// Runs the closure; records a failure (and cancels the group) before returning it.
    fn run<T, E>(mut self) -> Result<T, GroupError<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        let f = self.f.take().expect("a job runs once");
        let err = match catch(f) {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => GroupError::Failed(e),
            Err(PromiseError::Panicked(m)) => GroupError::Panicked(m),
            Err(e) => GroupError::Panicked(e.to_string()),
        };
        self.shared.fail(self.index);
        Err(err)
    } // `self` drops here: the permit goes back after the failure is recorded.
}

impl<F> Drop for Job<F> {
    fn drop(&mut self) {
        if self.f.is_some() {
            // Dropped unrun by its pool (a pool that is shutting down, or aborted). A
            // rejected or aborted `Submit` drops its closure before its resolver, so this is
            // recorded before the promise completes with `Abandoned`.
            self.shared.fail(self.index);
        }
    }
}

impl<T: Send + 'static, E: Send + 'static> Group<T, E> {
    /// A group whose context is a cancellable child of [`Context::background`].
    pub fn new() -> Self {
        Self::with_context(&Context::background())
    }

    /// A group whose context is a cancellable child of `ctx` (Go's `errgroup.WithContext`):
    /// cancelling `ctx` reaches the group's jobs, and the group's first failure cancels its
    /// own context, never `ctx`.
    pub fn with_context(ctx: &Context) -> Self {
        let (ctx, cancel) = ctx.with_cancel();
        Group {
            ctx,
            shared: Arc::new(Shared {
                first: AtomicUsize::new(NONE),
                cancel,
            }),
            limit: None,
            jobs: Vec::new(),
        }
    }

    /// At most `n` jobs of this group in flight (Go's `SetLimit`): a spawn at the limit
    /// waits until a job returns, and gives up (recording [`GroupError::Cancelled`]) if the
    /// group's context ends first. A job holds its slot from spawn until its closure returns,
    /// including while it waits in the pool's queue. A slot freed at the instant the context
    /// ends may still go to the waiting spawn, whose job then starts (and should see the
    /// context ended). An `n` above
    /// [`MAX_PERMITS`](crate::semaphore::MAX_PERMITS) is no limit.
    ///
    /// # Panics
    /// If `n` is 0 (no job could ever start), or if jobs were already spawned.
    pub fn with_limit(mut self, n: usize) -> Self {
        assert!(n > 0, "Group::with_limit: the limit must be at least 1");
        assert!(
            self.jobs.is_empty(),
            "Group::with_limit: set the limit before spawning ({} jobs spawned)",
            self.jobs.len()
        );
        self.limit = (n <= MAX_PERMITS).then(|| StdArc::new(Semaphore::new(n)));
        self
    }

    /// The group's context: pass clones to the jobs, so they stop when the group fails.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Runs `f` on the default pool ([`crate::spawn`]) as a job of the group (Go's `g.Go`);
    /// at the limit, waits for a slot first (see [`with_limit`](Self::with_limit)).
    ///
    /// The job runs even if the group has already failed (as in Go): it should watch
    /// [`context`](Self::context). When the default pool's queue is full the job runs on
    /// the calling thread before `spawn` returns (see [`crate::spawn`]).
    #[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
    pub fn spawn<F>(&mut self, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let started = self.start(f, true, |job| Some(crate::spawn(move || job.run())));
        debug_assert!(started.is_ok(), "a blocking spawn never hands the job back");
    }

    /// As [`spawn`](Self::spawn), on `pool`: waits while the pool's queue is full
    /// (back-pressure). If the pool is shut down, or drops the job unrun, the job fails
    /// with [`GroupError::Abandoned`].
    pub fn spawn_on<F>(&mut self, pool: &WorkerPool, f: F)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let started = self.start(f, true, |job| pool.submit(move || job.run()).ok());
        debug_assert!(started.is_ok(), "a blocking spawn never hands the job back");
    }

    /// As [`spawn`](Self::spawn), except at the limit: there it hands `f` back at once
    /// instead of waiting (Go's `g.TryGo`). Below the limit (or without one) it spawns.
    #[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
    pub fn try_spawn<F>(&mut self, f: F) -> Result<(), F>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        self.start(f, false, |job| Some(crate::spawn(move || job.run())))
    }

    /// As [`spawn_on`](Self::spawn_on), except at the limit: there it hands `f` back at once.
    /// Only the group's limit is tried: a full pool queue is waited for, as in `spawn_on`.
    pub fn try_spawn_on<F>(&mut self, pool: &WorkerPool, f: F) -> Result<(), F>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        self.start(f, false, |job| pool.submit(move || job.run()).ok())
    }

    /// Takes a slot (waiting for one if `wait_for_slot`, else handing `f` back at the
    /// limit), then hands the wrapped job to `submit`, which returns its promise, or `None`
    /// if the pool refused it (the refused job is dropped there, which records it).
    fn start<F, S>(&mut self, f: F, wait_for_slot: bool, submit: S) -> Result<(), F>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        S: FnOnce(Job<F>) -> Option<Promise<Result<T, GroupError<E>>>>,
    {
        let index = self.jobs.len();
        let permit = match &self.limit {
            None => None,
            Some(sem) => match sem.try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) if !wait_for_slot => return Err(f),
                Err(_) => match sem.acquire_many_owned_ctx(1, &self.ctx) {
                    Ok(p) => Some(p),
                    Err(AcquireCtxError::Done(e)) => {
                        self.shared.fail(index);
                        self.jobs.push(Slot::Failed(GroupError::Cancelled(e)));
                        return Ok(());
                    }
                    Err(e) => unreachable!("one permit of a semaphore never closed: {e}"),
                },
            },
        };
        let job = Job {
            f: Some(f),
            index,
            shared: self.shared.clone(),
            _permit: permit,
        };
        self.jobs.push(match submit(job) {
            Some(p) => Slot::Started(p),
            None => Slot::Failed(GroupError::Abandoned),
        });
        Ok(())
    }

    /// Waits for every job to finish (Go's `g.Wait`), then returns the first failure in time,
    /// or every job's value in spawn order. Cancels the group's context before it returns.
    pub fn wait(mut self) -> Result<Vec<T>, GroupError<E>> {
        let jobs = core::mem::take(&mut self.jobs);
        let mut outs = Vec::with_capacity(jobs.len());
        for (index, slot) in jobs.into_iter().enumerate() {
            outs.push(match slot {
                Slot::Started(p) => match p.get() {
                    Ok(out) => out,
                    // Dropped unrun: its wrapper's `Drop` recorded it already; recording
                    // again changes nothing, and keeps `first` right whatever the pool's
                    // drop order.
                    Err(PromiseError::Abandoned) => {
                        self.shared.fail(index);
                        Err(GroupError::Abandoned)
                    }
                    // Not from the pool (the wrapper catches the job's panic); kept exact anyway.
                    Err(e) => {
                        self.shared.fail(index);
                        Err(GroupError::Panicked(e.to_string()))
                    }
                },
                Slot::Failed(e) => Err(e),
            });
        }
        // Relaxed: every swap happened before the promise completions just read (see
        // `Shared::fail`), or on this thread.
        let first = self.shared.first.load(Ordering::Relaxed);
        if first != NONE {
            return Err(outs
                .swap_remove(first)
                .err()
                .expect("the job recorded as the first failure failed"));
        }
        let mut values = Vec::with_capacity(outs.len());
        for out in outs {
            match out {
                Ok(v) => values.push(v),
                Err(_) => unreachable!("every failure is recorded before wait reads `first`"),
            }
        }
        Ok(values)
    } // `self` drops here: the context is cancelled.

    /// Jobs spawned so far (including those that failed to start; not those handed back by
    /// `try_spawn`).
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// True if no job has been spawned.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

impl<T: Send + 'static, E: Send + 'static> Default for Group<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Drop for Group<T, E> {
    /// Cancels the group's context: after `wait`, as Go's `Wait` does; without it, so jobs
    /// that nobody will wait for stop early (they run on, detached, if they do not watch it).
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl<T, E> fmt::Debug for Group<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("jobs", &self.jobs.len())
            .field("limit", &self.limit)
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

/// Why a [`Group`] failed: the first failure of one of its jobs, in time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError<E> {
    /// A job returned `Err`.
    Failed(E),
    /// A job panicked; the panic's message, if it had one. The panic is caught in the job
    /// and never re-raised.
    Panicked(String),
    /// A job was dropped unrun: its pool was shut down (or aborted) before running it.
    Abandoned,
    /// A job never started: the group's context ended while `spawn` waited for a slot
    /// under the limit.
    Cancelled(ContextError),
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(e) => e.fmt(f),
            GroupError::Panicked(m) => write!(f, "a job of the group panicked: {m}"),
            GroupError::Abandoned => {
                f.write_str("a job of the group was dropped unrun by its pool")
            }
            GroupError::Cancelled(e) => {
                write!(f, "a job of the group never started (no slot before: {e})")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GroupError<E> {
    /// `Failed` is transparent: its source is the job's error's source.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GroupError::Failed(e) => e.source(),
            _ => None,
        }
    }
}
