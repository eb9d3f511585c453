//! RingQueue and ScqQueue against crossbeam-queue's ArrayQueue: MPMC transfer of u64 values, pinned
//! threads, capacity 1024 and 1, both queues waiting with the same spin-then-yield retry.
//! Throughput is items moved from producers to consumers per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use lockgate::queue::{RingQueue, ScqQueue};
use lockgate_benches::{retry, shapes, share, timed_threads};

/// The two operations every queue under test offers.
trait Queue: Sync {
    fn with_capacity(cap: usize) -> Self;
    fn push(&self, v: u64) -> Result<(), u64>;
    fn pop(&self) -> Option<u64>;
}

impl Queue for RingQueue<u64> {
    fn with_capacity(cap: usize) -> Self {
        RingQueue::new(cap)
    }
    fn push(&self, v: u64) -> Result<(), u64> {
        RingQueue::push(self, v)
    }
    fn pop(&self) -> Option<u64> {
        RingQueue::pop(self)
    }
}

impl Queue for ScqQueue<u64> {
    fn with_capacity(cap: usize) -> Self {
        ScqQueue::new(cap)
    }
    fn push(&self, v: u64) -> Result<(), u64> {
        ScqQueue::push(self, v)
    }
    fn pop(&self) -> Option<u64> {
        ScqQueue::pop(self)
    }
}

impl Queue for ArrayQueue<u64> {
    fn with_capacity(cap: usize) -> Self {
        ArrayQueue::new(cap)
    }
    fn push(&self, v: u64) -> Result<(), u64> {
        ArrayQueue::push(self, v)
    }
    fn pop(&self) -> Option<u64> {
        ArrayQueue::pop(self)
    }
}

/// Moves `items` values from `p` producers to `c` consumers; checks the sum so nothing is
/// optimized away or lost.
fn transfer<Q: Queue>(cap: usize, p: usize, c: usize, items: u64) -> std::time::Duration {
    let q = Q::with_capacity(cap);
    let sum = std::sync::atomic::AtomicU64::new(0);
    let d = timed_threads(p + c, |i| {
        if i < p {
            for v in 0..share(items, p, i) {
                let mut v = Some(v);
                retry(|| match q.push(v.take().unwrap()) {
                    Ok(()) => Some(()),
                    Err(back) => {
                        v = Some(back);
                        None
                    }
                });
            }
        } else {
            let mut local = 0u64;
            for _ in 0..share(items, c, i - p) {
                local = local.wrapping_add(retry(|| q.pop()));
            }
            sum.fetch_add(local, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let expect: u64 = (0..p)
        .map(|i| share(items, p, i))
        .map(|n| n * n.saturating_sub(1) / 2)
        .sum();
    assert_eq!(sum.into_inner(), expect);
    d
}

/// 1p1c where the consumer drains in batches of up to 64: `pop_into` claims a ready batch with
/// one CAS; `ArrayQueue` has no batch form, so its consumer pops one at a time.
fn batch_drain(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue/cap1024/1p1c batch-drain");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        BenchmarkId::from_parameter("lockgate RingQueue pop_into"),
        |b| {
            b.iter_custom(|items| {
                let q = RingQueue::<u64>::new(1024);
                timed_threads(2, |i| {
                    if i == 0 {
                        for v in 0..items {
                            let mut v = Some(v);
                            retry(|| match q.push(v.take().unwrap()) {
                                Ok(()) => Some(()),
                                Err(back) => {
                                    v = Some(back);
                                    None
                                }
                            });
                        }
                    } else {
                        let mut buf = Vec::with_capacity(64);
                        let mut got = 0u64;
                        while got < items {
                            buf.clear();
                            let n = retry(|| match q.pop_into(&mut buf, 64) {
                                0 => None,
                                n => Some(n),
                            });
                            got += n as u64;
                            criterion::black_box(&buf);
                        }
                    }
                })
            })
        },
    );
    g.bench_function(BenchmarkId::from_parameter("crossbeam ArrayQueue"), |b| {
        b.iter_custom(|items| transfer::<ArrayQueue<u64>>(1024, 1, 1, items))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    for cap in [1024, 1] {
        for (p, n) in shapes() {
            let mut g = c.benchmark_group(format!("queue/cap{cap}/{p}p{n}c"));
            g.throughput(Throughput::Elements(1));
            g.bench_function(BenchmarkId::from_parameter("lockgate RingQueue"), |b| {
                b.iter_custom(|iters| transfer::<RingQueue<u64>>(cap, p, n, iters))
            });
            g.bench_function(BenchmarkId::from_parameter("lockgate ScqQueue"), |b| {
                b.iter_custom(|iters| transfer::<ScqQueue<u64>>(cap, p, n, iters))
            });
            g.bench_function(BenchmarkId::from_parameter("crossbeam ArrayQueue"), |b| {
                b.iter_custom(|iters| transfer::<ArrayQueue<u64>>(cap, p, n, iters))
            });
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench, batch_drain
}
criterion_main!(benches);
