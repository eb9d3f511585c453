//! The semaphore, fair and unfair, with 5-6 threads: never more holders than permits and
//! every permit back at the end; timed acquires whose timeouts shuttle may strike at any park
//! losing no permit; a large acquire queued among small ones completing; and close waking
//! every waiter.
#![cfg(lockgate_shuttle)]

use lockgate::semaphore::{AcquireError, AcquireTimeoutError, Semaphore};
use lockgate::WaitPolicy;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;
use std::time::Duration;

/// A timeout that never passes on a clock (see `sync::park_until` under shuttle).
const LONG: Duration = Duration::from_secs(3600);

fn semaphore(permits: usize, fair: bool) -> Semaphore {
    if fair {
        Semaphore::new_fair(permits)
    } else {
        Semaphore::new(permits)
    }
}

/// With `Park` a timed acquire reaches its park, where shuttle's timeouts strike, at once.
fn parking(permits: usize, fair: bool) -> Semaphore {
    semaphore(permits, fair).with_policy(WaitPolicy::Park)
}

/// Marks one holder of `n` permits in and out, asserting that at most `limit` are held.
fn hold(inside: &AtomicUsize, n: usize, limit: usize) {
    let now = inside.fetch_add(n, Ordering::SeqCst) + n;
    assert!(now <= limit, "{now} permits held of {limit}");
    thread::yield_now();
    inside.fetch_sub(n, Ordering::SeqCst);
}

/// 5 threads share 2 permits, two acquire-release rounds each.
fn acquire_release(fair: bool, policy: WaitPolicy) {
    let sem = Arc::new(semaphore(2, fair).with_policy(policy));
    let inside = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..5)
        .map(|_| {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    let p = sem.acquire().unwrap();
                    hold(&inside, 1, 2);
                    drop(p);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 2, "a permit was lost or made up");
}

/// 1 permit; 3 threads acquire with a timeout and 2 without. A timed acquire either gets the
/// permit or returns `Timeout` holding nothing; the untimed ones always get it; no permit is
/// lost in a hand-off that races a timeout.
fn timeouts(fair: bool) {
    let sem = Arc::new(parking(1, fair));
    let inside = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..5)
        .map(|t| {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                if t < 3 {
                    match sem.acquire_timeout(LONG) {
                        Ok(p) => {
                            hold(&inside, 1, 1);
                            drop(p);
                            true
                        }
                        Err(e) => {
                            assert_eq!(e, AcquireTimeoutError::Timeout);
                            false
                        }
                    }
                } else {
                    let p = sem.acquire().unwrap();
                    hold(&inside, 1, 1);
                    drop(p);
                    true
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 1, "a permit was lost or made up");
    // Nothing is left reserved for a waiter that gave up.
    drop(sem.try_acquire().expect("the permit is free"));
}

/// 3 permits; one thread wants all 3 at once (untimed) while 4 take one at a time; the large
/// acquire completes (no starvation once the small ones stop) and the count ends whole.
fn large_among_small(fair: bool) {
    let sem = Arc::new(semaphore(3, fair));
    let inside = Arc::new(AtomicUsize::new(0));
    let big = {
        let (sem, inside) = (sem.clone(), inside.clone());
        thread::spawn(move || {
            let p = sem.acquire_many(3).unwrap();
            assert_eq!(p.permits(), 3);
            hold(&inside, 3, 3);
            drop(p);
        })
    };
    let small: Vec<_> = (0..4)
        .map(|_| {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                let p = sem.acquire().unwrap();
                hold(&inside, 1, 3);
                drop(p);
            })
        })
        .collect();
    big.join().unwrap();
    for h in small {
        h.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 3);
}

/// 0 permits; 4 waiters (2 timed) park while a fifth thread adds 1 permit and a sixth closes
/// the semaphore. Each waiter either got the permit (at most one at a time), timed out, or
/// failed with `Closed`; nobody stays parked, and later acquires fail.
fn close_wakes_everyone(fair: bool) {
    let sem = Arc::new(parking(0, fair));
    let inside = Arc::new(AtomicUsize::new(0));
    let waiters: Vec<_> = (0..4)
        .map(|t| {
            let (sem, inside) = (sem.clone(), inside.clone());
            thread::spawn(move || {
                let got = if t < 2 {
                    match sem.acquire_timeout(LONG) {
                        Ok(p) => Some(p),
                        Err(AcquireTimeoutError::Closed | AcquireTimeoutError::Timeout) => None,
                        Err(e) => panic!("{e:?}"),
                    }
                } else {
                    match sem.acquire() {
                        Ok(p) => Some(p),
                        Err(AcquireError::Closed) => None,
                        Err(e) => panic!("{e:?}"),
                    }
                };
                if let Some(p) = got {
                    hold(&inside, 1, 1);
                    drop(p);
                }
            })
        })
        .collect();
    let adder = {
        let sem = sem.clone();
        thread::spawn(move || sem.add_permits(1))
    };
    let closer = {
        let sem = sem.clone();
        thread::spawn(move || sem.close())
    };
    adder.join().unwrap();
    closer.join().unwrap();
    for w in waiters {
        w.join().unwrap();
    }
    assert!(sem.is_closed());
    assert!(sem.try_acquire().is_err());
    assert_eq!(sem.acquire().unwrap_err(), AcquireError::Closed);
}

#[test]
fn acquire_release_5_threads_2_permits() {
    for fair in [false, true] {
        for policy in [WaitPolicy::Adaptive, WaitPolicy::Park] {
            let name = format!("semaphore acquire/release, fair {fair}, {policy:?}");
            check(&name, 10, 20_000, move || acquire_release(fair, policy));
        }
    }
}

#[test]
fn timed_acquires_racing_hand_offs_lose_no_permit() {
    for fair in [false, true] {
        let name = format!("semaphore timeouts, fair {fair}");
        check(&name, 10, 20_000, move || timeouts(fair));
    }
}

#[test]
fn large_acquire_among_small_ones_completes() {
    for fair in [false, true] {
        let name = format!("semaphore large among small, fair {fair}");
        check(&name, 10, 20_000, move || large_among_small(fair));
    }
}

#[test]
fn close_wakes_every_waiter() {
    for fair in [false, true] {
        let name = format!("semaphore close, fair {fair}");
        check(&name, 10, 20_000, move || close_wakes_everyone(fair));
    }
}
