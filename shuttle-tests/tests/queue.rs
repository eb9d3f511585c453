//! Both bounded queues (RingQueue, ScqQueue) at capacity 1 and 2 with 4-7 threads: every value
//! is seen exactly once, and once every thread has joined the queue still works (a push
//! succeeds while there is room, a pop returns what is inside). The last check is what SCQ's
//! threshold lock-up breaks: failed dequeues that subtract from the threshold after an
//! enqueue re-armed it can leave it negative, which no later operation undoes.
//!
//! The unbounded segmented queue is crate-private; it is driven here through the unbounded
//! channel's non-blocking calls (`send` never waits on it, `try_recv` is its pop), with
//! blocks of two values under shuttle, so the models cross block ends, release blocks and
//! reuse them from the spare cache many times.
#![cfg(lockgate_shuttle)]

use lockgate::channel::{unbounded, TryRecvError};
use lockgate::queue::{RingQueue, ScqQueue};
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;

/// The operations the models need from either queue.
trait Queue: Send + Sync + 'static {
    fn new(cap: usize) -> Self;
    fn push(&self, v: u32) -> Result<(), u32>;
    fn pop(&self) -> Option<u32>;
    fn force_push(&self, v: u32) -> Option<u32>;
    fn len(&self) -> usize;
    fn capacity(&self) -> usize;
}

macro_rules! impl_queue {
    ($Q:ident) => {
        impl Queue for $Q<u32> {
            fn new(cap: usize) -> Self {
                $Q::new(cap)
            }
            fn push(&self, v: u32) -> Result<(), u32> {
                $Q::push(self, v)
            }
            fn pop(&self) -> Option<u32> {
                $Q::pop(self)
            }
            fn force_push(&self, v: u32) -> Option<u32> {
                $Q::force_push(self, v)
            }
            fn len(&self) -> usize {
                $Q::len(self)
            }
            fn capacity(&self) -> usize {
                $Q::capacity(self)
            }
        }
    };
}
impl_queue!(RingQueue);
impl_queue!(ScqQueue);

/// With every thread joined: `len()` values come out, in some order, and nothing after them;
/// then the empty queue takes exactly `capacity` values, refuses one more, and gives the
/// `capacity` back in order. Returns the values that were inside.
fn drain_and_check_usable<Q: Queue>(q: &Q) -> Vec<u32> {
    let len = q.len();
    let mut inside = Vec::new();
    for _ in 0..len {
        match q.pop() {
            Some(v) => inside.push(v),
            None => panic!(
                "stuck: len() is {len} but pop returned None after {} values",
                inside.len()
            ),
        }
    }
    assert_eq!(q.pop(), None, "pop returned a value beyond len() {len}");
    assert_eq!(q.len(), 0);
    for i in 0..q.capacity() as u32 {
        if let Err(v) = q.push(1000 + i) {
            panic!(
                "stuck: push({v}) refused by a queue with len() {} and capacity {}",
                q.len(),
                q.capacity()
            );
        }
    }
    assert_eq!(q.push(2000), Err(2000), "a full queue took one more value");
    for i in 0..q.capacity() as u32 {
        assert_eq!(q.pop(), Some(1000 + i), "a refilled queue lost its order");
    }
    assert_eq!(q.pop(), None);
    inside
}

/// Sorts and compares: every value that went in came out exactly once.
fn assert_conserved(mut went_in: Vec<u32>, mut came_out: Vec<u32>) {
    went_in.sort_unstable();
    came_out.sort_unstable();
    assert_eq!(went_in, came_out, "a value was lost or duplicated");
}

/// A full queue: one thread pops once while `pushers` threads each try to push once, so a
/// pop's hand-back of the freed slot races failing pushes (for SCQ: the `free` ring's
/// enqueue racing failing dequeues). Then the queue must still work.
fn pushers_against_a_pop<Q: Queue>(cap: usize, pushers: u32) {
    let q = Arc::new(Q::new(cap));
    let prefilled: Vec<u32> = (0..cap as u32).collect();
    for &v in &prefilled {
        q.push(v).unwrap();
    }
    let popper = {
        let q = q.clone();
        thread::spawn(move || q.pop())
    };
    let pushers: Vec<_> = (1..=pushers)
        .map(|t| {
            let q = q.clone();
            thread::spawn(move || q.push(100 + t).ok().map(|()| 100 + t))
        })
        .collect();
    let mut went_in = prefilled;
    let mut came_out: Vec<u32> = popper.join().unwrap().into_iter().collect();
    for p in pushers {
        went_in.extend(p.join().unwrap());
    }
    came_out.extend(drain_and_check_usable(&*q));
    assert_conserved(went_in, came_out);
}

