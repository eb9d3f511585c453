//! The shared default pool behind [`crate::spawn`]: a fixed [`WorkerPool`] with one worker per
//! available core (at least two) and 256 queued jobs per worker, started on first use and
//! never shut down.

use super::WorkerPool;
use crate::future::Promise;
use crate::sync::global;

global!(default_pool: WorkerPool = {
    let n = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    WorkerPool::builder().workers(n).name("lockgate-spawn").build()
});

/// Runs `f` on the shared default pool and returns the promise of its result.
///
/// The pool has one worker per available core (at least two), started on first use; idle
/// workers park. A panic in `f` completes the promise with
/// [`PromiseError::Panicked`](crate::future::PromiseError::Panicked); the worker lives on.
/// When the pool's queue is full, `f` runs on the calling thread before `spawn` returns
/// (Java's `CallerRunsPolicy`): back-pressure that never blocks, even when called from a
/// pool job. A pool job that blocks on a promise of this pool occupies a worker while it
/// waits; if every worker does, the pool stalls: inside jobs, compose with
/// [`Promise::then`] and [`Promise::and_then`] instead of `get`.
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
    default_pool().submit_or_run_here(f)
}
