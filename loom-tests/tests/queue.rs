//! Both queues (RingQueue, ScqQueue): two producers and one consumer at capacity 1 and 2,
//! force_push racing pop, and mixed operations on one slot; every value seen exactly once.
#![cfg(lockgate_loom)]

use lockgate::queue::{RingQueue, ScqQueue};
use lockgate_loom_tests::model;
use loom::sync::Arc;
use loom::thread;

macro_rules! queue_models {
    ($m:ident, $Q:ident) => {
        mod $m {
            use super::*;
            type Q<T> = $Q<T>;

            fn two_producers_one_consumer(cap: usize) {
                // No retry loops: each push and pop runs once, so loom explores every interleaving of
                // whole operations. A rejected push hands its value back; it must be because the ring was
                // full, so with capacity 2 no push may fail.
                model(3, move || {
                    let q = Arc::new(Q::new(cap));
                    let producers: Vec<_> = (1..=2u32)
                        .map(|v| {
                            let q = q.clone();
                            thread::spawn(move || q.push(v).err())
                        })
                        .collect();
                    let mut seen: Vec<u32> = q.pop().into_iter().collect();
                    let rejected: Vec<u32> = producers
                        .into_iter()
                        .filter_map(|p| p.join().unwrap())
                        .collect();
                    if cap >= 2 {
                        assert!(rejected.is_empty(), "push failed on a ring with room");
                    }
                    while let Some(v) = q.pop() {
                        seen.push(v);
                    }
                    assert!(q.is_empty());
                    seen.extend(rejected);
                    seen.sort_unstable();
                    assert_eq!(seen, [1, 2], "a value was lost or duplicated");
                });
            }

            #[test]
            fn ring_2p1c_capacity_1() {
                two_producers_one_consumer(1);
            }

            #[test]
            fn ring_2p1c_capacity_2() {
                two_producers_one_consumer(2);
            }

            /// force_push racing pop on a full ring of one slot: every value ends up exactly once in
            /// the eviction, the pop, or the ring.
            #[test]
            fn ring_force_push_vs_pop() {
                model(3, || {
                    let q = Arc::new(Q::new(1));
                    q.push(1u32).unwrap();
                    let q2 = q.clone();
                    let pusher = thread::spawn(move || q2.force_push(2));
                    let popped = q.pop();
                    let evicted = pusher.join().unwrap();
                    let mut all: Vec<u32> =
                        popped.into_iter().chain(evicted).chain(q.pop()).collect();
                    all.sort_unstable();
                    assert_eq!(all, [1, 2]);
                });
            }

            /// Mixed producers/consumers on one slot, several operations per thread, so dequeuers run past
            /// positions whose enqueuer is late (the case SCQ's `safe` bit and threshold exist for).
            /// Conservation: every accepted value is popped exactly once; nothing appears from nowhere.
            #[test]
            fn ring_mixed_ops_capacity_1() {
                model(3, || {
                    let q = Arc::new(Q::new(1));
                    let workers: Vec<_> = (0..2u32)
                        .map(|t| {
                            let q = q.clone();
                            thread::spawn(move || {
                                let mut accepted = Vec::new();
                                let mut popped = Vec::new();
                                let v = 10 + t;
                                if q.push(v).is_ok() {
                                    accepted.push(v);
                                }
                                popped.extend(q.pop());
                                (accepted, popped)
                            })
                        })
                        .collect();
                    let mut popped: Vec<u32> = q.pop().into_iter().collect();
                    popped.extend(q.pop());
                    let mut accepted = Vec::new();
                    for w in workers {
                        let (a, p) = w.join().unwrap();
                        accepted.extend(a);
                        popped.extend(p);
                    }
                    while let Some(v) = q.pop() {
                        popped.push(v);
                    }
                    accepted.sort_unstable();
                    popped.sort_unstable();
                    assert_eq!(accepted, popped);
                });
            }
        }
    };
}

queue_models!(ring, RingQueue);
queue_models!(scq, ScqQueue);

/// RingQueue's batch pop racing a producer and a single pop: every value exactly once, in
/// order within the batch.
#[test]
fn ring_pop_into_vs_pop_and_push() {
    model(2, || {
        let q = Arc::new(RingQueue::new(2));
        q.push(1u32).unwrap();
        let q2 = q.clone();
        let producer = thread::spawn(move || q2.push(2).is_ok());
        let q3 = q.clone();
        let single = thread::spawn(move || q3.pop());
        let mut batch = Vec::new();
        q.pop_into(&mut batch, 2);
        assert!(producer.join().unwrap(), "room for the second value");
        let mut all: Vec<u32> = batch.clone();
        all.extend(single.join().unwrap());
        all.extend(q.pop());
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
        assert!(batch.windows(2).all(|w| w[0] < w[1]), "batch out of order");
    });
}

/// ScqQueue's threshold re-arm rule (`rearm_if_published` in src/queue/scq.rs): with more
/// threads than a ring of capacity 1 has cells, failed dequeues that subtract from the
/// threshold after an enqueue re-armed it must never hide the slot number or the value that
/// enqueue published. Main plus three threads; after they finish, nothing is in flight, so
/// the queue must behave exactly: a value inside comes out, and an empty queue takes a push.
#[test]
fn scq_late_subtractions_never_lock_up() {
    model(3, || {
        let q = Arc::new(ScqQueue::new(1));
        q.push(1u32).unwrap();
        let popper = {
            let q = q.clone();
            thread::spawn(move || q.pop())
        };
        let pushers: Vec<_> = (2..=3u32)
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || q.push(v).is_ok().then_some(v))
            })
            .collect();
        let mine = q.push(4).is_ok().then_some(4u32);
        let mut accepted: Vec<u32> = vec![1];
        accepted.extend(mine);
        for p in pushers {
            accepted.extend(p.join().unwrap());
        }
        let mut out: Vec<u32> = popper.join().unwrap().into_iter().collect();
        // Quiescent now: at most one value is inside, and it must come out.
        let inside = q.len();
        assert!(inside <= 1);
        out.extend(q.pop());
        assert_eq!(out.len(), accepted.len(), "a value is stuck or was lost");
        assert!(q.is_empty());
        assert_eq!(q.push(5), Ok(()), "an empty queue refused a push");
        assert_eq!(q.pop(), Some(5));
        accepted.sort_unstable();
        out.sort_unstable();
        assert_eq!(accepted, out);
    });
}
