//! Every channel flavour (bounded(1), bounded(2), the rendezvous bounded(0), unbounded) with
//! 5-7 threads: many producers and consumers with every value received exactly once; close
//! from either side racing sends and receives; the last receiver leaving while senders wait
//! (every value dropped exactly once, no sender left hanging); and timed sends and receives,
//! whose timeouts shuttle may strike at any park, losing nothing.
#![cfg(lockgate_shuttle)]

use lockgate::channel::{
    bounded_with, unbounded_with, Receiver, RecvTimeoutError, SendTimeoutError, Sender,
    TryRecvError,
};
use lockgate::WaitPolicy;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicU64, Ordering};
use shuttle::thread;
use std::sync::Arc;
use std::time::Duration;

/// A timeout that never passes on a clock: under shuttle a timed wait ends only where the
/// schedule makes its park time out.
const LONG: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug)]
enum Flavour {
    Bounded(usize),
    Unbounded,
}

impl Flavour {
    fn make<T>(self, policy: WaitPolicy) -> (Sender<T>, Receiver<T>) {
        match self {
            Flavour::Bounded(cap) => bounded_with(cap, policy),
            Flavour::Unbounded => unbounded_with(policy),
        }
    }

    fn name(self) -> String {
        match self {
            Flavour::Bounded(cap) => format!("bounded({cap})"),
            Flavour::Unbounded => "unbounded".into(),
        }
    }
}

/// A value that records its drop in a bitmap shared by one execution: a second drop of the
/// same value panics, and the bitmap shows at the end which values were never dropped.
struct Tracked {
    v: u32,
    drops: Arc<AtomicU64>,
}

impl Tracked {
    fn new(v: u32, drops: &Arc<AtomicU64>) -> Self {
        assert!(v < 64);
        Tracked {
            v,
            drops: drops.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let bit = 1u64 << self.v;
        let old = self.drops.fetch_or(bit, Ordering::SeqCst);
        assert_eq!(old & bit, 0, "value {} dropped twice", self.v);
    }
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// 3 producers send 2 values each and drop their senders; 3 consumers receive until the
/// channel reports every sender gone. Every value arrives exactly once, each consumer sees
/// each producer's values in order, and the receivers see the end only after the last value.
fn all_delivered(flavour: Flavour, policy: WaitPolicy) {
    let (tx, rx) = flavour.make::<u32>(policy);
    let producers: Vec<_> = (0..3u32)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in 0..2 {
                    tx.send(10 * p + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().collect::<Vec<u32>>())
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all = Vec::new();
    for c in consumers {
        let got = c.join().unwrap();
        for p in 0..3 {
            let mine: Vec<u32> = got.iter().copied().filter(|v| v / 10 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "FIFO broken: {got:?}");
        }
        all.extend(got);
    }
    assert_eq!(
        sorted(all),
        [0, 1, 10, 11, 20, 21],
        "a value lost or duplicated"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert!(rx.is_closed());
}

/// 2 senders send 2 values each while a third thread closes the channel (from the sending or
/// the receiving side) and 2 receivers receive until the end. A send either lands before the
/// close and is received exactly once, or fails and hands its value back; on one handle a
/// failure ends the sequence; every receiver sees the end, and every send after it fails.
fn close_races(flavour: Flavour, close_by_receiver: bool) {
    let (tx, rx) = flavour.make::<u32>(WaitPolicy::Adaptive);
    let senders: Vec<_> = (0..2u32)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut sent = Vec::new();
                let mut back = Vec::new();
                for i in 0..2 {
                    match tx.send(10 * s + i) {
                        Ok(()) => {
                            assert!(back.is_empty(), "a send landed after one failed");
                            sent.push(10 * s + i);
                        }
                        Err(e) => back.push(e.into_inner()),
                    }
                }
                (sent, back)
            })
        })
        .collect();
    let closer = {
        let (tx, rx) = (tx.clone(), rx.clone());
        thread::spawn(move || {
            if close_by_receiver {
                rx.close();
            } else {
                tx.close();
            }
        })
    };
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(v) = rx.recv() {
                    got.push(v);
                }
                got
            })
        })
        .collect();
    closer.join().unwrap();
    let (mut sent, mut back) = (Vec::new(), Vec::new());
    for s in senders {
        let (a, b) = s.join().unwrap();
        sent.extend(a);
        back.extend(b);
    }
    let mut got = Vec::new();
    for r in receivers {
        got.extend(r.join().unwrap());
    }
    assert_eq!(sorted(got), sorted(sent.clone()), "received != sent");
    assert_eq!(
        sorted(sent.into_iter().chain(back).collect()),
        [0, 1, 10, 11],
        "a value neither received nor handed back"
    );
    assert!(tx.is_closed() && rx.is_closed());
    assert_eq!(tx.send(99).unwrap_err().into_inner(), 99);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// 3 senders send 2 values each (blocking) while 2 receivers each take one value and leave.