/// The mirror image: `poppers` threads each try to pop once from an empty queue while one
/// push is in flight (for SCQ: the `used` ring's enqueue racing failing dequeues). The queue
/// was filled and emptied once first, so that no structure starts from its pristine state
/// (SCQ's `used` ring refuses every dequeue until its first enqueue).
fn poppers_against_a_push<Q: Queue>(cap: usize, poppers: u32) {
    let q = Arc::new(Q::new(cap));
    for v in 0..cap as u32 {
        q.push(v).unwrap();
    }
    for v in 0..cap as u32 {
        assert_eq!(q.pop(), Some(v));
    }
    let pusher = {
        let q = q.clone();
        thread::spawn(move || q.push(7).is_ok())
    };
    let poppers: Vec<_> = (0..poppers)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || q.pop())
        })
        .collect();
    let mut came_out = Vec::new();
    for p in poppers {
        came_out.extend(p.join().unwrap());
    }
    assert!(pusher.join().unwrap(), "push into an empty queue failed");
    came_out.extend(drain_and_check_usable(&*q));
    assert_conserved(vec![7], came_out);
}

/// `threads` threads, each pushing two values and popping twice, all at once, with
/// `force_push` on one of them; every accepted value comes out exactly once and the queue
/// works afterwards.
fn mixed<Q: Queue>(cap: usize, threads: u32) {
    let q = Arc::new(Q::new(cap));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let q = q.clone();
            thread::spawn(move || {
                let (mut went_in, mut came_out) = (Vec::new(), Vec::new());
                for k in 0..2 {
                    let v = 10 * t + k;
                    if t == 0 && k == 1 {
                        // force_push always takes its value, evicting the oldest if full.
                        came_out.extend(q.force_push(v));
                        went_in.push(v);
                    } else if q.push(v).is_ok() {
                        went_in.push(v);
                    }
                    came_out.extend(q.pop());
                }
                (went_in, came_out)
            })
        })
        .collect();
    let (mut went_in, mut came_out) = (Vec::new(), Vec::new());
    for w in workers {
        let (i, o) = w.join().unwrap();
        went_in.extend(i);
        came_out.extend(o);
    }
    came_out.extend(drain_and_check_usable(&*q));
    assert_conserved(went_in, came_out);
}

/// Producers and consumers that retry until each of `per` values per producer is through:
/// nothing lost under a long run of wrap-arounds, and FIFO per producer.
fn producers_consumers<Q: Queue>(cap: usize, producers: u32, consumers: u32, per: u32) {
    let q = Arc::new(Q::new(cap));
    let total = (producers * per) as usize;
    let taken = Arc::new(AtomicUsize::new(0));
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..per {
                    let mut v = 1000 * p + i;
                    while let Err(back) = q.push(v) {
                        v = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    let cs: Vec<_> = (0..consumers)
        .map(|_| {
            let (q, taken) = (q.clone(), taken.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                while taken.load(Ordering::SeqCst) < total {
                    match q.pop() {
                        Some(v) => {
                            taken.fetch_add(1, Ordering::SeqCst);
                            got.push(v);
                        }
                        None => thread::yield_now(),
                    }
                }
                got
            })
        })
        .collect();
    for p in ps {
        p.join().unwrap();
    }
    let mut all = Vec::new();
    for c in cs {
        let got = c.join().unwrap();
        // Per producer, one consumer sees its values in the order they were pushed.
        for p in 0..producers {
            let mine: Vec<u32> = got.iter().copied().filter(|v| v / 1000 == p).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "FIFO broken: {mine:?}"
            );
        }
        all.extend(got);
    }
    assert!(drain_and_check_usable(&*q).is_empty());
    let want: Vec<u32> = (0..producers)
        .flat_map(|p| (0..per).map(move |i| 1000 * p + i))
        .collect();
    assert_conserved(want, all);
}

