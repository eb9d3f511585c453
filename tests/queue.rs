//! RingQueue: semantics, and stress with more threads than cores, counting every value and
//! every drop.

mod common;

use common::{DropCounter, Watchdog};
use lockgate::queue::{RingQueue, ScqQueue};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

macro_rules! queue_tests {
    ($m:ident, $Q:ident) => {
        mod $m {
            use super::*;
            #[allow(non_camel_case_types, dead_code)]
            type Q<T> = $Q<T>;

            #[test]
            fn fifo_and_capacity_edges() {
                for cap in [1, 2, 3, 7, 8, 9, 100, 1024] {
                    let q = Q::new(cap);
                    assert_eq!(q.capacity(), cap);
                    assert!(q.is_empty());
                    for round in 0..3 {
                        for i in 0..cap {
                            assert_eq!(q.push(round * 10_000 + i), Ok(()), "cap {cap}");
                            assert_eq!(q.len(), i + 1);
                        }
                        assert!(q.is_full());
                        assert_eq!(q.push(usize::MAX), Err(usize::MAX));
                        for i in 0..cap {
                            assert_eq!(q.pop(), Some(round * 10_000 + i));
                        }
                        assert_eq!(q.pop(), None);
                        assert_eq!(q.pop(), None);
                        assert!(q.is_empty());
                    }
                }
            }

            #[test]
            fn interleaved_push_pop_wraps_many_laps() {
                let q = Q::new(3);
                let mut next_in = 0u64;
                let mut next_out = 0u64;
                for step in 0..100_000u64 {
                    if step % 3 != 2 && q.push(next_in).is_ok() {
                        next_in += 1;
                    } else if let Some(v) = q.pop() {
                        assert_eq!(v, next_out);
                        next_out += 1;
                    }
                    assert_eq!(q.len() as u64, next_in - next_out);
                }
            }

            #[test]
            fn force_push_evicts_oldest() {
                let q = Q::new(2);
                assert_eq!(q.force_push(1), None);
                assert_eq!(q.force_push(2), None);
                assert_eq!(q.force_push(3), Some(1));
                assert_eq!(q.force_push(4), Some(2));
                assert_eq!(q.pop(), Some(3));
                assert_eq!(q.pop(), Some(4));
                assert_eq!(q.pop(), None);
                let one = Q::new(1);
                for i in 0..10 {
                    assert_eq!(one.force_push(i), if i == 0 { None } else { Some(i - 1) });
                }
            }

            #[test]
            fn zero_sized_values() {
                let q = Q::new(5);
                for _ in 0..5 {
                    q.push(()).unwrap();
                }
                assert_eq!(q.push(()), Err(()));
                assert_eq!(q.len(), 5);
                for _ in 0..5 {
                    assert_eq!(q.pop(), Some(()));
                }
                assert_eq!(q.pop(), None);
            }

            #[test]
            #[should_panic(expected = "capacity must be non-zero")]
            fn zero_capacity_panics() {
                let _ = Q::<u8>::new(0);
            }

            #[test]
            #[should_panic(expected = "MAX_CAPACITY")]
            fn huge_capacity_panics() {
                let _ = Q::<u8>::new(usize::MAX);
            }

            #[test]
            fn drop_non_empty_drops_each_value_once() {
                let drops = Arc::new(AtomicUsize::new(0));
                {
                    let q = Q::new(8);
                    for _ in 0..6 {
                        q.push(DropCounter::new(&drops)).ok().unwrap();
                    }
                    drop(q.pop());
                    assert_eq!(drops.load(Ordering::SeqCst), 1);
                }
                assert_eq!(drops.load(Ordering::SeqCst), 6);
            }

            /// `producers` threads push `per` tagged values each; `consumers` threads pop until all are
            /// seen. Every value must arrive exactly once, in per-producer order, and every value must be
            /// dropped exactly once (also those left in the ring when it is dropped).
            pub(super) fn stress(
                cap: usize,
                producers: usize,
                consumers: usize,
                per: usize,
                leave: usize,
            ) {
                let _dog = Watchdog::new("queue stress", 120);
                let drops = Arc::new(AtomicUsize::new(0));
                let q = Arc::new(Q::new(cap));
                let total = producers * per;
                let to_take = total - leave.min(total);
                let taken = Arc::new(AtomicUsize::new(0));
                let start = Arc::new(Barrier::new(producers + consumers));
                let mut handles = Vec::new();
                for p in 0..producers {
                    let (q, drops, start) = (q.clone(), drops.clone(), start.clone());
                    handles.push(thread::spawn(move || {
                        start.wait();
                        for i in 0..per {
                            let mut v = (DropCounter::new(&drops), p, i);
                            loop {
                                match q.push(v) {
                                    Ok(()) => break,
                                    Err(back) => {
                                        v = back;
                                        thread::yield_now();
                                    }
                                }
                            }
                        }
                        Vec::new()
                    }));
                }
                for _ in 0..consumers {
                    let (q, taken, start) = (q.clone(), taken.clone(), start.clone());
                    handles.push(thread::spawn(move || {
                        start.wait();
                        let mut seen = Vec::new();
                        while taken.load(Ordering::SeqCst) < to_take {
                            if taken.fetch_add(1, Ordering::SeqCst) >= to_take {
                                break;
                            }
                            loop {
                                if let Some((_d, p, i)) = q.pop() {
                                    seen.push((p, i));
                                    break;
                                }
                                thread::yield_now();
                            }
                        }
                        seen
                    }));
                }
                let mut per_consumer: Vec<Vec<(usize, usize)>> =
                    handles.into_iter().map(|h| h.join().unwrap()).collect();
                let mut all: Vec<(usize, usize)> = per_consumer.iter().flatten().copied().collect();
                // Per-producer FIFO as each consumer saw it.
                for seen in &mut per_consumer {
                    let mut last = vec![None; producers];
                    for &(p, i) in seen.iter() {
                        assert!(last[p].map_or(true, |l| l < i), "producer {p} out of order");
                        last[p] = Some(i);
                    }
                }
                assert_eq!(all.len(), to_take);
                assert_eq!(q.len(), total - to_take);
                all.sort_unstable();
                all.dedup();
                assert_eq!(all.len(), to_take, "a value was received twice");
                assert_eq!(drops.load(Ordering::SeqCst), to_take);
                drop(q);
                assert_eq!(drops.load(Ordering::SeqCst), total, "leak or double drop");
            }

            #[test]
            fn stress_mpmc_oversubscribed() {
                stress(64, 4, 4, 20_000, 0);
            }

            #[test]
            fn stress_capacity_one() {
                stress(1, 3, 3, 5_000, 0);
            }

            /// More threads than a small ring has cells: SCQ's threshold argument assumes no
            /// more, and late threshold subtractions once locked such a ring up for good.
            #[test]
            fn stress_small_capacity_many_threads() {
                stress(1, 8, 8, 1_500, 0);
                stress(2, 6, 6, 1_500, 0);
            }

            #[test]
            fn stress_dropped_non_empty() {
                stress(16, 3, 2, 5_000, 10);
            }

            #[test]
            fn stress_force_push_counts_every_value() {
                let _dog = Watchdog::new("force_push stress", 120);
                let q = Arc::new(Q::new(4));
                let per = 20_000u64;
                let threads = 4u64;
                let handles: Vec<_> = (0..threads)
                    .map(|t| {
                        let q = q.clone();
                        thread::spawn(move || {
                            let mut evicted = Vec::new();
                            let mut popped = Vec::new();
                            for i in 0..per {
                                if let Some(old) = q.force_push(t * per + i) {
                                    evicted.push(old);
                                }
                                if i % 3 == 0 {
                                    popped.extend(q.pop());
                                }
                            }
                            (evicted, popped)
                        })
                    })
                    .collect();
                let mut all = Vec::new();
                for h in handles {
                    let (e, p) = h.join().unwrap();
                    all.extend(e);
                    all.extend(p);
                }
                while let Some(v) = q.pop() {
                    all.push(v);
                }
                all.sort_unstable();
                assert_eq!(all, (0..threads * per).collect::<Vec<_>>());
            }
        }
    };
}

