//! The harness shared by lockgate's benches: pinned threads, a start barrier, and timing from
//! the first thread's start to the last thread's stop, for criterion's `iter_custom`.
//!
//! Every bench runs lockgate and its peers in the same process, one after another, with the
//! same shapes, capacities and waiting strategy, so the ratios compare like with like.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// The cores threads are pinned to, in order; thread `i` runs on `cores()[i % len]`.
pub fn cores() -> Vec<core_affinity::CoreId> {
    core_affinity::get_core_ids().unwrap_or_default()
}

/// The (producers, consumers) shapes worth running on this machine: 1p1c, then NpNc while
/// every thread has its own core, then one oversubscribed shape with two threads per core.
pub fn shapes() -> Vec<(usize, usize)> {
    let n = cores().len().max(1);
    let mut v = vec![(1, 1)];
    for k in [2, 4, 8] {
        if 2 * k <= n {
            v.push((k, k));
        }
    }
    if n >= 2 {
        v.push((n, n));
    }
    v.dedup();
    v
}

/// Runs `work(i)` on `threads` pinned threads released together by a barrier and returns the
/// time from the first start to the last finish.
pub fn timed_threads<F>(threads: usize, work: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let ids = cores();
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, work, ids) = (&barrier, &work, &ids);
                s.spawn(move || {
                    if !ids.is_empty() {
                        core_affinity::set_for_current(ids[i % ids.len()]);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    work(i);
                    (start, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = spans.iter().map(|s| s.0).min().unwrap();
    let last = spans.iter().map(|s| s.1).max().unwrap();
    last - first
}

/// Splits `total` items into `parts` shares that add up to `total`.
pub fn share(total: u64, parts: usize, i: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((i as u64) < total % parts)
}

/// Retries `op` until it succeeds: spin with `spin_loop` hints, then yield. The same strategy
/// for every non-blocking queue, so none gets an edge from its waiting.
#[inline]
pub fn retry<T>(mut op: impl FnMut() -> Option<T>) -> T {
    let mut k = 0u32;
    loop {
        if let Some(v) = op() {
            return v;
        }
        if k < 6 {
            for _ in 0..(1u32 << k) {
                std::hint::spin_loop();
            }
            k += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

/// Criterion settings for these benches; the command line (`--warm-up-time`,
/// `--measurement-time`, `--sample-size`) still overrides them, which is how the quick
/// profile runs.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args()
}
