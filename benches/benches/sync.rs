//! lockgate's semaphore and cyclic barrier against their peers, pinned threads.
//!
//! Semaphore: acquire+release pairs, uncontended and with threads contending for half as many
//! permits (one per core, then oversubscribed), against async-lock, tokio (under `block_on`)
//! and a Mutex+Condvar semaphore. Barrier: rounds of a barrier for every thread, against
//! `std::sync::Barrier` and a naive central spinning barrier.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::sync_prims::{
    barrier_rounds, barrier_shapes, sem_pairs, sem_shapes, Bar, CondvarSem, LockgateFair,
    NaiveSpin, Sem,
};

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn sem<S: Sem>(g: &mut Group<'_>, name: &str, threads: usize, permits: usize) {
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| sem_pairs::<S>(threads, permits, iters))
    });
}

fn bar<B: Bar>(g: &mut Group<'_>, name: &str, threads: usize) {
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| barrier_rounds::<B>(threads, iters))
    });
}

fn bench(c: &mut Criterion) {
    for (t, p) in sem_shapes() {
        let mut g = c.benchmark_group(format!("semaphore/{t}t{p}p"));
        g.throughput(Throughput::Elements(1));
        sem::<lockgate::semaphore::Semaphore>(&mut g, "lockgate", t, p);
        sem::<LockgateFair>(&mut g, "lockgate fair", t, p);
        sem::<async_lock::Semaphore>(&mut g, "async-lock", t, p);
        sem::<tokio::sync::Semaphore>(&mut g, "tokio", t, p);
        sem::<CondvarSem>(&mut g, "Mutex+Condvar", t, p);
        g.finish();
    }
    let cores = lockgate_benches::cores().len().max(1);
    for t in barrier_shapes() {
        let mut g = c.benchmark_group(format!("barrier/{t}t"));
        g.throughput(Throughput::Elements(1));
        bar::<lockgate::barrier::CyclicBarrier>(&mut g, "lockgate", t);
        bar::<std::sync::Barrier>(&mut g, "std Barrier", t);
        if t <= 2 * cores {
            // Oversubscribed further, it takes milliseconds a round: shown at 2x only.
            bar::<NaiveSpin>(&mut g, "naive spin", t);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
