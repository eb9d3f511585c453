//! The bounded channel's two paths under 8 threads: plain `send`/`recv` on fetch-and-add
//! tickets (a ticket, once taken, must be served) beside timed ones that take a ticket only
//! when its turn has come, racing `close` from either side and the receivers leaving. Every
//! send either lands and is received exactly once or fails with its value back; a receiver
//! sees the end only after every value below the close's cut; no thread is left asleep on a
//! slot; every value is dropped exactly once.
#![cfg(lockgate_shuttle)]

use lockgate::channel::{bounded, RecvTimeoutError, SendTimeoutError, TryRecvError};
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicU64, Ordering};
use shuttle::thread;
use std::sync::Arc;
use std::time::Duration;

/// Never passes on a clock: under shuttle a timed wait ends where the schedule says.
const LONG: Duration = Duration::from_secs(3600);

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v
}

/// 3 plain senders and 1 timed sender (2 values each), 2 plain receivers and 1 timed
/// receiver, and a closer: 8 threads with the main one.
fn close_races(cap: usize, close_by_receiver: bool) {
    let (tx, rx) = bounded::<u32>(cap);
    let senders: Vec<_> = (0..4u32)
        .map(|s| {
            let tx = tx.clone();
            thread::spawn(move || {
                let (mut sent, mut back) = (Vec::new(), Vec::new());
                for i in 0..2 {
                    let v = 10 * s + i;
                    let r = if s == 3 {
                        match tx.send_timeout(v, LONG) {
                            Ok(()) => Ok(()),
                            // A schedule may time the wait out: the value comes back then.
                            Err(
                                SendTimeoutError::Timeout(v) | SendTimeoutError::Disconnected(v),
                            ) => Err(v),
                        }
                    } else {
                        tx.send(v).map_err(|e| e.into_inner())
                    };
                    match r {
                        Ok(()) => sent.push(v),
                        Err(v) => back.push(v),
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
    let receivers: Vec<_> = (0..3)
        .map(|r| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let v = if r == 2 {
                        match rx.recv_timeout(LONG) {
                            Ok(v) => v,
                            Err(RecvTimeoutError::Timeout) => continue,
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    } else {
                        match rx.recv() {
                            Ok(v) => v,
                            Err(_) => break,
                        }
                    };
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
        let mine = r.join().unwrap();
        for s in 0..4 {
            let from: Vec<u32> = mine.iter().copied().filter(|v| v / 10 == s).collect();
            assert!(
                from.windows(2).all(|w| w[0] < w[1]),
                "FIFO broken: {mine:?}"
            );
        }
        got.extend(mine);
    }
    assert_eq!(sorted(got), sorted(sent.clone()), "received != sent");
    assert_eq!(
        sorted(sent.into_iter().chain(back).collect()),
        [0, 1, 10, 11, 20, 21, 30, 31],
        "a value neither received nor handed back"
    );
    assert_eq!(tx.send(99).unwrap_err().into_inner(), 99);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// A value that records its drop in a bitmap: a second drop panics.
struct Tracked {
    v: u32,
    drops: Arc<AtomicU64>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let bit = 1u64 << self.v;
        let old = self.drops.fetch_or(bit, Ordering::SeqCst);
        assert_eq!(old & bit, 0, "value {} dropped twice", self.v);
    }
}

/// 4 plain senders (2 values each) on a one-slot channel queue their tickets while 3
/// receivers each take one value and leave: once the last receiver is gone, every sender
/// still waiting for its turn wakes and gets its value back. 8 threads with the main one.
fn receivers_leave(cap: usize) {
    let drops = Arc::new(AtomicU64::new(0));
    {
        let (tx, rx) = bounded::<Tracked>(cap);
        let senders: Vec<_> = (0..4u32)
            .map(|s| {
                let (tx, drops) = (tx.clone(), drops.clone());
                thread::spawn(move || {
                    let mut back = 0;
                    for i in 0..2 {
                        let v = Tracked {
                            v: 2 * s + i,
                            drops: drops.clone(),
                        };
                        if let Err(e) = tx.send(v) {
                            back += 1;
                            drop(e.into_inner());
                        }
                    }
                    back
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv().ok().map(|t| t.v))
            })
            .collect();
        drop(rx);
        let got: Vec<u32> = receivers
            .into_iter()
            .filter_map(|r| r.join().unwrap())
            .collect();
        let back: u32 = senders.into_iter().map(|s| s.join().unwrap()).sum();
        // Every receiver had a value coming: 8 sends, at most `cap` of them buffered.
        assert_eq!(got.len(), 3, "a receiver saw the end early");
        assert!(back as usize >= 8 - 3 - cap, "more values landed than room");
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        (1 << 8) - 1,
        "a value was never dropped"
    );
}

#[test]
fn tickets_race_close_from_the_sending_side() {
    for cap in [1, 2] {
        check(
            &format!("tickets close by sender, cap {cap}"),
            10,
            20_000,
            move || close_races(cap, false),
        );
    }
}

#[test]
fn tickets_race_close_from_the_receiving_side() {
    for cap in [1, 2] {
        check(
            &format!("tickets close by receiver, cap {cap}"),
            10,
            20_000,
            move || close_races(cap, true),
        );
    }
}

#[test]
fn tickets_race_the_receivers_leaving() {
    for cap in [1, 3] {
        check(
            &format!("tickets receivers leave, cap {cap}"),
            10,
            20_000,
            move || receivers_leave(cap),
        );
    }
}
