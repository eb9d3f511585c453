//! lockgate's bounded channel against crossbeam-channel, flume, kanal and std's sync_channel:
//! MPMC transfer of u64 values with blocking send and recv, pinned threads, capacity 1024 and
//! 1. std's receiver cannot be shared, so std runs only where there is one consumer.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lockgate_benches::{shapes, share, timed_threads};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A channel under test: blocking send and recv on cloneable handles.
trait Chan {
    type S: Send + Sync + Clone;
    type R: Send + Sync;
    const MPMC: bool = true;
    fn make(cap: usize) -> (Self::S, Self::R);
    fn send(s: &Self::S, v: u64);
    fn recv(r: &Self::R) -> u64;
}

struct Lockgate;
impl Chan for Lockgate {
    type S = lockgate::channel::Sender<u64>;
    type R = lockgate::channel::Receiver<u64>;
    fn make(cap: usize) -> (Self::S, Self::R) {
        lockgate::channel::bounded(cap)
    }
    fn send(s: &Self::S, v: u64) {
        s.send(v).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        r.recv().unwrap()
    }
}

struct Crossbeam;
impl Chan for Crossbeam {
    type S = crossbeam_channel::Sender<u64>;
    type R = crossbeam_channel::Receiver<u64>;
    fn make(cap: usize) -> (Self::S, Self::R) {
        crossbeam_channel::bounded(cap)
    }
    fn send(s: &Self::S, v: u64) {
        s.send(v).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        r.recv().unwrap()
    }
}

struct Flume;
impl Chan for Flume {
    type S = flume::Sender<u64>;
    type R = flume::Receiver<u64>;
    fn make(cap: usize) -> (Self::S, Self::R) {
        flume::bounded(cap)
    }
    fn send(s: &Self::S, v: u64) {
        s.send(v).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        r.recv().unwrap()
    }
}

struct Kanal;
impl Chan for Kanal {
    type S = kanal::Sender<u64>;
    type R = kanal::Receiver<u64>;
    fn make(cap: usize) -> (Self::S, Self::R) {
        kanal::bounded(cap)
    }
    fn send(s: &Self::S, v: u64) {
        s.send(v).unwrap()
    }
    fn recv(r: &Self::R) -> u64 {
        r.recv().unwrap()
    }
}

struct StdSync;
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
fn transfer<C: Chan>(cap: usize, p: usize, c: usize, items: u64) -> Duration {
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
    let expect: u64 = (0..p)
        .map(|i| share(items, p, i))
        .map(|n| n * n.saturating_sub(1) / 2)
        .sum();
    assert_eq!(sum.into_inner(), expect);
    d
}

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
        for (p, n) in shapes() {
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
