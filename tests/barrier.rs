//! Latch, WaitGroup and CyclicBarrier: generations never mix, exactly one leader per round,
//! breaking (timeout, reset, panicking action) reaches every waiter, nobody hangs.

mod common;

use common::Watchdog;
use futures_executor::block_on;
use lockgate::barrier::{CyclicBarrier, Latch, WaitGroup, WaitTimeoutError};
use lockgate::WaitPolicy;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn latch_opens_once() {
    let _w = Watchdog::new("latch_opens_once", 60);
    let latch = Latch::new(3);
    assert!(!latch.wait_timeout(Duration::from_millis(5)));
    let woke = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                latch.wait();
                woke.fetch_add(1, Ordering::SeqCst);
            });
        }
        s.spawn(|| block_on(latch.wait_async()));
        for _ in 0..2 {
            latch.count_down();
        }
        thread::sleep(Duration::from_millis(10));
        assert_eq!(woke.load(Ordering::SeqCst), 0, "opened early");
        latch.arrive_and_wait();
    });
    assert_eq!(woke.load(Ordering::SeqCst), 4);
    latch.count_down(); // at zero: no effect
    assert_eq!(latch.count(), 0);
    assert!(latch.try_wait());
}

#[test]
fn latch_stress_many_counters() {
    let _w = Watchdog::new("latch_stress_many_counters", 60);
    for _ in 0..200 {
        let latch = Latch::new(6);
        thread::scope(|s| {
            for i in 0..6 {
                let latch = &latch;
                s.spawn(move || {
                    if i % 2 == 0 {
                        latch.arrive_and_wait();
                    } else {
                        latch.count_down();
                        assert!(latch.wait_timeout(Duration::from_secs(30)));
                    }
                });
            }
        });
        assert_eq!(latch.count(), 0);
    }
}

#[test]
fn wait_group_counts_guards() {
    let _w = Watchdog::new("wait_group_counts_guards", 60);
    let wg = WaitGroup::new();
    let done = Arc::new(AtomicUsize::new(0));
    for round in 0..3 {
        // Reused after reaching zero.
        for _ in 0..8 {
            let guard = wg.guard();
            let extra = guard.clone();
            let done = done.clone();
            thread::spawn(move || {
                drop(extra);
                done.fetch_add(1, Ordering::SeqCst);
                drop(guard);
            });
        }
        wg.add(1);
        let wg2 = wg.clone();
        thread::spawn(move || wg2.done());
        wg.wait();
        assert_eq!(wg.count(), 0);
        assert_eq!(done.load(Ordering::SeqCst), 8 * (round + 1));
    }
    assert!(wg.wait_timeout(Duration::ZERO));
    wg.add(1);
    assert!(!wg.wait_timeout(Duration::from_millis(5)));
    let waiter = {
        let wg = wg.clone();
        thread::spawn(move || block_on(wg.wait_async()))
    };
    wg.done();
    waiter.join().unwrap();
}

#[test]
#[should_panic(expected = "more times than work was added")]
fn wait_group_done_below_zero_panics() {
    WaitGroup::new().done();
}

#[test]
fn wait_group_guard_done_on_panic() {
    let _w = Watchdog::new("wait_group_guard_done_on_panic", 60);
    let wg = WaitGroup::new();
    let guard = wg.guard();
    let h = thread::spawn(move || {
        let _g = guard;
        panic!("worker dies");
    });
    wg.wait(); // the guard's drop during unwinding counts as done
    assert!(h.join().is_err());
}

#[test]
#[should_panic(expected = "at least one party")]
fn zero_parties_panics() {
    let _ = CyclicBarrier::new(0);
}

/// Every thread sees the same increasing generations, one leader per round, and the action
/// runs exactly once per round before anyone of that round is released.
fn rounds(parties: usize, threads: usize, rounds: usize, policy: WaitPolicy) {
    let trips = Arc::new(AtomicUsize::new(0));
    let t2 = trips.clone();
    let barrier = CyclicBarrier::with_action(parties, move || {
        t2.fetch_add(1, Ordering::SeqCst);
    })
    .with_policy(policy);
    let leaders = AtomicUsize::new(0);
    let seen = Mutex::new(Vec::new());
    let per_thread = rounds * parties / threads;
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut gens = Vec::with_capacity(per_thread);
                for _ in 0..per_thread {
                    let r = barrier.wait().expect("unbroken barrier");
                    if r.is_leader() {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                    // The action of this round ran before we were released.
                    assert!(trips.load(Ordering::SeqCst) as u64 > r.generation());
                    gens.push(r.generation());
                }
                assert!(
                    gens.windows(2).all(|w| w[0] < w[1]),
                    "generations went back"
                );
                seen.lock().unwrap().extend(gens);
            });
        }
    });
    assert_eq!(trips.load(Ordering::SeqCst), rounds);
    assert_eq!(leaders.load(Ordering::SeqCst), rounds);
    // Each generation was seen by exactly `parties` threads.
    let mut all = seen.into_inner().unwrap();
    all.sort_unstable();
    for chunk in all.chunks(parties) {
        assert!(
            chunk.iter().all(|&g| g == chunk[0]),
            "a round mixed generations"
        );
    }
    assert_eq!(all.len(), rounds * parties);
    assert_eq!(barrier.waiting(), 0);
}

