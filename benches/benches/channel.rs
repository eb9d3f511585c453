//! lockgate's bounded channel against crossbeam-channel, flume, kanal and std's sync_channel:
//! MPMC transfer of u64 values with blocking send and recv, pinned threads, capacity 1024 and
//! 1, at the usual shapes and oversubscribed (four threads per core). std's receiver cannot
//! be shared, so std runs only where there is one consumer.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::{
    chan_transfer as transfer, oversubscribed, shapes, Chan, Crossbeam, Flume, Kanal, Lockgate,
    StdSync,
};

fn run<C: Chan>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    cap: usize,
    p: usize,
    c: usize,
) {
    if !C::MPMC && c > 1 {
        return;
    }
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| transfer::<C>(cap, p, c, iters))
    });
}

fn bench(c: &mut Criterion) {
    for cap in [1024, 1] {
        for (p, n) in shapes().into_iter().chain([oversubscribed()]) {
            let mut g = c.benchmark_group(format!("channel/cap{cap}/{p}p{n}c"));
            g.throughput(Throughput::Elements(1));
            run::<Lockgate>(&mut g, "lockgate", cap, p, n);
            run::<Crossbeam>(&mut g, "crossbeam-channel", cap, p, n);
            run::<Flume>(&mut g, "flume", cap, p, n);
            run::<Kanal>(&mut g, "kanal", cap, p, n);
            run::<StdSync>(&mut g, "std sync_channel", cap, p, n);
            g.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
