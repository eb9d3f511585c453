//! PubSub: the seed's behaviour, every overflow policy's accounting, close and unsubscribe,
//! delivery to a subscription made before the publish, and churn on more threads than cores
//! with every payload clone dropped exactly once.

mod common;

use common::Watchdog;
use futures_executor::block_on;
use lockgate::pubsub::{Overflow, PubSub, RecvError, RecvTimeoutError, TryRecvError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn seed_weather_and_sports() {
    let hub: PubSub<String, String> = PubSub::new(10);
    let weather1 = hub.subscribe("weather").unwrap();
    let weather2 = hub.subscribe("weather").unwrap();
    let sports = hub.subscribe("sports").unwrap();
    assert_eq!(hub.subscriber_count("weather"), 2);
    assert_eq!(hub.publish("weather", "Sunny, 25°C".into()).unwrap(), 2);
    assert_eq!(hub.publish("sports", "Team A won".into()).unwrap(), 1);
    assert_eq!(weather1.recv().unwrap(), "Sunny, 25°C");
    assert_eq!(weather2.recv().unwrap(), "Sunny, 25°C");
    assert_eq!(sports.recv().unwrap(), "Team A won");
    weather2.unsubscribe();
    assert_eq!(hub.subscriber_count("weather"), 1);
    assert_eq!(hub.publish("weather", "Rain".into()).unwrap(), 1);
    hub.close();
    assert_eq!(weather1.recv().unwrap(), "Rain", "drains before the end");
    assert_eq!(weather1.recv(), Err(RecvError::Closed));
    assert_eq!(sports.try_recv(), Err(TryRecvError::Closed));
    let back = hub.publish("weather", "late".into()).unwrap_err();
    assert_eq!(back.into_inner(), "late");
    assert!(hub.subscribe("weather").is_err());
}

#[test]
fn drop_newest_counts_what_it_skips() {
    let hub: PubSub<&'static str, u64> = PubSub::new(2);
    let sub = hub.subscribe("t").unwrap();
    let delivered: usize = (0..5).map(|i| hub.publish("t", i).unwrap()).sum();
    assert_eq!(delivered, 2);
    assert_eq!(sub.lost(), 3);
    assert_eq!(sub.recv(), Err(RecvError::Lagged(3)));
    assert_eq!(sub.try_iter().collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn drop_oldest_keeps_the_latest_and_reports_lag() {
    let hub: PubSub<&'static str, u64> = PubSub::with_overflow(2, Overflow::DropOldest);
    let sub = hub.subscribe("t").unwrap();
    for i in 0..5 {
        assert_eq!(hub.publish("t", i).unwrap(), 1);
    }
    assert_eq!(sub.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(sub.try_recv(), Ok(3));
    assert_eq!(sub.try_recv(), Ok(4));
    assert_eq!(sub.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn block_back_pressures_with_timeout() {
    let _w = Watchdog::new("block_back_pressures_with_timeout", 60);
    let hub: PubSub<&'static str, u64> = PubSub::with_overflow(1, Overflow::Block);
    let sub = hub.subscribe("t").unwrap();
    assert_eq!(hub.publish("t", 1).unwrap(), 1);
    let start = Instant::now();
    assert_eq!(
        hub.publish_timeout("t", 2, Duration::from_millis(20))
            .unwrap(),
        0
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(sub.lost(), 1, "a timed-out blocking delivery is counted");
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(20));
            assert_eq!(sub.recv(), Err(RecvError::Lagged(1)));
            assert_eq!(sub.recv(), Ok(1));
            assert_eq!(sub.recv(), Ok(3));
        });
        assert_eq!(hub.publish("t", 3).unwrap(), 1, "waits for room");
    });
}

#[test]
fn unsubscribe_releases_a_blocked_publisher() {
    let _w = Watchdog::new("unsubscribe_releases_a_blocked_publisher", 60);
    let hub: PubSub<&'static str, u64> = PubSub::with_overflow(1, Overflow::Block);
    let sub = hub.subscribe("t").unwrap();
    hub.publish("t", 1).unwrap();
    thread::scope(|s| {
        let p = s.spawn(|| hub.publish("t", 2).unwrap());
        thread::sleep(Duration::from_millis(20));
        drop(sub);
        assert_eq!(p.join().unwrap(), 0);
    });
}

#[test]
fn async_recv_and_timeouts() {
    let _w = Watchdog::new("async_recv_and_timeouts", 60);
    let hub: PubSub<String, u64> = PubSub::new(4);
    let sub = hub.subscribe("t").unwrap();
    assert_eq!(
        sub.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
    thread::scope(|s| {
        s.spawn(|| {
            thread::sleep(Duration::from_millis(10));
            hub.publish("t", 9).unwrap();
        });
        assert_eq!(block_on(sub.recv_async()), Ok(9));
    });
}

/// A publish that starts after `subscribe` returned (on another thread) reaches it.
#[test]
fn published_after_subscribe_is_delivered() {
    let _w = Watchdog::new("published_after_subscribe_is_delivered", 60);
    let hub: PubSub<u32, u32> = PubSub::new(4);
    for round in 0..500 {
        let (tx, rx) = lockgate::channel::bounded(0);
        thread::scope(|s| {
            s.spawn(|| {
                let sub = hub.subscribe(round).unwrap();
                tx.send(()).unwrap();
                assert_eq!(sub.recv(), Ok(round));
            });
            rx.recv().unwrap();
            assert_eq!(hub.publish(&round, round).unwrap(), 1);
        });
    }
}

struct Tracked(Arc<AtomicUsize>, usize, u64);
impl Clone for Tracked {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, Ordering::SeqCst);
        Tracked(self.0.clone(), self.1, self.2)
    }
}
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Publishers and churning subscribers on more threads than cores, every policy, plus one
/// steady subscriber: it receives each publisher's messages in order, and what it received
/// plus what it was told it lost is exactly what was published; every payload clone is
/// dropped exactly once.
#[test]
fn stress_churn_accounts_every_message() {
    let _w = Watchdog::new("stress_churn_accounts_every_message", 120);
    const PUBS: usize = 3;
    const EACH: u64 = 3_000;
    for policy in [Overflow::DropNewest, Overflow::DropOldest, Overflow::Block] {
        let live = Arc::new(AtomicUsize::new(0));
        let hub: PubSub<&'static str, Tracked> = PubSub::with_overflow(8, policy);
        let steady = hub.subscribe("t").unwrap();
        let stop = AtomicBool::new(false);
        thread::scope(|s| {
            let steady = s.spawn(move || {
                let (mut received, mut lost) = (0u64, 0u64);
                let mut last = [None::<u64>; PUBS];
                loop {
                    match steady.recv() {
                        Ok(m) => {
                            assert!(last[m.1].is_none_or(|l| l < m.2), "out of order");
                            last[m.1] = Some(m.2);
                            received += 1;
                        }
                        Err(RecvError::Lagged(n)) => lost += n,
                        Err(RecvError::Closed) => break,
                    }
                }
                assert_eq!(steady.lost(), lost);
                (received, lost)
            });
            for _ in 0..3 {
                s.spawn(|| {
                    while !stop.load(Ordering::SeqCst) {
                        // Closed only once the publishers are done and `stop` is set.
                        let Ok(sub) = hub.subscribe("t") else {
                            assert!(stop.load(Ordering::SeqCst), "closed while publishing");
                            break;
                        };
                        for _ in 0..50 {
                            if let Err(RecvTimeoutError::Closed | RecvTimeoutError::Timeout) =
                                sub.recv_timeout(Duration::from_millis(50))
                            {
                                break;
                            }
                        }
                        // Unsubscribes with messages possibly still queued: they drop here.
                    }
                });
            }
            let pubs: Vec<_> = (0..PUBS)
                .map(|p| {
                    let (hub, live) = (&hub, &live);
                    s.spawn(move || {
                        for seq in 0..EACH {
                            live.fetch_add(1, Ordering::SeqCst);
                            let msg = Tracked(live.clone(), p, seq);
                            // Ok(0) is possible: a full steady subscriber is skipped (and
                            // counts the loss) under DropNewest.
                            let r = hub.publish_timeout("t", msg, Duration::from_millis(5));
                            assert!(r.is_ok());
                        }
                    })
                })
                .collect();
            for p in pubs {
                p.join().unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            hub.close();
            let (received, lost) = steady.join().unwrap();
            assert_eq!(
                received + lost,
                PUBS as u64 * EACH,
                "{policy:?}: unaccounted"
            );
        });
        drop(hub);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "{policy:?}: a payload leaked or dropped twice"
        );
    }
}