#[test]
fn generations_never_mix() {
    let _w = Watchdog::new("generations_never_mix", 120);
    rounds(4, 4, 2_000, WaitPolicy::Adaptive);
    rounds(1, 3, 999, WaitPolicy::Adaptive);
}

#[test]
fn oversubscribed_rounds_finish() {
    let _w = Watchdog::new("oversubscribed_rounds_finish", 120);
    // 8 threads on 2 cores (4 per core), thousands of rounds.
    let start = Instant::now();
    rounds(8, 8, 3_000, WaitPolicy::Adaptive);
    rounds(8, 8, 1_000, WaitPolicy::Park);
    eprintln!("oversubscribed: 4000 rounds of 8 in {:?}", start.elapsed());
}

#[test]
fn more_threads_than_parties() {
    let _w = Watchdog::new("more_threads_than_parties", 120);
    // Early arrivals count into the next round while a slow action runs. With more threads
    // than parties a fixed number of waits per thread can deadlock (the last round may need a
    // thread that is already waiting), so threads run until enough rounds passed and the
    // stragglers are then released by `reset`.
    let trips = Arc::new(AtomicUsize::new(0));
    let t2 = trips.clone();
    let barrier = CyclicBarrier::with_action(3, move || {
        t2.fetch_add(1, Ordering::SeqCst);
        thread::sleep(Duration::from_micros(20));
    });
    let (leaders, oks, exited) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let stop = std::sync::atomic::AtomicBool::new(false);
    thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    match barrier.wait() {
                        Ok(r) => {
                            oks.fetch_add(1, Ordering::SeqCst);
                            if r.is_leader() {
                                leaders.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Err(_) => break,
                    }
                }
                exited.fetch_add(1, Ordering::SeqCst);
            });
        }
        while leaders.load(Ordering::SeqCst) < 500 {
            thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::SeqCst);
        while exited.load(Ordering::SeqCst) < 6 {
            barrier.reset();
            thread::sleep(Duration::from_millis(1));
        }
    });
    let leaders = leaders.load(Ordering::SeqCst);
    assert!(leaders >= 500);
    assert_eq!(
        trips.load(Ordering::SeqCst),
        leaders,
        "one action per round"
    );
    assert_eq!(
        oks.load(Ordering::SeqCst),
        3 * leaders,
        "three threads released per round"
    );
}

#[test]
fn panicking_action_breaks_the_round() {
    let _w = Watchdog::new("panicking_action_breaks_the_round", 60);
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let barrier = CyclicBarrier::with_action(3, move || {
        if c2.fetch_add(1, Ordering::SeqCst) == 1 {
            panic!("action bomb");
        }
    });
    let panicked = AtomicUsize::new(0);
    let broken = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                barrier.wait().unwrap(); // round 1 is fine
                match catch_unwind(AssertUnwindSafe(|| barrier.wait())) {
                    Err(_) => panicked.fetch_add(1, Ordering::SeqCst),
                    Ok(Err(_)) => broken.fetch_add(1, Ordering::SeqCst),
                    Ok(Ok(_)) => panic!("round 2 should break"),
                };
            });
        }
    });
    assert_eq!(
        panicked.load(Ordering::SeqCst),
        1,
        "the leader gets the panic"
    );
    assert_eq!(broken.load(Ordering::SeqCst), 2);
    assert!(barrier.is_broken());
    assert!(barrier.wait().is_err(), "broken until reset");
    barrier.reset();
    assert!(!barrier.is_broken());
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| barrier.wait().unwrap());
        }
    });
}

#[test]
fn timeout_breaks_the_round_for_everyone() {
    let _w = Watchdog::new("timeout_breaks_the_round_for_everyone", 60);
    let barrier = CyclicBarrier::new(3);
    thread::scope(|s| {
        let other = s.spawn(|| barrier.wait());
        let d = Duration::from_millis(30);
        let start = Instant::now();
        assert_eq!(
            barrier.wait_timeout(d).unwrap_err(),
            WaitTimeoutError::Timeout
        );
        assert!(start.elapsed() >= d);
        assert!(other.join().unwrap().is_err());
    });
    assert_eq!(barrier.waiting(), 0);
    assert!(barrier.wait().is_err());
    barrier.reset();
    // The timed-out arrival does not count toward the fresh round.
    thread::scope(|s| {
        let a = s.spawn(|| barrier.wait_timeout(Duration::from_millis(30)));
        let b = s.spawn(|| barrier.wait_timeout(Duration::from_millis(30)));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert!(
            a.is_err() && b.is_err(),
            "two of three parties cannot complete a round"
        );
    });
}

