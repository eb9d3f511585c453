//! The harness shared by lockgate's benches: pinned threads, a start barrier, and timing from
//! the first thread's start to the last thread's stop, for criterion's `iter_custom`.
//!
//! Every bench runs lockgate and its peers in the same process, one after another, with the
//! same shapes, capacities and waiting strategy, so the ratios compare like with like.

pub mod broadcast;
pub mod cancel;
pub mod costs;
pub mod handoff;
pub mod jobs;
pub mod model;
pub mod pool;
pub mod select;
pub mod sync_prims;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::Criterion;
use crossbeam_queue::ArrayQueue;
use lockgate::queue::{RingQueue, ScqQueue};
use std::sync::atomic::{AtomicU64, Ordering};

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

// ---- The implementations under test, behind one interface per kind ----

/// The two operations every queue under test offers.
pub trait Queue: Sync {
    fn with_capacity(cap: usize) -> Self;
    fn push(&self, v: u64) -> Result<(), u64>;
    fn pop(&self) -> Option<u64>;
}

/// `Queue` for a type with `new(cap)`, `push(v) -> Result<(), v>` and `pop() -> Option`.
macro_rules! queue_adapter {
    ($q:ident) => {
        impl Queue for $q<u64> {
            fn with_capacity(cap: usize) -> Self {
                $q::new(cap)
            }
            fn push(&self, v: u64) -> Result<(), u64> {
                $q::push(self, v)
            }
            fn pop(&self) -> Option<u64> {
                $q::pop(self)
            }
        }
    };
}

queue_adapter!(RingQueue);
queue_adapter!(ScqQueue);
queue_adapter!(ArrayQueue);

/// `RingQueue`'s blocking forms (`push_wait`/`pop_wait`: a `fetch_add` ticket per item and a
/// turn wait) behind the `Queue` interface: its push and pop never refuse, so the harness's
/// retry loop runs once.
pub struct RingWait(RingQueue<u64>);

impl Queue for RingWait {
    fn with_capacity(cap: usize) -> Self {
        RingWait(RingQueue::new(cap))
    }
    fn push(&self, v: u64) -> Result<(), u64> {
        self.0.push_wait(v);
        Ok(())
    }
    fn pop(&self) -> Option<u64> {
        Some(self.0.pop_wait())
    }
}

/// The shapes with four threads per core (`2n` producers and `2n` consumers on `n` cores),
/// where a preempted thread is the common case.
pub fn oversubscribed() -> (usize, usize) {
    let n = cores().len().max(1);
    (2 * n, 2 * n)
}

/// Checks that consumers received every value: producer `i` sends `0..share(items, p, i)`.
fn check_sum(got: u64, items: u64, p: usize) {
    let expect: u64 = (0..p)
        .map(|i| share(items, p, i))
        .map(|n| n * n.saturating_sub(1) / 2)
        .sum();
    assert_eq!(got, expect, "a value was lost or duplicated in transit");
}

/// Pushes `v`, retrying with [`retry`] while the queue is full.
pub fn push_retry<Q: Queue>(q: &Q, v: u64) {
    let mut v = Some(v);
    retry(|| match q.push(v.take().unwrap()) {
        Ok(()) => Some(()),
        Err(back) => {
            v = Some(back);
            None
        }
    });
}

/// Moves `items` values from `p` producers to `c` consumers; checks the sum so nothing is
/// optimized away or lost.
pub fn queue_transfer<Q: Queue>(cap: usize, p: usize, c: usize, items: u64) -> Duration {
    let q = Q::with_capacity(cap);
    let sum = AtomicU64::new(0);
    let d = timed_threads(p + c, |i| {
        if i < p {
            for v in 0..share(items, p, i) {
                push_retry(&q, v);
            }
        } else {
            let mut local = 0u64;
            for _ in 0..share(items, c, i - p) {
                local = local.wrapping_add(retry(|| q.pop()));
            }
            sum.fetch_add(local, Ordering::Relaxed);
        }
    });
    check_sum(sum.into_inner(), items, p);
    d
}

/// A channel under test: blocking send and recv on cloneable handles.
pub trait Chan {
    type S: Send + Sync + Clone;
    type R: Send + Sync;
    const MPMC: bool = true;
    fn make(cap: usize) -> (Self::S, Self::R);
    fn send(s: &Self::S, v: u64);
    fn recv(r: &Self::R) -> u64;
}

