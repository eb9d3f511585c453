//! Job throughput: one submitter, tiny jobs, a completion counter, against the `threadpool`
//! crate and rayon's `spawn` on pools of the same size; and a 3-stage pipeline against the
//! same stages on crossbeam-channel and plain threads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A pool under test: start `workers`, run `n` tiny jobs from `submitters` threads (split
/// evenly), wait for all.
pub trait Jobs: 'static {
    fn run(workers: usize, submitters: usize, n: u64) -> Duration;
}

/// Waits until `counter` reaches `n` (spinning, then yielding): the same for every pool.
fn wait_for(counter: &AtomicU64, n: u64) {
    let mut k = 0u32;
    while counter.load(Ordering::Acquire) < n {
        if k < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
        k = k.saturating_add(1);
    }
}

/// Runs `n` jobs from `submitters` threads: `each(k)` submits `k` jobs that bump `done`.
fn run_jobs(submitters: usize, n: u64, done: &AtomicU64, each: impl Fn(u64) + Sync) -> Duration {
    let start = Instant::now();
    if submitters <= 1 {
        each(n);
    } else {
        let share = n / submitters as u64;
        std::thread::scope(|s| {
            for i in 0..submitters as u64 {
                let k = if i == 0 {
                    n - share * (submitters as u64 - 1)
                } else {
                    share
                };
                let each = &each;
                s.spawn(move || each(k));
            }
        });
    }
    wait_for(done, n);
    start.elapsed()
}

/// lockgate `WorkerPool::execute` (fixed pool).
pub struct LockgatePool;

impl Jobs for LockgatePool {
    fn run(workers: usize, submitters: usize, n: u64) -> Duration {
        let pool = lockgate::workers::WorkerPool::builder()
            .workers(workers)
            .queue_capacity(1024)
            .build();
        let done = Arc::new(AtomicU64::new(0));
        run_jobs(submitters, n, &done, |k| {
            for _ in 0..k {
                let d = done.clone();
                let _ = pool.execute(move || {
                    d.fetch_add(1, Ordering::Release);
                });
            }
        })
    }
}

/// The `threadpool` crate (`ThreadPool::execute`).
pub struct ThreadPoolCrate;

impl Jobs for ThreadPoolCrate {
    fn run(workers: usize, submitters: usize, n: u64) -> Duration {
        let pool = std::sync::Mutex::new(threadpool::ThreadPool::new(workers));
        let done = Arc::new(AtomicU64::new(0));
        run_jobs(submitters, n, &done, |k| {
            // A clone per submitting thread (the crate's way to share a pool).
            let pool = pool.lock().unwrap().clone();
            for _ in 0..k {
                let d = done.clone();
                pool.execute(move || {
                    d.fetch_add(1, Ordering::Release);
                });
            }
        })
    }
}

/// rayon's `ThreadPool::spawn`.
pub struct RayonSpawn;

impl Jobs for RayonSpawn {
    fn run(workers: usize, submitters: usize, n: u64) -> Duration {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .expect("rayon pool");
        let done = Arc::new(AtomicU64::new(0));
        run_jobs(submitters, n, &done, |k| {
            for _ in 0..k {
                let d = done.clone();
                pool.spawn(move || {
                    d.fetch_add(1, Ordering::Release);
                });
            }
        })
    }
}

/// A 3-stage pipeline (generate, map, filter, consume) of `n` items.
pub trait Stages: 'static {
    fn run(n: u64) -> Duration;
}

/// lockgate `Pipeline` (capacity 64 between stages).
pub struct LockgatePipeline;

impl Stages for LockgatePipeline {
    fn run(n: u64) -> Duration {
        let start = Instant::now();
        let mut sum = 0u64;
        lockgate::pipeline::Pipeline::from_iter(0..n)
            .map(|v| v.wrapping_mul(3))
            .filter(|v| v % 2 == 0)
            .for_each(|v| sum = sum.wrapping_add(v))
            .expect("pipeline");
        std::hint::black_box(sum);
        start.elapsed()
    }
}

/// The same stages on crossbeam-channel `bounded(64)` and plain threads.
pub struct CrossbeamPipeline;

impl Stages for CrossbeamPipeline {
    fn run(n: u64) -> Duration {
        let start = Instant::now();
        let (tx1, rx1) = crossbeam_channel::bounded(64);
        let (tx2, rx2) = crossbeam_channel::bounded(64);
        let (tx3, rx3) = crossbeam_channel::bounded(64);
        let g = std::thread::spawn(move || {
            for v in 0..n {
                if tx1.send(v).is_err() {
                    return;
                }
            }
        });
        let m = std::thread::spawn(move || {
            for v in rx1 {
                if tx2.send(v.wrapping_mul(3)).is_err() {
                    return;
                }
            }
        });
        let f = std::thread::spawn(move || {
            for v in rx2 {
                if v % 2 == 0 && tx3.send(v).is_err() {
                    return;
                }
            }
        });
        let mut sum = 0u64;
        for v in rx3 {
            sum = sum.wrapping_add(v);
        }
        for h in [g, m, f] {
            h.join().unwrap();
        }
        std::hint::black_box(sum);
        start.elapsed()
    }
}
