//! lockgate's ObjectPool against a Mutex<Vec> pool, a crossbeam ArrayQueue pool,
//! lockfree-object-pool and plain Box allocation of the same 256-byte object: get/put pairs
//! on 1 thread, one per core, and oversubscribed, pinned.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::pool::{
    pool_pairs, pool_shapes, ArrayQueuePool, BoxAlloc, Linear, MutexVec, Obj, Pool,
};

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn run<P: Pool>(g: &mut Group<'_>, name: &str, threads: usize) {
    g.bench_function(BenchmarkId::from_parameter(name), |b| {
        b.iter_custom(|iters| pool_pairs::<P>(threads, iters))
    });
}

fn bench(c: &mut Criterion) {
    for t in pool_shapes() {
        let mut g = c.benchmark_group(format!("pool/{t}t"));
        g.throughput(Throughput::Elements(1));
        run::<lockgate::pool::ObjectPool<Box<Obj>>>(&mut g, "lockgate", t);
        run::<MutexVec>(&mut g, "Mutex<Vec>", t);
        run::<ArrayQueuePool>(&mut g, "ArrayQueue", t);
        run::<Linear>(&mut g, "lockfree-object-pool", t);
        run::<BoxAlloc>(&mut g, "Box alloc", t);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
