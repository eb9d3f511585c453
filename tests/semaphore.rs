//! Semaphore stress and edge tests: permits are conserved, never more holders than permits,
//! timeouts are never early, closing wakes everyone, a dropped async acquire holds nothing.

mod common;

use common::Watchdog;
use futures_executor::block_on;
use lockgate::semaphore::{
    AcquireError, AcquireTimeoutError, Semaphore, TryAcquireError, MAX_PERMITS,
};
use lockgate::WaitPolicy;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

fn noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

#[test]
fn try_acquire_counts_permits() {
    let sem = Semaphore::new(3);
    let a = sem.try_acquire().unwrap();
    let mut b = sem.try_acquire_many(2).unwrap();
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    let c = b.split(1);
    assert_eq!((b.permits(), c.permits()), (1, 1));
    drop(c);
    assert_eq!(sem.available_permits(), 1);
    b.merge(a);
    assert_eq!(b.permits(), 2);
    drop(b);
    assert_eq!(sem.available_permits(), 3);
    // Zero permits: always granted while open.
    assert_eq!(sem.acquire_many(0).unwrap().permits(), 0);
}

#[test]
fn forget_and_add_permits() {
    let sem = Semaphore::new(2);
    sem.acquire().unwrap().forget();
    assert_eq!(sem.available_permits(), 1);
    sem.add_permits(4);
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn too_many_fails_at_once() {
    let sem = Semaphore::new(1);
    let n = MAX_PERMITS + 1;
    assert_eq!(sem.acquire_many(n).unwrap_err(), AcquireError::TooMany(n));
    assert_eq!(
        sem.try_acquire_many(n).unwrap_err(),
        TryAcquireError::TooMany(n)
    );
    assert_eq!(
        sem.acquire_many_timeout(n, Duration::from_secs(60))
            .unwrap_err(),
        AcquireTimeoutError::TooMany(n)
    );
    assert_eq!(
        block_on(sem.acquire_many_async(n)).unwrap_err(),
        AcquireError::TooMany(n)
    );
    let msg = sem.acquire_many(n).unwrap_err().to_string();
    assert!(msg.contains("MAX_PERMITS"), "{msg}");
}

#[test]
#[should_panic(expected = "would exceed MAX_PERMITS")]
fn add_permits_past_max_panics() {
    let sem = Semaphore::new(MAX_PERMITS - 1);
    sem.add_permits(2);
}

#[test]
#[should_panic(expected = "exceed MAX_PERMITS")]
fn new_past_max_panics() {
    let _ = Semaphore::new(MAX_PERMITS + 1);
}

#[test]
fn held_permits_count_against_max() {
    let sem = Semaphore::new(MAX_PERMITS);
    let p = sem.acquire_many(MAX_PERMITS).unwrap();
    assert_eq!(sem.available_permits(), 0);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sem.add_permits(1)));
    assert!(
        refused.is_err(),
        "held permits must count towards MAX_PERMITS"
    );
    drop(p);
    assert_eq!(sem.available_permits(), MAX_PERMITS);
}

#[test]
fn timeout_is_never_early() {
    let _w = Watchdog::new("timeout_is_never_early", 60);
    let sem = Semaphore::new(0);
    for ms in [0u64, 1, 5, 20] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        assert_eq!(
            sem.acquire_timeout(d).unwrap_err(),
            AcquireTimeoutError::Timeout
        );
        assert!(start.elapsed() >= d);
    }
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn close_wakes_every_waiter() {
    let _w = Watchdog::new("close_wakes_every_waiter", 60);
    for fair in [false, true] {
        let sem = if fair {
            Semaphore::new_fair(1)
        } else {
            Semaphore::new(1)
        };
        let held = sem.acquire().unwrap();
        thread::scope(|s| {
            let waiters: Vec<_> = (0..4)
                .map(|i| {
                    let sem = &sem;
                    s.spawn(move || match i % 2 {
                        0 => sem.acquire_many(1 + i).map(|p| p.permits()),
                        _ => sem
                            .acquire_timeout(Duration::from_secs(600))
                            .map(|p| p.permits())
                            .map_err(|e| {
                                assert_eq!(e, AcquireTimeoutError::Closed);
                                AcquireError::Closed
                            }),
                    })
                })
                .collect();
            // Let them queue (one that has not yet queued sees the close all the same).
            thread::sleep(Duration::from_millis(50));
            sem.close();
            for w in waiters {
                assert_eq!(w.join().unwrap(), Err(AcquireError::Closed));
            }
        });
        assert!(sem.is_closed());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        assert_eq!(sem.acquire().unwrap_err(), AcquireError::Closed);
        drop(held); // a permit held across close still goes back
        assert_eq!(sem.available_permits(), 1);
    }
}