queue_tests!(ring, RingQueue);
queue_tests!(scq, ScqQueue);

#[test]
fn ring_pop_into_batches_in_order() {
    let q = RingQueue::new(8);
    for i in 0..8 {
        q.push(i).unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(q.pop_into(&mut out, 3), 3);
    assert_eq!(out, [0, 1, 2]);
    q.push(8).unwrap();
    q.push(9).unwrap();
    q.push(10).unwrap();
    assert_eq!(q.pop_into(&mut out, 100), 8);
    assert_eq!(out, (0..=10).collect::<Vec<_>>());
    assert_eq!(q.pop_into(&mut out, 5), 0);
    assert!(q.is_empty());
}

#[test]
fn ring_pop_into_stress_counts_every_value() {
    let _dog = Watchdog::new("pop_into stress", 120);
    let q = Arc::new(RingQueue::new(32));
    let per = 20_000u64;
    let producers: Vec<_> = (0..3u64)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..per {
                    let mut v = p * per + i;
                    while let Err(back) = q.push(v) {
                        v = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let total = Arc::new(AtomicUsize::new(0));
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let (q, total) = (q.clone(), total.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                while total.load(Ordering::SeqCst) < 3 * per as usize {
                    let n = q.pop_into(&mut got, 7);
                    total.fetch_add(n, Ordering::SeqCst);
                    if n == 0 {
                        thread::yield_now();
                    }
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all: Vec<u64> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..3 * per).collect::<Vec<_>>());
}

#[test]
fn ring_pop_into_panicking_extend_drops_the_rest() {
    struct Bomb;
    impl Extend<DropCounter> for Bomb {
        fn extend<I: IntoIterator<Item = DropCounter>>(&mut self, iter: I) {
            drop(iter.into_iter().next());
            panic!("extend panics on purpose");
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let q = RingQueue::new(4);
    for _ in 0..4 {
        q.push(DropCounter::new(&drops)).unwrap();
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.pop_into(&mut Bomb, 3)));
    assert!(r.is_err());
    // The first value dropped in `extend`, the other two claimed ones by the guard.
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    assert_eq!(q.len(), 1);
    q.push(DropCounter::new(&drops)).unwrap();
    assert_eq!(q.len(), 2);
    drop(q);
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}
