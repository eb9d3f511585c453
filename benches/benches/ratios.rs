//! Interleaved ratio runner: lockgate against its peers, round-robin, for ratios that hold up
//! on a noisy machine.
//!
//! Criterion measures one implementation for seconds, then the next, so a burst of noise (a
//! neighbour on a shared host, a frequency change) lands on one of them and skews the ratio.
//! This runner instead does `LOCKGATE_ROUNDS` rounds (default 7); in each round every
//! implementation moves the same number of items once, in turn. It reports each
//! implementation's median throughput and the median of the per-round ratios, with their
//! range, as a markdown table. Same shapes, pinning and timing as the criterion benches.
//!
//! `cargo bench -p lockgate-benches --bench ratios` (`LOCKGATE_FILTER=channel/cap1024` for a
//! subset, `LOCKGATE_ITEMS` for the items per transfer, default 2,000,000; semaphores run the
//! same number of acquire+release pairs, barriers a fiftieth as many rounds, a thousandth when
//! oversubscribed).

use lockgate_benches::broadcast::{bus_fanout, fanout_shapes, lockgate_fanout, tokio_fanout, Blob};
use lockgate_benches::cancel::{tree_ops, Tree};
use lockgate_benches::handoff::{
    local, pingpong, spawn_get, stream, CrossbeamOne, LockgatePromise, LockgateSpawn,
    LockgateSpawnNested, OneshotCrate, ThreadSpawn, ThreadSpawnNested,
};
use lockgate_benches::jobs::{
    CrossbeamPipeline, Jobs, LockgatePipeline, LockgatePool, RayonSpawn, Stages, ThreadPoolCrate,
};
use lockgate_benches::pool::{
    pool_pairs, pool_shapes, ArrayQueuePool, BoxAlloc, Linear, MutexVec, Obj, Pool,
};
use lockgate_benches::select::{crossbeam_fanin, lockgate_fanin};
use lockgate_benches::sync_prims::{
    barrier_rounds, barrier_shapes, sem_pairs, sem_shapes, Bar, CondvarSem, LockgateFair,
    NaiveSpin, Sem,
};
use lockgate_benches::{
    chan_transfer, oversubscribed, queue_transfer, shapes, Chan, Crossbeam, CrossbeamUnbounded,
    Flume, FlumeUnbounded, Kanal, Lockgate, LockgateCtx, LockgateUnbounded, Queue, RingWait,
    StdSync,
};
use std::time::Duration;

fn queue<Q: Queue + 'static>(cap: usize, p: usize, c: usize) -> Op {
    Box::new(move |n| queue_transfer::<Q>(cap, p, c, n))
}

fn chan<C: Chan + 'static>(cap: usize, p: usize, c: usize) -> Op {
    Box::new(move |n| chan_transfer::<C>(cap, p, c, n))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One implementation's timed run of `n` operations.
type Op = Box<dyn Fn(u64) -> Duration>;

/// Runs every implementation `rounds` times round-robin on `n` operations and prints one row
/// each: median Mops/s and, for the peers, the median (range) of lockgate's per-round ratio.
/// The first implementation is lockgate's.
fn compare(group: &str, impls: Vec<(&str, Op)>, n: u64, rounds: usize) {
    let mut rates = vec![Vec::new(); impls.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in impls.iter().enumerate() {
            let d = run(n);
            rates[i].push(n as f64 / d.as_secs_f64() / 1e6);
        }
    }
    let ours = rates[0].clone();
    for (i, (name, _)) in impls.iter().enumerate() {
        let med = median(&mut rates[i].clone());
        if i == 0 {
            println!("| {group} | {name} | {med:.3} | |");
            continue;
        }
        let mut ratios: Vec<f64> = ours.iter().zip(&rates[i]).map(|(a, b)| a / b).collect();
        let lo = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().cloned().fold(0.0, f64::max);
        let m = median(&mut ratios);
        println!("| {group} | {name} | {med:.3} | {m:.2}x ({lo:.2}-{hi:.2}) |");
    }
}

fn sem<S: Sem + 'static>(t: usize, p: usize) -> Op {
    Box::new(move |n| sem_pairs::<S>(t, p, n))
}

fn pool<P: Pool + 'static>(t: usize) -> Op {
    Box::new(move |n| pool_pairs::<P>(t, n))
}

fn fan(f: fn(usize, u64) -> Duration, subs: usize) -> Op {
    Box::new(move |n| f(subs, n))
}

fn tree<T: Tree>(t: usize) -> Op {
    Box::new(move |n| tree_ops::<T>(t, n))
}

fn bar<B: Bar + 'static>(t: usize) -> Op {
    Box::new(move |n| barrier_rounds::<B>(t, n))
}

