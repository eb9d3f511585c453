//! One publisher to N subscribers, lossless, pinned: lockgate's `PubSub` (`Overflow::Block`),
//! the `bus` crate (blocking broadcast), and tokio's `broadcast` (lossy by design, so its
//! publisher waits while the slowest receiver's backlog is at capacity). Every subscriber
//! receives every message and checks the sum of their ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::timed_threads;

/// A payload: built from a message number, read back as one.
pub trait Payload: Clone + Send + Sync + 'static {
    fn make(i: u64) -> Self;
    fn id(&self) -> u64;
}

impl Payload for u64 {
    fn make(i: u64) -> Self {
        i
    }
    fn id(&self) -> u64 {
        *self
    }
}

/// A 64-byte payload behind an `Arc`: a clone is one reference-count increment.
pub type Blob = Arc<[u8; 64]>;
impl Payload for Blob {
    fn make(i: u64) -> Self {
        let mut b = [0u8; 64];
        b[..8].copy_from_slice(&i.to_le_bytes());
        Arc::new(b)
    }
    fn id(&self) -> u64 {
        u64::from_le_bytes(self[..8].try_into().unwrap())
    }
}

const CAP: usize = 1024;

fn check(sums: &AtomicU64, subs: usize, n: u64) {
    let expect = n * n.saturating_sub(1) / 2 * subs as u64;
    assert_eq!(
        sums.load(Ordering::Relaxed),
        expect,
        "a message was lost or duplicated"
    );
}

/// lockgate: `PubSub` with a ring of `CAP` per subscriber and back-pressure.
pub fn lockgate_fanout<P: Payload>(subs: usize, n: u64) -> Duration {
    use lockgate::pubsub::{Overflow, PubSub};
    let hub: PubSub<u8, P> = PubSub::with_overflow(CAP, Overflow::Block);
    let rx: Vec<_> = (0..subs).map(|_| hub.subscribe(0u8).unwrap()).collect();
    let sums = AtomicU64::new(0);
    let d = timed_threads(subs + 1, |i| {
        if i == 0 {
            for k in 0..n {
                hub.publish(&0, P::make(k)).unwrap();
            }
        } else {
            let mut s = 0;
            for _ in 0..n {
                s += rx[i - 1].recv().unwrap().id();
            }
            sums.fetch_add(s, Ordering::Relaxed);
        }
    });
    check(&sums, subs, n);
    d
}

/// The `bus` crate: a shared ring with a cursor per reader; `broadcast` blocks while full.
pub fn bus_fanout<P: Payload>(subs: usize, n: u64) -> Duration {
    let mut bus = bus::Bus::<P>::new(CAP);
    let rx: Vec<_> = (0..subs)
        .map(|_| std::sync::Mutex::new(bus.add_rx()))
        .collect();
    let bus = std::sync::Mutex::new(bus);
    let sums = AtomicU64::new(0);
    let d = timed_threads(subs + 1, |i| {
        if i == 0 {
            // One publisher only, so this lock is never contended.
            let mut bus = bus.lock().unwrap();
            for k in 0..n {
                bus.broadcast(P::make(k));
            }
        } else {
            // Each reader belongs to one thread: never contended either.
            let mut r = rx[i - 1].lock().unwrap();
            let mut s = 0;
            for _ in 0..n {
                s += r.recv().unwrap().id();
            }
            sums.fetch_add(s, Ordering::Relaxed);
        }
    });
    check(&sums, subs, n);
    d
}

/// tokio's `broadcast`: its sender never blocks and slow receivers lose messages, so the
/// publisher spins (yielding) while the backlog is at capacity, which keeps it lossless.
pub fn tokio_fanout<P: Payload>(subs: usize, n: u64) -> Duration {
    let (tx, first) = tokio::sync::broadcast::channel::<P>(CAP);
    let mut rxs = vec![first];
    while rxs.len() < subs {
        rxs.push(tx.subscribe());
    }
    let rx: Vec<_> = rxs.into_iter().map(std::sync::Mutex::new).collect();
    let sums = AtomicU64::new(0);
    let d = timed_threads(subs + 1, |i| {
        if i == 0 {
            for k in 0..n {
                while tx.len() >= CAP {
                    std::thread::yield_now();
                }
                tx.send(P::make(k)).ok().expect("receivers alive");
            }
        } else {
            let mut r = rx[i - 1].lock().unwrap();
            let mut s = 0;
            for _ in 0..n {
                s += r.blocking_recv().expect("lossless by back-pressure").id();
            }
            sums.fetch_add(s, Ordering::Relaxed);
        }
    });
    check(&sums, subs, n);
    d
}

/// Subscriber counts: 1, 2, 8.
pub fn fanout_shapes() -> Vec<usize> {
    vec![1, 2, 8]
}