#[test]
fn reset_breaks_waiters_then_works() {
    let _w = Watchdog::new("reset_breaks_waiters_then_works", 60);
    let barrier = CyclicBarrier::new(3);
    for _ in 0..50 {
        thread::scope(|s| {
            let a = s.spawn(|| barrier.wait());
            let b = s.spawn(|| barrier.wait());
            while barrier.waiting() < 2 {
                thread::yield_now();
            }
            barrier.reset();
            assert!(a.join().unwrap().is_err());
            assert!(b.join().unwrap().is_err());
        });
        assert!(!barrier.is_broken());
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| barrier.wait().unwrap());
            }
        });
    }
}

/// Resets racing arrivals and timeouts: whatever happens, no thread hangs and every wait
/// returns.
#[test]
fn reset_storm_nobody_hangs() {
    let _w = Watchdog::new("reset_storm_nobody_hangs", 120);
    let barrier = CyclicBarrier::new(3);
    let finished = AtomicUsize::new(0);
    let outcomes = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..4 {
            let (barrier, outcomes, finished) = (&barrier, &outcomes, &finished);
            s.spawn(move || {
                for i in 0..500 {
                    let _ = if (t + i) % 3 == 0 {
                        barrier.wait_timeout(Duration::from_micros(200)).is_ok()
                    } else {
                        barrier.wait_timeout(Duration::from_secs(10)).is_ok()
                    };
                    outcomes.fetch_add(1, Ordering::SeqCst);
                }
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        s.spawn(|| {
            // Until every worker is done, so no one is left alone in a round for long.
            while finished.load(Ordering::SeqCst) < 4 {
                barrier.reset();
                thread::sleep(Duration::from_micros(300));
            }
        });
    });
    assert_eq!(outcomes.load(Ordering::SeqCst), 2_000);
    // Whatever the storm left, a reset gives a working barrier.
    barrier.reset();
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| barrier.wait().unwrap());
        }
    });
}

/// A timed waiter that arrives while the previous round's action runs (an early arrival of the
/// next round) still times out once that round is current and incomplete.
#[test]
fn early_arrival_times_out() {
    let _w = Watchdog::new("early_arrival_times_out", 60);
    let slow = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let s2 = slow.clone();
    let barrier = CyclicBarrier::with_action(2, move || {
        if s2.swap(false, Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(100));
        }
    });
    thread::scope(|s| {
        let (barrier, long) = (&barrier, Duration::from_secs(20));
        let a = s.spawn(move || barrier.wait_timeout(long));
        let b = s.spawn(move || barrier.wait_timeout(long));
        // Arrive while the first round's action sleeps. (On a loaded machine x may arrive
        // first instead; then a or b is the one left over, and times out after `long`.)
        thread::sleep(Duration::from_millis(30));
        let x = s.spawn(|| barrier.wait_timeout(Duration::from_millis(20)));
        let results = [a.join().unwrap(), b.join().unwrap(), x.join().unwrap()];
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            2,
            "{results:?}"
        );
        let left = results.iter().find(|r| r.is_err()).unwrap();
        assert_eq!(*left, Err(WaitTimeoutError::Timeout));
        assert!(barrier.is_broken(), "the left-over arrival broke its round");
    });
}

/// `wait` and `reset` from inside the barrier's own action panic (they would wait for
/// themselves), also when the action first leads a round of another barrier.
#[test]
fn wait_or_reset_inside_the_action_panics() {
    let _w = Watchdog::new("wait_or_reset_inside_the_action_panics", 60);
    for call_wait in [false, true] {
        for nested in [false, true] {
            let cell: Arc<Mutex<Option<Arc<CyclicBarrier>>>> = Arc::new(Mutex::new(None));
            let c2 = cell.clone();
            let inner = CyclicBarrier::with_action(1, || {});
            let barrier = Arc::new(CyclicBarrier::with_action(1, move || {
                if nested {
                    inner.wait().unwrap(); // leads (and runs the action of) another barrier
                }
                let b = c2.lock().unwrap().clone().unwrap();
                if call_wait {
                    let _ = b.wait();
                } else {
                    b.reset();
                }
            }));
            *cell.lock().unwrap() = Some(barrier.clone());
            let r = catch_unwind(AssertUnwindSafe(|| barrier.wait()));
            let msg = *r.unwrap_err().downcast::<String>().unwrap();
            assert!(msg.contains("own trip action"), "{msg}");
            assert!(barrier.is_broken(), "a panicking action breaks the round");
            cell.lock().unwrap().take(); // break the cycle
        }
    }
}
