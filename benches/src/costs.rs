//! Shapes for the counting build (`--cfg lockgate_count`): each runs one lockgate structure
//! with `k` logical threads a side on plain (unpinned) threads, checks that every item
//! arrived, and returns how many units it moved, so the counts can be read per item (per
//! round for the barrier, per job for the pool). Only lockgate and std: the budgets test
//! (`tests/budgets.rs` of the lockgate crate) includes this file as it is.

use std::sync::atomic::{AtomicU64, Ordering};

use lockgate::barrier::CyclicBarrier;
use lockgate::channel::{bounded, unbounded};
use lockgate::pool::ObjectPool;
use lockgate::pubsub::{Overflow, PubSub};
use lockgate::queue::{RingQueue, ScqQueue};
use lockgate::semaphore::Semaphore;
use lockgate::workers::WorkerPool;

/// One measured shape: what runs, and how to run it with `k` and a unit count.
pub struct Shape {
    /// The structure (a row group of the report).
    pub structure: &'static str,
    /// What the counts are divided by.
    pub unit: &'static str,
    /// The shape's name for `k` (e.g. `4p4c`).
    pub name: fn(usize) -> String,
    /// Runs it; returns the units moved.
    pub run: fn(usize, u64) -> u64,
}

fn pc(k: usize) -> String {
    format!("{k}p{k}c")
}

fn threads(k: usize) -> String {
    format!("{k}t")
}

fn subs(k: usize) -> String {
    format!("1to{k}")
}

/// Producer `i` of `parts` sends `share(total, parts, i)` items.
fn share(total: u64, parts: usize, i: usize) -> u64 {
    total / parts as u64 + u64::from((i as u64) < total % parts as u64)
}

