//! Worker pools: fixed or elastic sets of threads running submitted jobs (the "Worker pool"
//! and "Dynamic worker pool" sections of the Go concurrency patterns tutorial), the
//! default pool behind [`crate::spawn`], and [`Group`], jobs that fail together (Go's
//! `errgroup`).
//!
//! Scheduling is work stealing (`sched.rs`): each worker has its own deque, which it pops
//! newest first and the others steal from oldest first; jobs submitted from outside go to
//! a shared injector, a bounded lockgate channel, so a full queue pushes back on submitters.
//! Jobs are therefore not run in submission order across the pool. Idle workers search for
//! a while, then sleep on their own futex word; a submit wakes one only if no worker is
//! searching (tokio's wake rule), so an idle pool uses no CPU and a busy one pays no system
//! call per job. `submit` returns a [`Promise`] of the job's result; a panic becomes the
//! promise's error and the worker lives on. Small `execute` closures travel inline, with
//! no allocation. An elastic pool grows on submit when no worker is idle, or more jobs
//! wait than workers are idle (up to `max`) and shrinks when a worker has been idle for
//! `keep_alive` (down to `min`): no thread polls. The intake gate is the injector's own
//! close; growth and retirement act on one word (the live and idle counts and a submit
//! tick).
//!
//! Jobs may wait for jobs of their own pool (a promise, a channel a later job fills, a
//! latch): a `get` on a job that has not started runs it on the waiting worker (claim-inline,
//! up to [`DEFAULT_INLINE_DEPTH`] levels), and a worker blocked in any lockgate wait for
//! longer than [`COMPENSATION_DELAY`] gets a stand-in worker (up to
//! [`DEFAULT_MAX_STAND_INS`] alive at once), which retires when the wait ends. Stand-ins are
//! extra threads: [`workers`](WorkerPool::workers), `min` and `max` count only the pool's own
//! workers, [`stand_ins`](WorkerPool::stand_ins) counts them, they are never pinned, and
//! shutdown joins them like the rest.
//!
//! Unlike the tutorial's dynamic pool, a submit racing shutdown is never lost (it is run, or
//! handed back), and nothing keeps running after it.
//!
//! # Example
//!
//! ```
//! use lockgate::workers::WorkerPool;
//!
//! let pool = WorkerPool::builder().workers(4).build();
//! let squares: Vec<_> = (0..8u64)
//!     .map(|i| pool.submit(move || i * i).unwrap())
//!     .collect();
//! let total: u64 = squares.into_iter().map(|p| p.get().unwrap()).sum();
//! assert_eq!(total, 140);
//! pool.shutdown(); // drains the queue, joins the workers
//! ```

// The default pool is a process-wide global of real threads: not under a model checker.
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
mod default;
mod error;
mod group;
mod inner;
mod job;
mod sched;
mod stand_in;

use core::fmt;
use std::time::Duration;

use crate::channel::SendTimeoutError;
use crate::context::Context;
use crate::future::Promise;
use crate::sync::Arc;
use crate::wait::{deadline_after, Until};
use inner::{rejected, run_here, Inner};
use job::Job;
use stand_in::StandIns;
pub use stand_in::{COMPENSATION_DELAY, DEFAULT_INLINE_DEPTH, DEFAULT_MAX_STAND_INS};

#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
pub use default::spawn;
pub use error::{Rejected, SubmitCtxError};
pub use group::{Group, GroupError};
pub use inner::MAX_WORKERS;

/// A pool of worker threads. See the [module docs](self).
///
/// Dropping the pool shuts it down (queued jobs still run) and joins its threads.
pub struct WorkerPool {
    inner: Arc<Inner>,
}

/// Configures a [`WorkerPool`]; from [`WorkerPool::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    /// `None` until set: a fixed pool's `max`, an elastic pool's 0.
    min: Option<usize>,
    max: usize,
    keep_alive: Option<Duration>,
    queue: Option<usize>,
    name: String,
    #[cfg(feature = "affinity")]
    pin: bool,
    max_stand_ins: usize,
    inline_depth: usize,
}