fn main() {
    // Command-line arguments belong to criterion (`cargo bench` passes them to every bench);
    // `LOCKGATE_FILTER` picks groups by substring.
    let filter: Option<String> = std::env::var("LOCKGATE_FILTER").ok();
    let rounds = env("LOCKGATE_ROUNDS", 7) as usize;
    let items = env("LOCKGATE_ITEMS", 2_000_000);
    let wanted = |group: &str| filter.as_ref().is_none_or(|f| group.contains(f.as_str()));
    println!("| group | implementation | Mops/s (median of {rounds}) | lockgate ÷ peer, median (range) |");
    println!("|---|---|---:|---:|");
    for cap in [1024usize, 1] {
        // Capacity 1 moves every item through a hand-off: fewer items keep rounds short.
        let n = if cap == 1 { items / 10 } else { items };
        for (p, c) in shapes() {
            let group = format!("queue/cap{cap}/{p}p{c}c");
            if wanted(&group) {
                let impls: Vec<(&str, Op)> = vec![
                    (
                        "lockgate RingQueue",
                        queue::<lockgate::queue::RingQueue<u64>>(cap, p, c),
                    ),
                    (
                        "lockgate ScqQueue",
                        queue::<lockgate::queue::ScqQueue<u64>>(cap, p, c),
                    ),
                    (
                        "crossbeam ArrayQueue",
                        queue::<crossbeam_queue::ArrayQueue<u64>>(cap, p, c),
                    ),
                ];
                compare(&group, impls, n, rounds);
            }
        }
    }
    for cap in [1024usize, 1] {
        // Blocking forms: the ring's fetch_add tickets against ArrayQueue and the ring's own
        // try forms, both waiting with the harness's spin-then-yield retry.
        let n = if cap == 1 { items / 10 } else { items };
        for (p, c) in shapes() {
            let group = format!("queue-wait/cap{cap}/{p}p{c}c");
            if wanted(&group) {
                let impls: Vec<(&str, Op)> = vec![
                    (
                        "lockgate RingQueue push_wait/pop_wait",
                        queue::<RingWait>(cap, p, c),
                    ),
                    (
                        "crossbeam ArrayQueue, spinning retry",
                        queue::<crossbeam_queue::ArrayQueue<u64>>(cap, p, c),
                    ),
                    (
                        "lockgate RingQueue push/pop, spinning retry",
                        queue::<lockgate::queue::RingQueue<u64>>(cap, p, c),
                    ),
                ];
                compare(&group, impls, n, rounds);
            }
        }
    }
    for cap in [1024usize, 1] {
        let n = if cap == 1 { items / 10 } else { items };
        let (op, oc) = oversubscribed();
        for (p, c) in shapes().into_iter().chain([(op, oc)]) {
            let group = format!("channel/cap{cap}/{p}p{c}c");
            if wanted(&group) {
                let mut impls: Vec<(&str, Op)> = vec![
                    ("lockgate", chan::<Lockgate>(cap, p, c)),
                    ("crossbeam-channel", chan::<Crossbeam>(cap, p, c)),
                    ("flume", chan::<Flume>(cap, p, c)),
                    ("kanal", chan::<Kanal>(cap, p, c)),
                ];
                if c == 1 {
                    impls.push(("std sync_channel", chan::<StdSync>(cap, p, c)));
                }
                compare(&group, impls, n, rounds);
            }
        }
    }
    for (p, c) in shapes() {
        let group = format!("unbounded/{p}p{c}c");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate unbounded", chan::<LockgateUnbounded>(0, p, c)),
                ("crossbeam unbounded", chan::<CrossbeamUnbounded>(0, p, c)),
                ("flume unbounded", chan::<FlumeUnbounded>(0, p, c)),
            ];
            compare(&group, impls, items, rounds);
        }
    }
    for k in [2usize, 4] {
        let group = format!("select/{k}ch");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate select!", Box::new(move |n| lockgate_fanin(k, n))),
                (
                    "crossbeam select!",
                    Box::new(move |n| crossbeam_fanin(k, n)),
                ),
            ];
            compare(&group, impls, items / 4, rounds);
        }
    }
    for cap in [1024usize, 1] {
        let n = if cap == 1 { items / 10 } else { items };
        let group = format!("ctx/channel/cap{cap}/1p1c");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate send_ctx/recv_ctx", chan::<LockgateCtx>(cap, 1, 1)),
                ("lockgate send/recv", chan::<Lockgate>(cap, 1, 1)),
                ("crossbeam-channel", chan::<Crossbeam>(cap, 1, 1)),
            ];
            compare(&group, impls, n, rounds);
        }
    }
    for (t, p) in sem_shapes() {
        let group = format!("semaphore/{t}t{p}p");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate", sem::<lockgate::semaphore::Semaphore>(t, p)),
                ("lockgate fair", sem::<LockgateFair>(t, p)),
                ("async-lock", sem::<async_lock::Semaphore>(t, p)),
                ("tokio", sem::<tokio::sync::Semaphore>(t, p)),
                ("Mutex+Condvar", sem::<CondvarSem>(t, p)),
            ];
            compare(&group, impls, items, rounds);
        }
    }
    let cores = lockgate_benches::cores().len().max(1);
    for t in barrier_shapes() {
        let group = format!("barrier/{t}t");
        if wanted(&group) {
            let mut impls: Vec<(&str, Op)> = vec![
                ("lockgate", bar::<lockgate::barrier::CyclicBarrier>(t)),
                ("std Barrier", bar::<std::sync::Barrier>(t)),
            ];
            if t <= 2 * cores {
                impls.push(("naive spin", bar::<NaiveSpin>(t)));
            }
            // Oversubscribed, the naive barrier takes milliseconds a round: fewer rounds there.
            let n = if t > cores { items / 1000 } else { items / 50 };
            compare(&group, impls, n, rounds);
        }
    }
    for t in pool_shapes() {
        let group = format!("pool/{t}t");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate", pool::<lockgate::pool::ObjectPool<Box<Obj>>>(t)),
                ("Mutex<Vec>", pool::<MutexVec>(t)),
                ("ArrayQueue", pool::<ArrayQueuePool>(t)),
                ("lockfree-object-pool", pool::<Linear>(t)),
                ("Box alloc", pool::<BoxAlloc>(t)),
            ];
            compare(&group, impls, items, rounds);
        }
    }
    for subs in fanout_shapes() {
        for (payload, is_blob) in [("u64", false), ("Arc<[u8; 64]>", true)] {
            let group = format!("pubsub/1to{subs}/{payload}");
            if !wanted(&group) {
                continue;
            }
            let impls: Vec<(&str, Op)> = if is_blob {
                vec![
                    ("lockgate", fan(lockgate_fanout::<Blob>, subs)),
                    ("bus", fan(bus_fanout::<Blob>, subs)),
                    ("tokio broadcast", fan(tokio_fanout::<Blob>, subs)),
                ]
            } else {
                vec![
                    ("lockgate", fan(lockgate_fanout::<u64>, subs)),
                    ("bus", fan(bus_fanout::<u64>, subs)),
                    ("tokio broadcast", fan(tokio_fanout::<u64>, subs)),
                ]
            };
            compare(&group, impls, items / 10, rounds);
        }
    }
    for t in [1, lockgate_benches::cores().len().max(1)] {
        let group = format!("context/{t}t");
        if wanted(&group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate", tree::<lockgate::context::Context>(t)),
                (
                    "tokio-util CancellationToken",
                    tree::<tokio_util::sync::CancellationToken>(t),
                ),
            ];
            compare(&group, impls, items / 10, rounds);
        }
    }
    type Shape = fn(u64) -> Duration;
    let handoffs: [(&str, [Shape; 3], u64); 3] = [
        (
            "promise/stream",
            [
                stream::<LockgatePromise>,
                stream::<CrossbeamOne>,
                stream::<OneshotCrate>,
            ],
            items / 10,
        ),
        (
            "promise/pingpong",
            [
                pingpong::<LockgatePromise>,
                pingpong::<CrossbeamOne>,
                pingpong::<OneshotCrate>,
            ],
            items / 20,
        ),
        (
            "promise/local",
            [
                local::<LockgatePromise>,
                local::<CrossbeamOne>,
                local::<OneshotCrate>,
            ],
            items / 2,
        ),
    ];
    for (group, [ours, cb, os], n) in handoffs {
        if wanted(group) {
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate", Box::new(ours)),
                ("crossbeam bounded(1)", Box::new(cb)),
                ("oneshot", Box::new(os)),
            ];
            compare(group, impls, n, rounds);
        }
    }
    if wanted("promise/spawn_get") {
        let impls: Vec<(&str, Op)> = vec![
            ("lockgate::spawn", Box::new(spawn_get::<LockgateSpawn>)),
            ("std::thread::spawn", Box::new(spawn_get::<ThreadSpawn>)),
        ];
        compare("promise/spawn_get", impls, items / 1000, rounds);
    }
    if wanted("promise/spawn_get_nested") {
        let impls: Vec<(&str, Op)> = vec![
            (
                "lockgate::spawn",
                Box::new(spawn_get::<LockgateSpawnNested>),
            ),
            (
                "std::thread::spawn",
                Box::new(spawn_get::<ThreadSpawnNested>),
            ),
        ];
        compare("promise/spawn_get_nested", impls, items / 2000, rounds);
    }
    // 1, 2 and 16 workers (16 is oversubscribed on a smaller machine), from one submitter
    // and from 16.
    for w in [1usize, 2, 16] {
        for subs in [1usize, 16] {
            let group = format!("workers/{w}w/{subs}s");
            if !wanted(&group) {
                continue;
            }
            let job =
                |f: fn(usize, usize, u64) -> Duration| -> Op { Box::new(move |n| f(w, subs, n)) };
            let impls: Vec<(&str, Op)> = vec![
                ("lockgate WorkerPool", job(LockgatePool::run)),
                ("threadpool", job(ThreadPoolCrate::run)),
                ("rayon spawn", job(RayonSpawn::run)),
            ];
            compare(&group, impls, items / 10, rounds);
        }
    }
    if wanted("pipeline/3stage") {
        let impls: Vec<(&str, Op)> = vec![
            ("lockgate Pipeline", Box::new(LockgatePipeline::run)),
            (
                "crossbeam-channel + threads",
                Box::new(CrossbeamPipeline::run),
            ),
        ];
        compare("pipeline/3stage", impls, items / 2, rounds);
    }
}