/// Many threads, few permits, every acquire form: never more holders than permits, and every
/// permit back at the end.
fn hammer(sem: &Semaphore, permits: usize, threads: usize, rounds: usize) {
    let inside = AtomicUsize::new(0);
    let high = AtomicUsize::new(0);
    thread::scope(|s| {
        for t in 0..threads {
            let (sem, inside, high) = (sem, &inside, &high);
            s.spawn(move || {
                for r in 0..rounds {
                    let n = 1 + (t + r) % permits;
                    let permit = match (t + r) % 5 {
                        0 => sem.acquire_many(n).unwrap(),
                        1 => match sem.acquire_many_timeout(n, Duration::from_micros(50)) {
                            Ok(p) => p,
                            Err(e) => {
                                assert_eq!(e, AcquireTimeoutError::Timeout);
                                continue;
                            }
                        },
                        2 => match sem.try_acquire_many(n) {
                            Ok(p) => p,
                            Err(_) => sem.acquire_many(n).unwrap(),
                        },
                        3 => block_on(sem.acquire_many_async(n)).unwrap(),
                        _ => sem.acquire().unwrap(),
                    };
                    let now =
                        inside.fetch_add(permit.permits(), Ordering::SeqCst) + permit.permits();
                    high.fetch_max(now, Ordering::SeqCst);
                    assert!(now <= permits, "{now} permits held of {permits}");
                    if r % 7 == 0 {
                        thread::yield_now();
                    }
                    inside.fetch_sub(permit.permits(), Ordering::SeqCst);
                    drop(permit);
                }
            });
        }
    });
    assert!(high.load(Ordering::SeqCst) <= permits);
    assert_eq!(sem.available_permits(), permits, "permits not conserved");
}

#[test]
fn stress_barging() {
    let _w = Watchdog::new("stress_barging", 120);
    hammer(&Semaphore::new(3), 3, 8, 3_000);
}

#[test]
fn stress_fair() {
    let _w = Watchdog::new("stress_fair", 120);
    hammer(&Semaphore::new_fair(3), 3, 8, 3_000);
}

#[test]
fn stress_policies() {
    let _w = Watchdog::new("stress_policies", 120);
    hammer(
        &Semaphore::new(2).with_policy(WaitPolicy::Park),
        2,
        6,
        2_000,
    );
    hammer(
        &Semaphore::new(2).with_policy(WaitPolicy::Spin),
        2,
        3,
        2_000,
    );
}

/// A large `acquire_many` is not starved by a stream of small acquires, in either mode, also
/// while timed acquires keep queueing and giving up behind it.
#[test]
fn large_request_is_not_starved() {
    let _w = Watchdog::new("large_request_is_not_starved", 120);
    for fair in [true, false] {
        let sem = if fair {
            Semaphore::new_fair(4)
        } else {
            Semaphore::new(4)
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let _p = sem.acquire().unwrap();
                        std::hint::spin_loop();
                    }
                });
            }
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = sem.acquire_timeout(Duration::from_micros(100));
                }
            });
            thread::sleep(Duration::from_millis(10));
            for _ in 0..20 {
                let big = sem
                    .acquire_many_timeout(4, Duration::from_secs(30))
                    .expect("a large request starved");
                assert_eq!(big.permits(), 4);
            }
            stop.store(true, Ordering::Relaxed);
        });
        assert_eq!(sem.available_permits(), 4);
    }
}

