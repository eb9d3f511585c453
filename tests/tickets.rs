//! The fetch-and-add ticket path (RingQueue `push_wait`/`pop_wait`, the bounded channel's
//! plain `send`/`recv`) under stress with many more threads than cores: many waiters queued on
//! one slot, ticket holders beside timed and `try_` callers, and close racing tickets. Every
//! value is counted and every drop; every test has a watchdog, so a lost wake-up fails it
//! instead of hanging.

mod common;

use common::{DropCounter, Watchdog};
use lockgate::channel::{bounded, bounded_with, RecvTimeoutError, SendTimeoutError};
use lockgate::queue::RingQueue;
use lockgate::WaitPolicy;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// `producers` threads `push_wait` `per` values each, `consumers` threads `pop_wait` their
/// share; every value arrives once and in its producer's order, and every value drops once.
fn ring_stress(cap: usize, producers: usize, consumers: usize, per: usize) {
    let _w = Watchdog::new("ring ticket stress", 240);
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Arc::new(RingQueue::new(cap));
    let total = producers * per;
    let ps: Vec<_> = (0..producers)
        .map(|p| {
            let (q, drops) = (q.clone(), drops.clone());
            thread::spawn(move || {
                for i in 0..per {
                    q.push_wait((DropCounter::new(&drops), p * per + i));
                }
            })
        })
        .collect();
    let cs: Vec<_> = (0..consumers)
        .map(|c| {
            let q = q.clone();
            let n = total / consumers + usize::from(c < total % consumers);
            thread::spawn(move || {
                let mut got = Vec::with_capacity(n);
                for _ in 0..n {
                    let (_d, v) = q.pop_wait();
                    got.push(v);
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
            let mine: Vec<usize> = got.iter().copied().filter(|v| v / per == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "order broken");
        }
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..total).collect::<Vec<_>>());
    assert!(q.is_empty());
    assert_eq!(drops.load(Ordering::SeqCst), total);
}

#[test]
fn ring_tickets_one_slot_many_waiters() {
    // 16 producers queue their tickets on one slot; 4 consumers on 2 cores.
    ring_stress(1, 16, 4, 2_000);
}

#[test]
fn ring_tickets_small_and_odd_capacities() {
    for cap in [2, 3, 7, 64] {
        ring_stress(cap, 6, 6, 5_000);
    }
}

/// Ticket holders and timed callers on one ring: the timed ones take tickets only when their
/// turn has come, so a timeout leaves nothing behind, and the totals still match.
#[test]
fn ring_tickets_beside_timed_forms() {
    let _w = Watchdog::new("ring tickets beside timed forms", 240);
    let q = Arc::new(RingQueue::new(4));
    let per = 5_000;
    let mut hs = Vec::new();
    for p in 0..4usize {
        let q = q.clone();
        hs.push(thread::spawn(move || {
            for i in 0..per {
                let mut v = p * per + i;
                if p % 2 == 0 {
                    q.push_wait(v);
                } else {
                    while let Err(back) = q.push_wait_timeout(v, Duration::from_micros(20)) {
                        v = back;
                    }
                }
            }
            Vec::new()
        }));
    }
    // Every consumer first claims the right to one more value (so none waits for a value
    // that another took), then takes it: blocking ones with `pop_wait`, timed ones by
    // retrying `pop_wait_timeout`.
    let claims = Arc::new(AtomicUsize::new(0));
    for c in 0..4usize {
        let (q, claims) = (q.clone(), claims.clone());
        hs.push(thread::spawn(move || {
            let mut got = Vec::new();
            while claims.fetch_add(1, Ordering::SeqCst) < 4 * per {
                if c % 2 == 0 {
                    got.push(q.pop_wait());
                } else {
                    loop {
                        if let Some(v) = q.pop_wait_timeout(Duration::from_micros(20)) {
                            got.push(v);
                            break;
                        }
                    }
                }
            }
            got
        }));
    }
    let mut all: Vec<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..4 * per).collect::<Vec<_>>());
}

/// bounded(1) with 16 plain senders and 3 plain receivers per policy, plus timed receivers
/// taking what they can: every value once, every drop once.
#[test]
fn channel_plain_send_recv_oversubscribed() {
    for policy in [WaitPolicy::Adaptive, WaitPolicy::Park, WaitPolicy::Spin] {
        let _w = Watchdog::new("channel tickets oversubscribed", 240);
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded_with(1, policy);
        let per = 500;
        let senders: Vec<_> = (0..16usize)
            .map(|p| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || {
                    for i in 0..per {
                        tx.send((DropCounter::new(&drops), p * per + i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..4usize)
            .map(|r| {
                let rx = rx.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    if r == 3 {
                        loop {
                            match rx.recv_timeout(Duration::from_micros(50)) {
                                Ok((_d, v)) => got.push(v),
                                Err(RecvTimeoutError::Timeout) => {}
                                Err(RecvTimeoutError::Disconnected) => break,
                            }
                        }
                    } else {
                        got.extend(rx.iter().map(|(_d, v)| v));
                    }
                    got
                })
            })
            .collect();
        drop(rx);
        for s in senders {
            s.join().unwrap();
        }
        let mut all: Vec<usize> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..16 * per).collect::<Vec<_>>(), "{policy:?}");
        assert_eq!(drops.load(Ordering::SeqCst), 16 * per, "{policy:?}");
    }
}

