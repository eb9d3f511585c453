//! The semaphore: no lost wake-up between a release and an enqueue, timeouts and dropped
//! async acquires racing a hand-off lose no permit, close wakes every waiter, and a large
//! acquire behind small ones completes.
#![cfg(lockgate_loom)]

use lockgate::semaphore::{AcquireError, AcquireTimeoutError, Semaphore};
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::future::Future;
use std::time::Duration;

/// Two threads share one permit: never both inside, and the permit comes back.
#[test]
fn acquire_release_one_permit() {
    for fair in [false, true] {
        model(3, move || {
            let sem = Arc::new(if fair {
                Semaphore::new_fair(1)
            } else {
                Semaphore::new(1)
            });
            let inside = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (sem, inside) = (sem.clone(), inside.clone());
                    thread::spawn(move || {
                        let p = sem.acquire().unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::Relaxed), 0, "two holders");
                        inside.fetch_sub(1, Ordering::Relaxed);
                        drop(p);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(sem.available_permits(), 1);
        });
    }
}

/// A timed acquire (whose timeout may strike at any point) and an untimed one wait for one
/// permit: whichever way the race with the hand-off goes, the untimed waiter gets a permit and
/// none is lost.
#[test]
fn timeout_racing_release_loses_nothing() {
    model(2, || {
        let sem = Arc::new(Semaphore::new(0));
        let timed = {
            let sem = sem.clone();
            thread::spawn(
                move || match sem.acquire_timeout(Duration::from_secs(3600)) {
                    Ok(p) => drop(p), // gives it back for the other waiter
                    Err(e) => assert_eq!(e, AcquireTimeoutError::Timeout),
                },
            )
        };
        let untimed = {
            let sem = sem.clone();
            thread::spawn(move || drop(sem.acquire().unwrap()))
        };
        sem.add_permits(1);
        timed.join().unwrap();
        untimed.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

/// `close` wakes a waiter parked for one permit and one parked for two.
#[test]
fn close_while_waiting() {
    model(3, || {
        let sem = Arc::new(Semaphore::new(1));
        let hs: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let sem = sem.clone();
                thread::spawn(move || sem.acquire_many(n + 1).map(|p| p.permits()))
            })
            .collect();
        sem.close();
        for h in hs {
            assert_eq!(h.join().unwrap(), Err(AcquireError::Closed));
        }
        assert_eq!(sem.available_permits(), 1);
    });
}

/// `close` racing a release that would hand the only permit to a parked waiter: the waiter
/// ends with the permit (granted before the close) or with `Closed`, never parked, and the
/// permit is back at the end either way.
#[test]
fn close_racing_a_hand_off() {
    model(3, || {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || sem.acquire().map(drop))
        };
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        sem.close();
        let r = waiter.join().unwrap();
        releaser.join().unwrap();
        assert!(matches!(r, Ok(()) | Err(AcquireError::Closed)));
        assert_eq!(sem.available_permits(), 1);
        assert!(sem.try_acquire().is_err(), "closed");
    });
}

/// Fair and barging: `acquire_many(2)` racing a stream of single acquires on two permits. All
/// complete, and every permit comes back.
#[test]
fn acquire_many_vs_small_acquires() {
    for fair in [true, false] {
        model(3, move || {
            let sem = Arc::new(if fair {
                Semaphore::new_fair(2)
            } else {
                Semaphore::new(2)
            });
            let big = {
                let sem = sem.clone();
                thread::spawn(move || assert_eq!(sem.acquire_many(2).unwrap().permits(), 2))
            };
            let small = {
                let sem = sem.clone();
                thread::spawn(move || {
                    for _ in 0..2 {
                        drop(sem.acquire().unwrap());
                    }
                })
            };
            big.join().unwrap();
            small.join().unwrap();
            assert_eq!(sem.available_permits(), 2);
        });
    }
}

struct Noop;
impl std::task::Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// An async acquire is polled once (queued) and dropped while a release hands it the permit;
/// a blocked thread also waits. The permit reaches the blocked thread either way.
#[test]
fn dropped_async_acquire_passes_the_permit_on() {
    model(2, || {
        let sem = Arc::new(Semaphore::new(0));
        let blocked = {
            let sem = sem.clone();
            thread::spawn(move || drop(sem.acquire().unwrap()))
        };
        let releaser = {
            let sem = sem.clone();
            thread::spawn(move || sem.add_permits(1))
        };
        {
            let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
            let mut cx = std::task::Context::from_waker(&waker);
            let mut fut = std::pin::pin!(sem.acquire_async());
            if let std::task::Poll::Ready(p) = fut.as_mut().poll(&mut cx) {
                drop(p.unwrap()); // took it at once: give it back
            }
        } // dropped: queued (holds nothing) or granted (gives it back)
        releaser.join().unwrap();
        blocked.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}
