//! One publisher to 1, 2 and 8 subscribers, lossless, pinned: lockgate's PubSub against the
//! bus crate and tokio's broadcast, with u64 and Arc<[u8; 64]> payloads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::broadcast::{
    bus_fanout, fanout_shapes, lockgate_fanout, tokio_fanout, Blob, Payload,
};

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<P: Payload>(c: &mut Criterion, payload: &str) {
    for subs in fanout_shapes() {
        let mut g: Group<'_> = c.benchmark_group(format!("pubsub/1to{subs}/{payload}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::from_parameter("lockgate"), |b| {
            b.iter_custom(|n| lockgate_fanout::<P>(subs, n))
        });
        g.bench_function(BenchmarkId::from_parameter("bus"), |b| {
            b.iter_custom(|n| bus_fanout::<P>(subs, n))
        });
        g.bench_function(BenchmarkId::from_parameter("tokio broadcast"), |b| {
            b.iter_custom(|n| tokio_fanout::<P>(subs, n))
        });
        g.finish();
    }
}

fn bench(c: &mut Criterion) {
    group::<u64>(c, "u64");
    group::<Blob>(c, "Arc<[u8; 64]>");
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
