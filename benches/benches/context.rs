//! lockgate's Context against tokio-util's CancellationToken: child create/check/drop with a
//! cancel every 64 children, on 1 thread and one per core.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::cancel::tree_ops;

fn bench(c: &mut Criterion) {
    for t in [1, lockgate_benches::cores().len().max(1)] {
        let mut g = c.benchmark_group(format!("context/{t}t"));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::from_parameter("lockgate"), |b| {
            b.iter_custom(|n| tree_ops::<lockgate::context::Context>(t, n))
        });
        g.bench_function(
            BenchmarkId::from_parameter("tokio-util CancellationToken"),
            |b| b.iter_custom(|n| tree_ops::<tokio_util::sync::CancellationToken>(t, n)),
        );
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