// Budgets: shuttle runs one of these small schedules in tens of microseconds, so the
// lock-up shapes get 100,000 schedules per scheduler (a few seconds). PCT runs at depth 20:
// the SCQ lock-up needs about six preemptions placed among some sixty steps, which PCT at
// depth 3-12 did not reach in 100,000 schedules while depth 15-30 did. On the SCQ whose
// failed dequeue subtracts from the threshold only after deciding "empty", the three
// capacity-1 shapes failed within 459-95,361 PCT schedules (under 2 s) from each of six
// starting points. The capacity-2 shapes (six late subtractions needed) did not fail within
// their budget, nor in longer runs of the same shapes (2,000,000 random schedules with six
// pushers; 1,000,000 random and 500,000 PCT schedules with six poppers).
macro_rules! queue_models {
    ($m:ident, $Q:ident) => {
        mod $m {
            use super::*;
            type Q = $Q<u32>;
            const NAME: &str = stringify!($Q);

            /// The smallest lock-up shape for SCQ: one slot, a pop handing it back while three
            /// pushes fail (SCQ's threshold is 3n - 1 = 2, so three late subtractions).
            #[test]
            fn three_pushers_against_a_pop_capacity_1() {
                let name = format!("{NAME} 3 pushers vs pop, cap 1");
                check(&name, 20, 100_000, || pushers_against_a_pop::<Q>(1, 3));
            }

            #[test]
            fn four_pushers_against_a_pop_capacity_1() {
                let name = format!("{NAME} 4 pushers vs pop, cap 1");
                check(&name, 20, 100_000, || pushers_against_a_pop::<Q>(1, 4));
            }

            #[test]
            fn four_poppers_against_a_push_capacity_1() {
                let name = format!("{NAME} 4 poppers vs push, cap 1");
                check(&name, 20, 100_000, || poppers_against_a_push::<Q>(1, 4));
            }

            /// Capacity 2 (SCQ's threshold 5: six late subtractions would be needed).
            #[test]
            fn six_pushers_against_a_pop_capacity_2() {
                let name = format!("{NAME} 6 pushers vs pop, cap 2");
                check(&name, 20, 20_000, || pushers_against_a_pop::<Q>(2, 6));
            }

            #[test]
            fn six_poppers_against_a_push_capacity_2() {
                let name = format!("{NAME} 6 poppers vs push, cap 2");
                check(&name, 20, 20_000, || poppers_against_a_push::<Q>(2, 6));
            }

            #[test]
            fn mixed_5_threads_capacity_1() {
                let name = format!("{NAME} mixed 5 threads, cap 1");
                check(&name, 10, 50_000, || mixed::<Q>(1, 5));
            }

            #[test]
            fn mixed_6_threads_capacity_2() {
                let name = format!("{NAME} mixed 6 threads, cap 2");
                check(&name, 10, 50_000, || mixed::<Q>(2, 6));
            }

            #[test]
            fn producers_consumers_4_by_4_capacity_2() {
                let name = format!("{NAME} 4 producers 4 consumers, cap 2");
                check(&name, 10, 20_000, || producers_consumers::<Q>(2, 4, 4, 3));
            }
        }
    };
}

queue_models!(ring, RingQueue);
queue_models!(scq, ScqQueue);

/// The unbounded queue: `producers` threads push `per` values each while `consumers` threads
/// pop until every value is through. Each value exactly once, FIFO per producer, and at the
/// end the queue is empty and still works.
fn unbounded_producers_consumers(producers: u32, consumers: u32, per: u32) {
    let (tx, rx) = unbounded::<u32>();
    let total = (producers * per) as usize;
    let taken = Arc::new(AtomicUsize::new(0));
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..per {
                    tx.send(1000 * p + i).unwrap();
                }
            })
        })
        .collect();
    let cs: Vec<_> = (0..consumers)
        .map(|_| {
            let (rx, taken) = (rx.clone(), taken.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                while taken.load(Ordering::SeqCst) < total {
                    match rx.try_recv() {
                        Ok(v) => {
                            taken.fetch_add(1, Ordering::SeqCst);
                            got.push(v);
                        }
                        Err(TryRecvError::Empty) => thread::yield_now(),
                        Err(TryRecvError::Disconnected) => {
                            panic!("disconnected with senders alive")
                        }
                    }
                }
                got
            })
        })
        .collect();
    for p in ps {
        p.join().unwrap();
    }
    let mut all = Vec::new();
    for c in cs {
        let got = c.join().unwrap();
        for p in 0..producers {
            let mine: Vec<u32> = got.iter().copied().filter(|v| v / 1000 == p).collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "FIFO broken: {mine:?}"
            );
        }
        all.extend(got);
    }
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "a value beyond the count"
    );
    for v in 0..5 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    let want: Vec<u32> = (0..producers)
        .flat_map(|p| (0..per).map(move |i| 1000 * p + i))
        .collect();
    assert_conserved(want, all);
}

#[test]
fn unbounded_3_producers_3_consumers() {
    check("unbounded queue 3x3, 4 values each", 10, 20_000, || {
        unbounded_producers_consumers(3, 3, 4)
    });
}

#[test]
fn unbounded_2_producers_5_consumers() {
    check("unbounded queue 2x5, 5 values each", 10, 20_000, || {
        unbounded_producers_consumers(2, 5, 5)
    });
}