/// A `Chan` adapter for a crate whose bounded channel is `$krate::bounded(cap)` with
/// `send(v) -> Result` and `recv() -> Result` on its handles.
macro_rules! chan_adapter {
    ($name:ident, $sender:ty, $receiver:ty, $bounded:path) => {
        #[doc = concat!("`", stringify!($bounded), "`.")]
        pub struct $name;
        impl Chan for $name {
            type S = $sender;
            type R = $receiver;
            fn make(cap: usize) -> (Self::S, Self::R) {
                $bounded(cap)
            }
            fn send(s: &Self::S, v: u64) {
                s.send(v).unwrap()
            }
            fn recv(r: &Self::R) -> u64 {
                r.recv().unwrap()
            }
        }
    };
}

chan_adapter!(
    Lockgate,
    lockgate::channel::Sender<u64>,
    lockgate::channel::Receiver<u64>,
    lockgate::channel::bounded
);
chan_adapter!(
    Crossbeam,
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
    crossbeam_channel::bounded
);
chan_adapter!(
    Flume,
    flume::Sender<u64>,
    flume::Receiver<u64>,
    flume::bounded
);
chan_adapter!(
    Kanal,
    kanal::Sender<u64>,
    kanal::Receiver<u64>,
    kanal::bounded
);

/// Unbounded channels: `make` ignores the capacity.
macro_rules! unbounded_adapter {
    ($name:ident, $sender:ty, $receiver:ty, $unbounded:path) => {
        #[doc = concat!("`", stringify!($unbounded), "()`.")]
        pub struct $name;
        impl Chan for $name {
            type S = $sender;
            type R = $receiver;
            fn make(_cap: usize) -> (Self::S, Self::R) {
                $unbounded()
            }
            fn send(s: &Self::S, v: u64) {
                s.send(v).unwrap()
            }
            fn recv(r: &Self::R) -> u64 {
                r.recv().unwrap()
            }
        }
    };
}

unbounded_adapter!(
    LockgateUnbounded,
    lockgate::channel::Sender<u64>,
    lockgate::channel::Receiver<u64>,
    lockgate::channel::unbounded
);
unbounded_adapter!(
    CrossbeamUnbounded,
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
    crossbeam_channel::unbounded
);
unbounded_adapter!(
    FlumeUnbounded,
    flume::Sender<u64>,
    flume::Receiver<u64>,
    flume::unbounded
);

/// lockgate's channel through `send_ctx`/`recv_ctx` with a cancellable context that is never
/// cancelled: what bounding every call by a context costs.
pub struct LockgateCtx;

impl Chan for LockgateCtx {
    type S = (lockgate::channel::Sender<u64>, lockgate::context::Context);
    type R = (lockgate::channel::Receiver<u64>, lockgate::context::Context);
    fn make(cap: usize) -> (Self::S, Self::R) {
        let (tx, rx) = lockgate::channel::bounded(cap);
        let (ctx, cancel) = lockgate::context::Context::background().with_cancel();
        std::mem::forget(cancel); // cancellable, never cancelled
        ((tx, ctx.clone()), (rx, ctx))
    }
    fn send(s: &Self::S, v: u64) {
        s.0.send_ctx(v, &s.1).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        r.0.recv_ctx(&r.1).unwrap()
    }
}

/// std's `sync_channel`; its receiver cannot be shared, so it runs with one consumer only.
pub struct StdSync;
impl Chan for StdSync {
    type S = std::sync::mpsc::SyncSender<u64>;
    type R = std::sync::Mutex<std::sync::mpsc::Receiver<u64>>;
    const MPMC: bool = false;
    fn make(cap: usize) -> (Self::S, Self::R) {
        let (s, r) = std::sync::mpsc::sync_channel(cap);
        (s, std::sync::Mutex::new(r))
    }
    fn send(s: &Self::S, v: u64) {
        s.send(v).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        // One consumer only (see `MPMC`), so this lock is never contended.
        r.lock().unwrap().recv().unwrap()
    }
}

/// Moves `items` values from `p` producers to `c` consumers and checks their sum.
pub fn chan_transfer<C: Chan>(cap: usize, p: usize, c: usize, items: u64) -> Duration {
    let (s, r) = C::make(cap);
    let sum = AtomicU64::new(0);
    let d = timed_threads(p + c, |i| {
        if i < p {
            let s = s.clone();
            for v in 0..share(items, p, i) {
                C::send(&s, v);
            }
        } else {
            let mut local = 0u64;
            for _ in 0..share(items, c, i - p) {
                local = local.wrapping_add(C::recv(&r));
            }
            sum.fetch_add(local, Ordering::Relaxed);
        }
    });
    check_sum(sum.into_inner(), items, p);
    d
}
