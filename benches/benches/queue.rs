//! RingQueue and ScqQueue against crossbeam-queue's ArrayQueue: MPMC transfer of u64 values, pinned
//! threads, capacity 1024 and 1, both queues waiting with the same spin-then-yield retry.
//! Throughput is items moved from producers to consumers per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use lockgate::queue::{RingQueue, ScqQueue};
use lockgate_benches::{
    push_retry, queue_transfer as transfer, retry, shapes, timed_threads, RingWait,
};

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
                            push_retry(&q, v);
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
            g.bench_function(
                BenchmarkId::from_parameter("lockgate RingQueue push_wait/pop_wait"),
                |b| b.iter_custom(|iters| transfer::<RingWait>(cap, p, n, iters)),
            );
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