/// `k` producers and `k` consumers over a push/pop pair that may refuse (full or empty):
/// the harness retries with a yield; every value is summed and checked.
fn transfer(
    k: usize,
    items: u64,
    push: &(dyn Fn(u64) -> bool + Sync),
    pop: &(dyn Fn() -> Option<u64> + Sync),
) -> u64 {
    let sum = AtomicU64::new(0);
    std::thread::scope(|s| {
        for i in 0..k {
            s.spawn(move || {
                for v in 0..share(items, k, i) {
                    while !push(v) {
                        std::thread::yield_now();
                    }
                }
            });
            let sum = &sum;
            s.spawn(move || {
                let mut local = 0;
                for _ in 0..share(items, k, i) {
                    loop {
                        if let Some(v) = pop() {
                            local += v;
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
                sum.fetch_add(local, Ordering::Relaxed);
            });
        }
    });
    let want: u64 = (0..k).map(|i| (0..share(items, k, i)).sum::<u64>()).sum();
    assert_eq!(sum.into_inner(), want, "a value was lost or duplicated");
    items
}

fn ring(k: usize, items: u64) -> u64 {
    let q = RingQueue::new(1024);
    transfer(k, items, &|v| q.push(v).is_ok(), &|| q.pop())
}

/// The ring's blocking forms: a `fetch_add` ticket per item and a turn wait.
fn ring_wait(k: usize, items: u64) -> u64 {
    let q = RingQueue::new(1024);
    transfer(
        k,
        items,
        &|v| {
            q.push_wait(v);
            true
        },
        &|| Some(q.pop_wait()),
    )
}

fn scq(k: usize, items: u64) -> u64 {
    let q = ScqQueue::new(1024);
    transfer(k, items, &|v| q.push(v).is_ok(), &|| q.pop())
}

/// Blocking channels: `k` senders, `k` receivers, every value summed.
fn channel(k: usize, items: u64, cap: Option<usize>) -> u64 {
    let (tx, rx) = match cap {
        Some(c) => bounded(c),
        None => unbounded(),
    };
    let sum = AtomicU64::new(0);
    std::thread::scope(|s| {
        for i in 0..k {
            let tx = tx.clone();
            s.spawn(move || {
                for v in 0..share(items, k, i) {
                    tx.send(v).unwrap();
                }
            });
            let (rx, sum) = (rx.clone(), &sum);
            s.spawn(move || {
                let local: u64 = (0..share(items, k, i)).map(|_| rx.recv().unwrap()).sum();
                sum.fetch_add(local, Ordering::Relaxed);
            });
        }
    });
    let want: u64 = (0..k).map(|i| (0..share(items, k, i)).sum::<u64>()).sum();
    assert_eq!(sum.into_inner(), want, "a value was lost or duplicated");
    items
}

fn chan1024(k: usize, items: u64) -> u64 {
    channel(k, items, Some(1024))
}

fn chan1(k: usize, items: u64) -> u64 {
    channel(k, items, Some(1))
}

fn chan_unbounded(k: usize, items: u64) -> u64 {
    channel(k, items, None)
}

/// `k` producers on two channels (cap 128), one consumer selecting over both.
fn select(k: usize, items: u64) -> u64 {
    let chans = [bounded::<u64>(128), bounded::<u64>(128)];
    let mut got = 0;
    std::thread::scope(|s| {
        for i in 0..k {
            let tx = chans[i % 2].0.clone();
            s.spawn(move || {
                for v in 0..share(items, k, i) {
                    tx.send(v).unwrap();
                }
            });
        }
        let (a, b) = (&chans[0].1, &chans[1].1);
        for _ in 0..items {
            let v = lockgate::select! {
                recv(a) -> v => v,
                recv(b) -> v => v,
            };
            got += v.unwrap();
        }
    });
    let want: u64 = (0..k).map(|i| (0..share(items, k, i)).sum::<u64>()).sum();
    assert_eq!(got, want, "select lost or duplicated values");
    items
}

/// `k` threads taking and returning one permit of `max(k / 2, 1)`.
fn semaphore(k: usize, items: u64) -> u64 {
    let sem = Semaphore::new((k / 2).max(1));
    std::thread::scope(|s| {
        for i in 0..k {
            let sem = &sem;
            s.spawn(move || {
                for _ in 0..share(items, k, i) {
                    drop(sem.acquire().unwrap());
                }
            });
        }
    });
    items
}

/// `k` threads, `rounds` rounds of a cyclic barrier.
fn barrier(k: usize, rounds: u64) -> u64 {
    let b = CyclicBarrier::new(k);
    let leaders = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..k {
            let (b, leaders) = (&b, &leaders);
            s.spawn(move || {
                for _ in 0..rounds {
                    if b.wait().unwrap().is_leader() {
                        leaders.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(leaders.into_inner(), rounds, "one leader per round");
    rounds
}

/// One publisher, `k` subscribers (rings of 1024, back-pressure): units are messages
/// published (each delivered `k` times).
fn pubsub(k: usize, items: u64) -> u64 {
    let hub: PubSub<u8, u64> = PubSub::with_overflow(1024, Overflow::Block);
    let rx: Vec<_> = (0..k).map(|_| hub.subscribe(0u8).unwrap()).collect();
    let sum = AtomicU64::new(0);
    std::thread::scope(|s| {
        for r in &rx {
            let sum = &sum;
            s.spawn(move || {
                let local: u64 = (0..items).map(|_| r.recv().unwrap()).sum();
                sum.fetch_add(local, Ordering::Relaxed);
            });
        }
        for v in 0..items {
            hub.publish(&0, v).unwrap();
        }
    });
    assert_eq!(sum.into_inner(), (0..items).sum::<u64>() * k as u64);
    items
}

/// `k` threads, each taking an object and giving it back.
fn pool(k: usize, items: u64) -> u64 {
    let p = ObjectPool::new(|| Box::new([0u8; 64]), 2 * k);
    std::thread::scope(|s| {
        for i in 0..k {
            let p = &p;
            s.spawn(move || {
                for _ in 0..share(items, k, i) {
                    let mut o = p.get();
                    o[0] = o[0].wrapping_add(1);
                }
            });
        }
    });
    items
}

/// `k` workers, one submitter, tiny jobs; units are jobs.
fn workers(k: usize, jobs: u64) -> u64 {
    let pool = WorkerPool::builder()
        .workers(k)
        .queue_capacity(1024)
        .build();
    let done = std::sync::Arc::new(AtomicU64::new(0));
    for _ in 0..jobs {
        let d = done.clone();
        pool.execute(move || {
            d.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    }
    pool.shutdown();
    assert_eq!(done.load(Ordering::Relaxed), jobs, "every job ran once");
    jobs
}

/// Every structure of the report.
#[rustfmt::skip]
pub fn shapes() -> Vec<Shape> {
    vec![
        Shape { structure: "RingQueue cap1024", unit: "item", name: pc, run: ring },
        Shape { structure: "RingQueue wait cap1024", unit: "item", name: pc, run: ring_wait },
        Shape { structure: "ScqQueue cap1024", unit: "item", name: pc, run: scq },
        Shape { structure: "channel cap1024", unit: "item", name: pc, run: chan1024 },
        Shape { structure: "channel cap1", unit: "item", name: pc, run: chan1 },
        Shape { structure: "unbounded", unit: "item", name: pc, run: chan_unbounded },
        Shape { structure: "select 2ch", unit: "item", name: |k| format!("{k}p1c"), run: select },
        Shape { structure: "semaphore", unit: "acquire", name: threads, run: semaphore },
        Shape { structure: "barrier", unit: "round", name: threads, run: barrier },
        Shape { structure: "pubsub", unit: "message", name: subs, run: pubsub },
        Shape { structure: "object pool", unit: "get+put", name: threads, run: pool },
        Shape { structure: "WorkerPool", unit: "job", name: |k| format!("{k}w"), run: workers },
    ]
}
