//! The shared default pool behind [`crate::spawn`].
//!
//! A fixed set of worker threads (one per available core, at least two), started on first
//! use, takes boxed jobs from one lockgate channel. Idle workers spin briefly, then park in the
//! channel's wait list (no CPU when idle). When the queue is full, `spawn` runs the job on the
//! calling thread (Java's `CallerRunsPolicy`): back-pressure without blocking, so a job that
//! spawns more jobs never waits for room in the queue. (A job that *blocks on* what it
//! spawned can still starve the pool, as in any fixed pool: chain with `then`/`and_then`
//! instead.) The configurable `WorkerPool` that follows replaces this module's internals; the
//! `spawn` contract stays.

use std::panic::{self, AssertUnwindSafe};
use std::thread;

use crate::channel::{bounded, Sender, TrySendError};
use crate::future::Promise;
use crate::sync::global;

type Job = Box<dyn FnOnce() + Send>;

/// Queued jobs per worker before `spawn` runs jobs on the caller.
const QUEUE_PER_WORKER: usize = 256;

struct DefaultPool {
    jobs: Sender<Job>,
}

global!(default_pool: DefaultPool = DefaultPool::start());

impl DefaultPool {
    fn start() -> DefaultPool {
        let n = thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        let (jobs, rx) = bounded::<Job>(n * QUEUE_PER_WORKER);
        for i in 0..n {
            let rx = rx.clone();
            // A worker that cannot be started (a thread limit) is skipped; with none at all
            // the receivers are gone and every job runs on its caller.
            let _ = thread::Builder::new()
                .name(format!("lockgate-worker-{i}"))
                .spawn(move || {
                    for job in rx.iter() {
                        // Jobs catch their own panics (a panic becomes the promise's error);
                        // this only keeps the worker alive through anything else.
                        let _ = panic::catch_unwind(AssertUnwindSafe(job));
                    }
                });
        }
        DefaultPool { jobs }
    }
}

/// Runs `f` on the shared default pool and returns the promise of its result.
///
/// The pool has one worker per available core (at least two), started on first use; idle
/// workers park. A panic in `f` completes the promise with
/// [`PromiseError::Panicked`](crate::future::PromiseError::Panicked); the worker lives on.
/// When the pool's queue is full, `f` runs on the calling thread before `spawn` returns
/// (back-pressure that never blocks, even when called from a pool job). A pool job that
/// blocks on a promise of this pool occupies a worker while it waits; if every worker does,
/// the pool stalls: inside jobs, compose with [`Promise::then`] and
/// [`Promise::and_then`] instead of `get`.
///
/// ```
/// let p = lockgate::spawn(|| 6 * 7);
/// assert_eq!(p.get(), Ok(42));
/// ```
pub fn spawn<T, F>(f: F) -> Promise<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (r, p) = Promise::pending();
    let job: Job = Box::new(move || r.complete_with(f));
    match default_pool().jobs.try_send(job) {
        Ok(()) => {}
        Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => job(),
    }
    p
}