impl Builder {
    /// A fixed pool of `n` workers, all started at `build`.
    pub fn workers(mut self, n: usize) -> Self {
        self.min = Some(n);
        self.max = n;
        self.keep_alive = None;
        self
    }

    /// An elastic pool keeps at least `n` workers (started at `build`; default 0).
    pub fn min(mut self, n: usize) -> Self {
        self.min = Some(n);
        self.keep_alive.get_or_insert(Duration::from_secs(60));
        self
    }

    /// An elastic pool grows up to `n` workers (default: one per core) while submits find
    /// no idle worker, or more queued jobs than idle workers.
    pub fn max(mut self, n: usize) -> Self {
        self.max = n;
        if self.keep_alive.is_none() {
            self.min = None; // becoming elastic: a fixed pool's size is no floor
        }
        self.keep_alive.get_or_insert(Duration::from_secs(60));
        self
    }

    /// How long an elastic pool's worker stays idle before it retires (above `min`).
    pub fn keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = Some(d);
        self
    }

    /// Jobs the queue holds before submits wait (default: 256 per `max` worker, at most
    /// 65,536; the queue is allocated at `build`).
    pub fn queue_capacity(mut self, c: usize) -> Self {
        self.queue = Some(c);
        self
    }

    /// The workers' thread-name prefix (default `lockgate-worker`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Pins worker `k` to core `k % cores` (feature `affinity`): for latency-critical users
    /// with cores to spare.
    #[cfg(feature = "affinity")]
    pub fn pin_to_cores(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// The most stand-in workers alive at once (default [`DEFAULT_MAX_STAND_INS`]): a
    /// worker whose wait inside a job lasts longer than [`COMPENSATION_DELAY`] starts one, so
    /// the queue keeps moving while it waits; it retires when the wait ends. 0 turns
    /// compensation off (a pool whose jobs all block can then stall).
    pub fn max_stand_ins(mut self, n: usize) -> Self {
        self.max_stand_ins = n;
        self
    }

    /// How many claimed jobs may nest on one thread (default [`DEFAULT_INLINE_DEPTH`]): a job
    /// that calls [`Promise::get`] on a job of this pool that has not started runs it itself,
    /// this many levels deep; deeper, it waits (and is compensated). 0 turns claiming off.
    pub fn max_inline_depth(mut self, n: usize) -> Self {
        self.inline_depth = n;
        self
    }

    /// Starts the pool.
    ///
    /// # Panics
    /// If `max` is 0 or above [`MAX_WORKERS`], if `min > max`, or if the queue capacity is 0
    /// or too large for a channel.
    pub fn build(self) -> WorkerPool {
        let min = self.min.unwrap_or(if self.keep_alive.is_some() {
            0
        } else {
            self.max
        });
        assert!(
            self.max >= 1 && self.max <= MAX_WORKERS,
            "WorkerPool: max workers must be in 1..={MAX_WORKERS} (got {})",
            self.max
        );
        assert!(
            min <= self.max,
            "WorkerPool: min workers ({min}) above max ({})",
            self.max
        );
        let queue = self
            .queue
            .unwrap_or(self.max.saturating_mul(256).min(1 << 16));
        assert!(
            queue >= 1,
            "WorkerPool: the queue capacity must be at least 1"
        );
        let inner = Inner::new(
            min,
            self.max,
            self.keep_alive,
            queue,
            self.name,
            #[cfg(feature = "affinity")]
            self.pin,
            StandIns::new(self.max_stand_ins, self.inline_depth),
        );
        Inner::start(&inner, min);
        WorkerPool { inner }
    }
}

impl WorkerPool {
    /// A builder; by default a fixed pool with one worker per available core.
    pub fn builder() -> Builder {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        Builder {
            min: None,
            max: n,
            keep_alive: None,
            queue: None,
            name: String::from("lockgate-worker"),
            #[cfg(feature = "affinity")]
            pin: false,
            max_stand_ins: DEFAULT_MAX_STAND_INS,
            inline_depth: DEFAULT_INLINE_DEPTH,
        }
    }

