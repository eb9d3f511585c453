//! The cyclic barrier with 4-5 parties: rounds over several generations (the same generation
//! for every party of a round, one leader, the trip action once per round and before the
//! release), and a timeout breaking a round (either the whole round passes or the timed party
//! times out and every other party sees it broken; after `reset` the barrier works again).
#![cfg(lockgate_shuttle)]

use lockgate::barrier::{BarrierWaitResult, CyclicBarrier, WaitTimeoutError};
use lockgate::WaitPolicy;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;
use std::time::Duration;

/// A timeout that never passes on a clock (see `sync::park_until` under shuttle).
const LONG: Duration = Duration::from_secs(3600);

fn barrier(parties: usize, policy: WaitPolicy) -> (Arc<CyclicBarrier>, Arc<AtomicUsize>) {
    let trips = Arc::new(AtomicUsize::new(0));
    let t = trips.clone();
    let b = CyclicBarrier::with_action(parties, move || {
        t.fetch_add(1, Ordering::SeqCst);
    })
    .with_policy(policy);
    (Arc::new(b), trips)
}

/// Checks one completed round: one generation, one leader.
fn assert_round(results: &[BarrierWaitResult]) {
    let g = results[0].generation();
    assert!(
        results.iter().all(|r| r.generation() == g),
        "generations mixed in one round: {results:?}"
    );
    let leaders = results.iter().filter(|r| r.is_leader()).count();
    assert_eq!(leaders, 1, "{leaders} leaders in one round: {results:?}");
}

/// `parties` threads meet `rounds` times.
fn rounds(parties: usize, rounds: usize, policy: WaitPolicy) {
    let (b, trips) = barrier(parties, policy);
    let hs: Vec<_> = (0..parties)
        .map(|_| {
            let (b, trips) = (b.clone(), trips.clone());
            thread::spawn(move || {
                (0..rounds)
                    .map(|_| {
                        let r = b.wait().unwrap();
                        // The action of this round ran before anyone was released.
                        let t = trips.load(Ordering::SeqCst) as u64;
                        assert!(t > r.generation(), "released before the trip action");
                        r
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let per_thread: Vec<Vec<BarrierWaitResult>> =
        hs.into_iter().map(|h| h.join().unwrap()).collect();
    for round in 0..rounds {
        let results: Vec<_> = per_thread.iter().map(|rs| rs[round]).collect();
        assert_round(&results);
        assert_eq!(results[0].generation(), round as u64, "generations skipped");
    }
    assert_eq!(trips.load(Ordering::SeqCst), rounds, "trip action count");
    assert!(!b.is_broken());
    assert_eq!(b.waiting(), 0);
}

/// 4 parties, one of them waiting with a timeout. Either the round passes for all (one
/// generation, one leader, one trip), or the timed party gets `Timeout`, every other party
/// gets `Broken`, and the action never runs. After `reset` a full round passes.
fn timeout_breaks_a_round() {
    let parties = 4;
    let (b, trips) = barrier(parties, WaitPolicy::Park);
    let timed = {
        let b = b.clone();
        thread::spawn(move || b.wait_timeout(LONG))
    };
    let others: Vec<_> = (1..parties)
        .map(|_| {
            let b = b.clone();
            thread::spawn(move || b.wait())
        })
        .collect();
    let timed = timed.join().unwrap();
    let others: Vec<_> = others.into_iter().map(|h| h.join().unwrap()).collect();
    match timed {
        Ok(r) => {
            let mut results = vec![r];
            for o in &others {
                results.push(o.expect("the round passed for the timed party only"));
            }
            assert_round(&results);
            assert_eq!(trips.load(Ordering::SeqCst), 1);
            assert!(!b.is_broken());
        }
        Err(WaitTimeoutError::Timeout) => {
            assert!(
                others.iter().all(|o| o.is_err()),
                "the round broke for the timed party only: {others:?}"
            );
            assert_eq!(trips.load(Ordering::SeqCst), 0, "a broken round tripped");
            assert!(b.is_broken());
            b.reset();
        }
        Err(WaitTimeoutError::Broken) => panic!("nobody else could break the round"),
    }
    // Whatever happened, the barrier works for a full round now.
    let trips_before = trips.load(Ordering::SeqCst);
    let hs: Vec<_> = (0..parties)
        .map(|_| {
            let b = b.clone();
            thread::spawn(move || b.wait().expect("a round after the reset broke"))
        })
        .collect();
    let results: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_round(&results);
    assert_eq!(trips.load(Ordering::SeqCst), trips_before + 1);
}

#[test]
fn four_parties_three_rounds() {
    for policy in [WaitPolicy::Adaptive, WaitPolicy::Park] {
        let name = format!("barrier 4 parties 3 rounds, {policy:?}");
        check(&name, 10, 15_000, move || rounds(4, 3, policy));
    }
}

#[test]
fn five_parties_two_rounds() {
    let name = "barrier 5 parties 2 rounds, Adaptive";
    check(name, 10, 15_000, || rounds(5, 2, WaitPolicy::Adaptive));
}

#[test]
fn a_timeout_breaks_a_round_and_reset_repairs_it() {
    check(
        "barrier timeout breaks a round",
        10,
        20_000,
        timeout_breaks_a_round,
    );
}