/// Close from the receiving side while plain senders queue on a full channel and plain
/// receivers drain: each send lands and is received exactly once, or fails with its value;
/// nothing hangs, every value drops once. Repeated, since the race is the point.
#[test]
fn close_racing_ticket_holders() {
    let _w = Watchdog::new("close racing ticket holders", 240);
    for round in 0..200usize {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded(1 + round % 3);
        let senders: Vec<_> = (0..6usize)
            .map(|s| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || {
                    let (mut sent, mut back) = (Vec::new(), 0);
                    for i in 0..50 {
                        match tx.send((DropCounter::new(&drops), s * 100 + i)) {
                            Ok(()) => {
                                assert_eq!(back, 0, "a send landed after one failed");
                                sent.push(s * 100 + i);
                            }
                            Err(_) => back += 1,
                        }
                    }
                    (sent, back)
                })
            })
            .collect();
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.iter().map(|(_d, v)| v).collect::<Vec<_>>())
            })
            .collect();
        thread::sleep(Duration::from_micros(50 * (round % 5) as u64));
        rx.close();
        let (mut sent, mut back) = (Vec::new(), 0);
        for s in senders {
            let (a, b) = s.join().unwrap();
            sent.extend(a);
            back += b;
        }
        let mut got: Vec<usize> = receivers
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect();
        got.sort_unstable();
        sent.sort_unstable();
        assert_eq!(got, sent, "round {round}: received != sent");
        assert_eq!(sent.len() + back, 300);
        drop((tx, rx));
        assert_eq!(drops.load(Ordering::SeqCst), 300, "round {round}");
    }
}

/// The last receiver leaving wakes every plain sender queued on a full channel: their values
/// come back, and the ones that landed drop with the channel.
#[test]
fn receivers_leaving_release_queued_senders() {
    let _w = Watchdog::new("receivers leaving release queued senders", 120);
    for _ in 0..50 {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded(2);
        let senders: Vec<_> = (0..8usize)
            .map(|s| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || {
                    let mut back = 0;
                    for i in 0..20 {
                        if let Err(e) = tx.send((DropCounter::new(&drops), s * 100 + i)) {
                            back += 1;
                            drop(e.into_inner());
                        }
                    }
                    back
                })
            })
            .collect();
        let got = (0..10).filter(|_| rx.recv().is_ok()).count();
        drop(rx);
        let back: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
        assert_eq!(got, 10);
        assert!(back >= 160 - 10 - 2, "more values landed than room");
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), 160);
    }
}

/// `send_timeout` on a full channel whose queue is held by plain senders gives up in time and
/// hands its value back; the plain senders then all land.
#[test]
fn timed_send_behind_ticket_holders() {
    let _w = Watchdog::new("timed send behind ticket holders", 60);
    let (tx, rx) = bounded(1);
    tx.send(0).unwrap();
    let queued: Vec<_> = (1..=3)
        .map(|v| {
            let tx = tx.clone();
            thread::spawn(move || tx.send(v).unwrap())
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    assert!(matches!(
        tx.send_timeout(9, Duration::from_millis(10)),
        Err(SendTimeoutError::Timeout(9))
    ));
    let mut got: Vec<i32> = (0..4).map(|_| rx.recv().unwrap()).collect();
    for q in queued {
        q.join().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3]);
    assert!(rx.try_recv().is_err());
}

/// A plain `recv` on a closed, drained channel takes no ticket: calling it millions of times
/// (more than the turn word's wrap, 2^22 laps of a one-slot ring) never makes a burnt ticket
/// look like a served one.
#[test]
fn recv_after_the_end_takes_no_ticket() {
    let _w = Watchdog::new("recv after the end takes no ticket", 120);
    let (tx, rx) = bounded::<u64>(1);
    tx.send(1).unwrap();
    drop(tx);
    assert_eq!(rx.recv(), Ok(1));
    for _ in 0..(1u64 << 22) + 1_000 {
        assert!(rx.recv().is_err());
    }
    assert!(rx.try_recv().is_err());
    assert_eq!(rx.len(), 0);
}
