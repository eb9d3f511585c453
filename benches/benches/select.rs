//! `select!` fan-in (k producers, one selecting consumer) against crossbeam-channel's
//! `select!`, and lockgate's unbounded channel against crossbeam's and flume's, in one run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::select::{crossbeam_fanin, lockgate_fanin};
use lockgate_benches::{
    chan_transfer, shapes, Chan, CrossbeamUnbounded, FlumeUnbounded, LockgateUnbounded,
};

fn unbounded<C: Chan>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    p: usize,
    c: usize,
) {
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| chan_transfer::<C>(0, p, c, iters))
    });
}

fn bench(c: &mut Criterion) {
    for k in [2usize, 4] {
        let mut g = c.benchmark_group(format!("select/{k}ch"));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::from_parameter("lockgate select!"), |b| {
            b.iter_custom(|iters| lockgate_fanin(k, iters))
        });
        g.bench_function(BenchmarkId::from_parameter("crossbeam select!"), |b| {
            b.iter_custom(|iters| crossbeam_fanin(k, iters))
        });
        g.finish();
    }
    for (p, n) in shapes() {
        let mut g = c.benchmark_group(format!("unbounded/{p}p{n}c"));
        g.throughput(Throughput::Elements(1));
        unbounded::<LockgateUnbounded>(&mut g, "lockgate", p, n);
        unbounded::<CrossbeamUnbounded>(&mut g, "crossbeam-channel", p, n);
        unbounded::<FlumeUnbounded>(&mut g, "flume", p, n);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
