//! Latch, wait group and cyclic barrier: count-downs racing waits, rounds over two
//! generations, a timeout breaking a round, reset racing waiters.
#![cfg(lockgate_loom)]

use lockgate::barrier::{CyclicBarrier, Latch, WaitGroup, WaitTimeoutError};
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

#[test]
fn latch_count_down_racing_wait() {
    model(3, || {
        let latch = Arc::new(Latch::new(2));
        let waiter = {
            let l = latch.clone();
            thread::spawn(move || l.wait())
        };
        let counter = {
            let l = latch.clone();
            thread::spawn(move || l.count_down())
        };
        latch.count_down();
        counter.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(latch.count(), 0);
    });
}

#[test]
fn wait_group_guards_racing_wait() {
    model(3, || {
        let wg = WaitGroup::new();
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let g = wg.guard();
                thread::spawn(move || drop(g))
            })
            .collect();
        wg.wait();
        assert_eq!(wg.count(), 0);
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// Two parties (the main thread and one more) over two rounds: the same generations, one
/// leader per round, the action once per round and before the release.
#[test]
fn two_parties_two_generations() {
    model(3, || {
        let trips = Arc::new(AtomicUsize::new(0));
        let t = trips.clone();
        let barrier = Arc::new(CyclicBarrier::with_action(2, move || {
            t.fetch_add(1, Ordering::Relaxed);
        }));
        let run = |b: Arc<CyclicBarrier>, trips: Arc<AtomicUsize>| {
            let mut out = Vec::new();
            for _ in 0..2 {
                let r = b.wait().unwrap();
                assert!(trips.load(Ordering::Relaxed) as u64 > r.generation());
                out.push((r.generation(), r.is_leader()));
            }
            out
        };
        let other = {
            let (b, t) = (barrier.clone(), trips.clone());
            thread::spawn(move || run(b, t))
        };
        let mine = run(barrier.clone(), trips.clone());
        let theirs = other.join().unwrap();
        for (m, t) in mine.iter().zip(&theirs) {
            assert_eq!(m.0, t.0, "generations mixed");
            assert!(m.1 != t.1, "exactly one leader per round");
        }
        assert_eq!(trips.load(Ordering::Relaxed), 2);
    });
}

/// Three parties, one round.
#[test]
fn three_parties_one_round() {
    model(2, || {
        let barrier = Arc::new(CyclicBarrier::new(3));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let b = barrier.clone();
                thread::spawn(move || b.wait().unwrap().is_leader())
            })
            .collect();
        let mut leaders = usize::from(barrier.wait().unwrap().is_leader());
        for h in hs {
            leaders += usize::from(h.join().unwrap());
        }
        assert_eq!(leaders, 1);
        assert_eq!(barrier.waiting(), 0);
    });
}

/// A timed waiter (whose timeout may strike at any point) and an untimed one: either the round
/// completes for both, or it breaks for both (the timed one sees its timeout).
#[test]
fn timeout_breaks_the_round() {
    model(3, || {
        let barrier = Arc::new(CyclicBarrier::new(2));
        let timed = {
            let b = barrier.clone();
            thread::spawn(move || b.wait_timeout(Duration::from_secs(3600)))
        };
        let mine = barrier.wait();
        let theirs = timed.join().unwrap();
        match (mine, theirs) {
            (Ok(a), Ok(b)) => assert!(a.is_leader() != b.is_leader()),
            (Err(_), Err(WaitTimeoutError::Timeout)) => assert!(barrier.is_broken()),
            other => panic!("round half complete: {other:?}"),
        }
    });
}

/// `reset` racing two waiters of a two-party round: a waiter released by the round sees its
/// partner released too; one broken by the reset returns at once; nobody hangs. The second
/// waiter is timed so that it cannot wait forever alone in a fresh round.
#[test]
fn reset_racing_waiters() {
    model(3, || {
        let barrier = Arc::new(CyclicBarrier::new(2));
        let a = {
            let b = barrier.clone();
            thread::spawn(move || b.wait_timeout(Duration::from_secs(3600)).is_ok())
        };
        let c = {
            let b = barrier.clone();
            thread::spawn(move || b.wait_timeout(Duration::from_secs(3600)).is_ok())
        };
        barrier.reset();
        let (a, c) = (a.join().unwrap(), c.join().unwrap());
        assert_eq!(a, c, "one released by a round its partner did not complete");
    });
}

/// More threads than parties: with one party every wait is its own round, and a thread that
/// arrives while the other's action runs is counted into the next round, whose leader waits
/// for that action to finish. Two rounds, two actions, two distinct generations.
#[test]
fn early_arrival_leads_the_next_round() {
    model(3, || {
        let trips = Arc::new(AtomicUsize::new(0));
        let t = trips.clone();
        let barrier = Arc::new(CyclicBarrier::with_action(1, move || {
            t.fetch_add(1, Ordering::Relaxed);
        }));
        let other = {
            let b = barrier.clone();
            thread::spawn(move || b.wait().unwrap())
        };
        let mine = barrier.wait().unwrap();
        let theirs = other.join().unwrap();
        assert!(mine.is_leader() && theirs.is_leader());
        assert_ne!(mine.generation(), theirs.generation());
        assert_eq!(trips.load(Ordering::Relaxed), 2);
    });
}

/// Three timed threads at a two-party barrier: one round may complete; the thread left over
/// (possibly an early arrival for the next round) times out and breaks its round rather than
/// waiting forever. Either two threads pass or none does.
#[test]
fn leftover_early_arrival_times_out() {
    model(2, || {
        let barrier = Arc::new(CyclicBarrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let b = barrier.clone();
                thread::spawn(move || b.wait_timeout(Duration::from_secs(3600)).is_ok())
            })
            .collect();
        let mut passed = usize::from(barrier.wait_timeout(Duration::from_secs(3600)).is_ok());
        for h in hs {
            passed += usize::from(h.join().unwrap());
        }
        assert!(
            passed == 0 || passed == 2,
            "{passed} threads passed a two-party round"
        );
    });
}