/// Once the last receiver is gone no sender may stay parked: each blocked send fails and
/// hands its value back. Every value is dropped exactly once: by a receiver, by its sender,
/// or with the channel.
fn receivers_gone(flavour: Flavour) {
    let drops = Arc::new(AtomicU64::new(0));
    {
        let (tx, rx) = flavour.make::<Tracked>(WaitPolicy::Adaptive);
        let senders: Vec<_> = (0..3u32)
            .map(|s| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || {
                    let mut failed = false;
                    for i in 0..2 {
                        match tx.send(Tracked::new(2 * s + i, &drops)) {
                            Ok(()) => assert!(!failed, "a send landed after one failed"),
                            Err(e) => {
                                failed = true;
                                drop(e.into_inner());
                            }
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || drop(rx.recv()))
            })
            .collect();
        drop(rx);
        for r in receivers {
            r.join().unwrap();
        }
        for s in senders {
            s.join().unwrap();
        }
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0b11_1111,
        "a value was never dropped"
    );
}

/// 2 producers each send 2 values with a timeout, and 2 consumers receive with a timeout
/// until two of their waits time out or the senders are gone. A timed-out send hands its
/// value back; every value sent is received exactly once (by a consumer or the final drain).
fn timeouts(flavour: Flavour, policy: WaitPolicy) {
    let (tx, rx) = flavour.make::<u32>(policy);
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                let (mut sent, mut back) = (Vec::new(), Vec::new());
                for i in 0..2 {
                    match tx.send_timeout(10 * p + i, LONG) {
                        Ok(()) => sent.push(10 * p + i),
                        Err(SendTimeoutError::Timeout(v)) => back.push(v),
                        Err(SendTimeoutError::Disconnected(v)) => {
                            panic!("send of {v} saw a disconnect with receivers alive")
                        }
                    }
                }
                (sent, back)
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let (mut got, mut timeouts) = (Vec::new(), 0);
                while timeouts < 2 {
                    match rx.recv_timeout(LONG) {
                        Ok(v) => got.push(v),
                        Err(RecvTimeoutError::Timeout) => timeouts += 1,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                got
            })
        })
        .collect();
    let (mut sent, mut back) = (Vec::new(), Vec::new());
    for p in producers {
        let (a, b) = p.join().unwrap();
        sent.extend(a);
        back.extend(b);
    }
    let mut got = Vec::new();
    for c in consumers {
        got.extend(c.join().unwrap());
    }
    // Every sender is gone: what is left drains, then the end.
    got.extend(rx.iter());
    assert_eq!(sorted(got), sorted(sent.clone()), "received != sent");
    assert_eq!(
        sorted(sent.into_iter().chain(back).collect()),
        [0, 1, 10, 11],
        "a value neither sent nor handed back"
    );
}

const FLAVOURS: [Flavour; 4] = [
    Flavour::Bounded(1),
    Flavour::Bounded(2),
    Flavour::Bounded(0),
    Flavour::Unbounded,
];

// Budgets: a schedule of these models takes a few tens of microseconds here, so each model
// gets 8,000-10,000 schedules per scheduler, flavour and policy.

#[test]
fn all_delivered_3_producers_3_consumers() {
    for f in FLAVOURS {
        for policy in [WaitPolicy::Adaptive, WaitPolicy::Park] {
            let name = format!("{} all delivered 3x3, {policy:?}", f.name());
            check(&name, 10, 8_000, move || all_delivered(f, policy));
        }
    }
}

#[test]
fn sender_close_races_sends_and_receives() {
    for f in FLAVOURS {
        let name = format!("{} Sender::close races", f.name());
        check(&name, 10, 10_000, move || close_races(f, false));
    }
}

#[test]
fn receiver_close_races_sends_and_receives() {
    for f in FLAVOURS {
        let name = format!("{} Receiver::close races", f.name());
        check(&name, 10, 10_000, move || close_races(f, true));
    }
}

#[test]
fn last_receiver_gone_releases_blocked_senders() {
    for f in FLAVOURS {
        let name = format!("{} receivers gone", f.name());
        check(&name, 10, 10_000, move || receivers_gone(f));
    }
}

/// Both policies: with `Park` a timed wait reaches its park (where shuttle's timeouts strike)
/// at once, so timeouts race hand-offs far more often than after a spin phase.
#[test]
fn timed_sends_and_receives_lose_nothing() {
    for f in FLAVOURS {
        for policy in [WaitPolicy::Adaptive, WaitPolicy::Park] {
            let name = format!("{} timeouts, {policy:?}", f.name());
            check(&name, 10, 10_000, move || timeouts(f, policy));
        }
    }
}
