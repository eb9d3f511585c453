//! lockgate's Promise against crossbeam-channel `bounded(1)` and the `oneshot` crate
//! (stream, ping-pong and local shapes), and `lockgate::spawn(..).get()` against
//! `std::thread::spawn(..).join()`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::handoff::{
    local, pingpong, spawn_get, stream, CrossbeamOne, LockgatePromise, LockgateSpawn,
    LockgateSpawnNested, OneshotCrate, ThreadSpawn, ThreadSpawnNested,
};

fn bench(c: &mut Criterion) {
    type Shape = fn(u64) -> std::time::Duration;
    let shapes: [(&str, [Shape; 3]); 3] = [
        (
            "stream",
            [
                stream::<LockgatePromise>,
                stream::<CrossbeamOne>,
                stream::<OneshotCrate>,
            ],
        ),
        (
            "pingpong",
            [
                pingpong::<LockgatePromise>,
                pingpong::<CrossbeamOne>,
                pingpong::<OneshotCrate>,
            ],
        ),
        (
            "local",
            [
                local::<LockgatePromise>,
                local::<CrossbeamOne>,
                local::<OneshotCrate>,
            ],
        ),
    ];
    for (shape, fs) in shapes {
        let mut g = c.benchmark_group(format!("promise/{shape}"));
        g.throughput(Throughput::Elements(1));
        for (name, f) in ["lockgate", "crossbeam bounded(1)", "oneshot"]
            .iter()
            .zip(fs)
        {
            g.bench_function(BenchmarkId::from_parameter(name), |b| b.iter_custom(f));
        }
        g.finish();
    }
    let mut g = c.benchmark_group("promise/spawn_get");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::from_parameter("lockgate::spawn"), |b| {
        b.iter_custom(spawn_get::<LockgateSpawn>)
    });
    g.bench_function(BenchmarkId::from_parameter("std::thread::spawn"), |b| {
        b.iter_custom(spawn_get::<ThreadSpawn>)
    });
    g.finish();
    // A job that spawns a child and waits for it, against a thread that spawns and joins one.
    let mut g = c.benchmark_group("promise/spawn_get_nested");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::from_parameter("lockgate::spawn"), |b| {
        b.iter_custom(spawn_get::<LockgateSpawnNested>)
    });
    g.bench_function(BenchmarkId::from_parameter("std::thread::spawn"), |b| {
        b.iter_custom(spawn_get::<ThreadSpawnNested>)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}
criterion_main!(benches);