/// An async acquire that was handed permits and then dropped gives them back.
#[test]
fn dropped_async_acquire_returns_granted_permits() {
    let sem = Semaphore::new(0);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    {
        let mut fut = pin!(sem.acquire_many_async(2));
        assert!(fut.as_mut().poll(&mut cx).is_pending()); // queued
        sem.add_permits(2); // handed to the queued future
        assert_eq!(sem.available_permits(), 0);
    } // dropped before being polled again
    assert_eq!(sem.available_permits(), 2);
    // And one dropped while still queued holds nothing and blocks no one.
    {
        let _p = sem.acquire_many(2).unwrap();
        let mut fut = pin!(sem.acquire_async());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.try_acquire_many(2).unwrap().permits(), 2);
}

/// Owned permits move across threads and return to their semaphore.
#[test]
fn owned_permits_cross_threads() {
    let _w = Watchdog::new("owned_permits_cross_threads", 60);
    let sem = Arc::new(Semaphore::new(2));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let p = sem.acquire_owned().unwrap();
            thread::spawn(move || {
                assert_eq!(p.permits(), 1);
                drop(p);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(sem.available_permits(), 2);
    let p = sem.try_acquire_many_owned(2).unwrap();
    assert!(sem.try_acquire_owned().is_err());
    p.forget();
    assert_eq!(sem.available_permits(), 0);
}

/// A waker that panics, counting wakers for the others.
struct Bomb;
impl std::task::Wake for Bomb {
    fn wake(self: Arc<Self>) {
        panic!("waker bomb");
    }
}

#[derive(Default)]
struct Counting(AtomicUsize);
impl std::task::Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Queues a bomb-wakered acquire of 1 and then a counted one of 1, both on `sem`.
fn bomb_then_counted(sem: &Semaphore, test: impl FnOnce(&Semaphore)) -> (Poll<bool>, usize) {
    let bomb = Waker::from(Arc::new(Bomb));
    let counted = Arc::new(Counting::default());
    let waker = Waker::from(counted.clone());
    let mut first = pin!(sem.acquire_async());
    let mut second = pin!(sem.acquire_async());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&bomb))
        .is_pending());
    assert!(second
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(sem)));
    assert!(r.is_err(), "the waker's panic reaches the caller");
    let woken = counted.0.load(Ordering::SeqCst);
    let second = match second
        .as_mut()
        .poll(&mut Context::from_waker(&noop_waker()))
    {
        Poll::Ready(p) => Poll::Ready(p.is_ok()),
        Poll::Pending => Poll::Pending,
    };
    (second, woken)
}

/// A release hands permits to a waiter whose waker panics: the releaser unwinds, and the next
/// waiter is still served and woken.
#[test]
fn panicking_waker_on_release_serves_the_rest() {
    let sem = Semaphore::new(0);
    let (second, woken) = bomb_then_counted(&sem, |sem| sem.add_permits(2));
    assert_eq!((second, woken), (Poll::Ready(true), 1));
    // The bomb's future was granted too and dropped with its frame: both permits came back.
    assert_eq!(sem.available_permits(), 2);
}

/// `close` wakes a waiter whose waker panics: the rest are still closed and woken.
#[test]
fn panicking_waker_on_close_closes_the_rest() {
    let sem = Semaphore::new(0);
    let (second, woken) = bomb_then_counted(&sem, |sem| sem.close());
    assert_eq!((second, woken), (Poll::Ready(false), 1));
}

/// A cancelled head unblocks the next waiter, whose waker panics: the one after is still
/// served (`cancel` hands on, then keeps distributing while unwinding).
#[test]
fn panicking_waker_after_cancel_serves_the_rest() {
    let sem = Semaphore::new_fair(2);
    let bomb = Waker::from(Arc::new(Bomb));
    let counted = Arc::new(Counting::default());
    let waker = Waker::from(counted.clone());
    // A head that wants 3 of the 2 permits blocks two requests for 1 behind it.
    let mut head = Box::pin(sem.acquire_many_async(3));
    let mut first = pin!(sem.acquire_async());
    let mut second = pin!(sem.acquire_async());
    assert!(head
        .as_mut()
        .poll(&mut Context::from_waker(&noop_waker()))
        .is_pending());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&bomb))
        .is_pending());
    assert!(second
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    // Dropping the head serves the first (whose waker panics), then the second.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(head)));
    assert!(r.is_err(), "the waker's panic reaches the canceller");
    assert_eq!(counted.0.load(Ordering::SeqCst), 1);
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(matches!(second.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
    assert!(matches!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
    assert_eq!(sem.available_permits(), 2);
}