    /// A fixed pool of `n` workers.
    pub fn new(n: usize) -> WorkerPool {
        Self::builder().workers(n).build()
    }

    /// Runs `f` on a worker; the promise of its result. Waits for room while the queue is
    /// full (back-pressure), except on one of this pool's own workers: there a full queue
    /// runs `f` at once on the calling thread (Java's `CallerRunsPolicy`), so a job that
    /// submits more jobs never waits for itself. Rejected, with `f` handed back, once
    /// shutdown has begun.
    pub fn submit<F, T>(&self, f: F) -> Result<Promise<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, p) = Job::submit(Inner::id(&self.inner), f);
        match self.send(job, Until::FOREVER) {
            Ok(()) => Ok(p),
            Err(Refused::Shutdown(job)) => {
                drop(p);
                Err(rejected::<F, T>(job, false))
            }
            Err(Refused::RunHere(job)) => {
                self.inner.run(job, self.inner.max);
                Ok(p)
            }
            Err(Refused::Done(..)) => unreachable!("a wait without a bound ended"),
        }
    }

    /// Runs `f` on a worker if the queue has room now; otherwise hands it back
    /// ([`Rejected::Full`], or [`Rejected::Shutdown`]). Never blocks.
    pub fn try_submit<F, T>(&self, f: F) -> Result<Promise<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        try_submit(&self.inner, f)
    }

    /// As [`submit`](Self::submit), waiting for room only while `ctx` is live.
    pub fn submit_ctx<F, T>(&self, f: F, ctx: &Context) -> Result<Promise<T>, SubmitCtxError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Some(e) = ctx.err() {
            return Err(SubmitCtxError::Done(f, e));
        }
        let (job, p) = Job::submit(Inner::id(&self.inner), f);
        match self.send(job, ctx.until()) {
            Ok(()) => Ok(p),
            Err(Refused::Shutdown(job)) => {
                drop(p);
                Err(SubmitCtxError::Shutdown(job.into_closure::<F, T>()))
            }
            Err(Refused::RunHere(job)) => {
                self.inner.run(job, self.inner.max);
                Ok(p)
            }
            Err(Refused::Done(job)) => {
                drop(p);
                Err(SubmitCtxError::Done(
                    job.into_closure::<F, T>(),
                    ctx.err_after_wait(),
                ))
            }
        }
    }

    /// Runs `f` on a worker, fire and forget (a panic is counted and contained). Waits for
    /// room like [`submit`](Self::submit); rejected with `f` back once shutdown has begun.
    pub fn execute<F>(&self, f: F) -> Result<(), Rejected<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        match self.send(Job::execute(Inner::id(&self.inner), f), Until::FOREVER) {
            Ok(()) => Ok(()),
            Err(Refused::Shutdown(job)) => Err(Rejected::Shutdown(job.into_closure::<F, ()>())),
            Err(Refused::RunHere(job)) => {
                self.inner.run(job, self.inner.max);
                Ok(())
            }
            Err(Refused::Done(..)) => unreachable!("a wait without a bound ended"),
        }
    }

    /// The submit path: on one of the pool's threads, its own deque or the injector without
    /// waiting (caller-runs when both are full); elsewhere the injector, waiting for room
    /// until `until`. The injector's close is the intake gate (see `inner.rs`).
    fn send(&self, job: Job, until: Until<'_>) -> Result<(), Refused> {
        let inner = &self.inner;
        let r = if Inner::on_worker(inner) {
            // Caller-runs: a worker never waits for room in its own pool's queue.
            Inner::try_put(inner, job).map_err(|(job, shut)| {
                if shut {
                    Refused::Shutdown(job)
                } else {
                    Refused::RunHere(job)
                }
            })
        } else {
            match inner.tx.send_bounded(job, until) {
                Ok(()) => {
                    inner.sched.notify();
                    Ok(())
                }
                Err(SendTimeoutError::Timeout(job)) => Err(Refused::Done(job)),
                Err(SendTimeoutError::Disconnected(job)) => Err(Refused::Shutdown(job)),
            }
        };
        if r.is_ok() {
            Inner::after_send(inner);
        }
        r
    }

    /// Stops taking jobs, lets the queued ones run, and waits for every worker to exit.
    /// Called from one of the pool's own jobs, it does not wait for its own thread.
    pub fn shutdown(&self) {
        Inner::stop(&self.inner, false);
        Inner::join(&self.inner, Until::FOREVER);
    }

    /// As [`shutdown`](Self::shutdown), waiting at most `timeout` for the workers; true if
    /// they all exited. Workers still busy then finish their jobs and exit on their own.
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        let until = Until::from(deadline_after(timeout));
        Inner::stop(&self.inner, false);
        Inner::join(&self.inner, until)
    }

    /// Stops taking jobs and drops the queued ones (their promises complete with
    /// [`PromiseError::Abandoned`](crate::future::PromiseError::Abandoned)); jobs already
    /// running finish. Waits for the workers to exit.
    pub fn abort(&self) {
        Inner::stop(&self.inner, true);
        Inner::join(&self.inner, Until::FOREVER);
    }

    /// True once shutdown (or abort) has begun.
    pub fn is_shutdown(&self) -> bool {
        self.inner.is_shutdown()
    }

    /// The pool's own worker threads alive now (stand-ins not included).
    pub fn workers(&self) -> usize {
        self.inner.workers()
    }

    /// Stand-in workers alive now: started for workers blocked inside jobs, retiring as
    /// those waits end (see [`Builder::max_stand_ins`]).
    pub fn stand_ins(&self) -> usize {
        self.inner.stand_ins.live()
    }

    /// Workers running a job now.
    pub fn active_workers(&self) -> usize {
        self.inner.active()
    }

    /// Jobs waiting in the queue now. A job claimed by a waiting job (see the module docs)
    /// keeps its place, and counts here, until a worker dequeues and skips it.
    pub fn queued(&self) -> usize {
        self.inner.queued()
    }

    /// Jobs finished so far (including panicked ones).
    pub fn completed(&self) -> u64 {
        self.inner.completed()
    }

    /// Jobs whose code panicked so far.
    pub fn panicked(&self) -> u64 {
        self.inner.panicked()
    }

    /// A handle that submits to this pool without owning it (dropping it shuts nothing
    /// down): for pipelines whose stages run on the pool.
    pub(crate) fn spawner(&self) -> Spawner {
        Spawner(self.inner.clone())
    }

    /// Used by `spawn`: runs `f` on a worker, or here if the queue is full.
    #[cfg_attr(any(lockgate_loom, lockgate_shuttle), allow(dead_code))] // no `spawn` under a model checker
    pub(crate) fn submit_or_run_here<F, T>(&self, f: F) -> Promise<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.try_submit(f) {
            Ok(p) => p,
            Err(e) => run_here(&self.inner, e.into_inner()),
        }
    }
}

/// The body of [`WorkerPool::try_submit`].
fn try_submit<F, T>(inner: &Arc<Inner>, f: F) -> Result<Promise<T>, Rejected<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (job, p) = Job::submit(Inner::id(inner), f);
    match Inner::try_put(inner, job) {
        Ok(()) => {
            Inner::after_send(inner);
            Ok(p)
        }
        Err((job, shut)) => {
            drop(p);
            Err(rejected::<F, T>(job, !shut))
        }
    }
}

/// Submits to a pool without owning it (see [`WorkerPool::spawner`]).
#[derive(Clone)]
pub(crate) struct Spawner(Arc<Inner>);

impl Spawner {
    /// As [`WorkerPool::try_submit`]: never waits, never runs `f` here.
    pub(crate) fn try_submit<F, T>(&self, f: F) -> Result<Promise<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        try_submit(&self.0, f)
    }
}

/// Why the submit path did not queue a job; the job comes back.
enum Refused {
    Shutdown(Job),
    RunHere(Job),
    Done(Job),
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("workers", &self.workers())
            .field("active", &self.active_workers())
            .field("queued", &self.queued())
            .field("completed", &self.completed())
            .finish()
    }
}
