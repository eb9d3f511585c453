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
/// pool job.
///
/// A job may wait for another spawned job, as a goroutine waits for another: `get` on a
/// promise of a job that has not started runs it on the waiting worker (up to
/// [`DEFAULT_INLINE_DEPTH`](crate::workers::DEFAULT_INLINE_DEPTH) levels deep), and a worker
/// blocked longer than [`COMPENSATION_DELAY`](crate::workers::COMPENSATION_DELAY) in any
/// lockgate wait gets a stand-in worker (up to
/// [`DEFAULT_MAX_STAND_INS`](crate::workers::DEFAULT_MAX_STAND_INS) at once), so recursive
/// fork-join and jobs waiting on later jobs finish. Blocking outside lockgate (a std lock,
/// I/O, `thread::sleep`) is not seen and holds its worker.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = (lockgate::spawn(move || fib(n - 1)), lockgate::spawn(move || fib(n - 2)));
///     a.get().unwrap() + b.get().unwrap()
/// }
/// assert_eq!(lockgate::spawn(|| fib(12)).get(), Ok(144));
/// ```
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
