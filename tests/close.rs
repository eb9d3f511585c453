//! `Sender::close` / `Receiver::close`: Go's `close(ch)`, safe against sends in flight.

mod common;

use common::{DropCounter, Watchdog};
use lockgate::channel::{bounded, TryRecvError, TrySendError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn close_drains_then_ends_both_flavours() {
    let (tx, rx) = bounded(3);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(!tx.is_closed() && !rx.is_closed());
    rx.close();
    assert!(tx.is_closed() && rx.is_closed());
    assert!(matches!(tx.try_send(3), Err(TrySendError::Disconnected(3))));
    assert_eq!(tx.send(4).unwrap_err().into_inner(), 4);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    tx.close(); // twice is harmless

    let (tx, rx) = bounded::<u8>(0);
    tx.close();
    assert!(tx.send(1).is_err());
    assert!(rx.recv().is_err());
    assert!(rx.is_closed() && tx.is_closed());
}

#[test]
fn is_closed_reports_the_other_side_gone() {
    let (tx, rx) = bounded::<u8>(1);
    drop(rx);
    assert!(tx.is_closed());
    let (tx, rx) = bounded::<u8>(0);
    drop(tx);
    assert!(rx.is_closed());
}

#[test]
fn close_wakes_parked_senders_and_receivers() {
    let _w = Watchdog::new("close_wakes_parked_senders_and_receivers", 60);
    for cap in [0, 1] {
        // A parked receiver sees the end.
        let (tx, rx) = bounded::<u32>(cap);
        let h = thread::spawn(move || rx.recv());
        thread::sleep(Duration::from_millis(20));
        tx.close();
        assert!(h.join().unwrap().is_err());

        // A sender parked with a deadline (full channel, or no receiver at a rendezvous)
        // gets its value back.
        let (tx, rx) = bounded::<u32>(cap);
        if cap == 1 {
            tx.send(0).unwrap();
        }
        let tx2 = tx.clone();
        let h = thread::spawn(move || tx2.send_timeout(9, Duration::from_secs(60)));
        thread::sleep(Duration::from_millis(20));
        rx.close();
        assert_eq!(h.join().unwrap().unwrap_err().into_inner(), 9);
        if cap == 1 {
            assert_eq!(rx.recv(), Ok(0));
        }
        assert!(rx.recv().is_err());
    }
}

/// A plain `send` waiting on a full buffered channel has taken its place in line: a `close`
/// after that delivers it (receivers drain it before the end), and if the receivers leave
/// instead, it fails and hands the value back.
#[test]
fn close_delivers_a_plain_send_already_in_line() {
    let _w = Watchdog::new("close_delivers_a_plain_send_already_in_line", 60);
    // A full one-slot channel, a plain send of 9 waiting on another thread, then a close.
    let queued_then_closed = || {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(0).unwrap();
        let tx2 = tx.clone();
        let h = thread::spawn(move || tx2.send(9));
        thread::sleep(Duration::from_millis(20));
        rx.close();
        (tx, rx, h)
    };
    let (tx, rx, h) = queued_then_closed();
    assert!(tx.send(10).is_err(), "a send after the close fails");
    assert_eq!(rx.recv(), Ok(0));
    assert_eq!(rx.recv(), Ok(9));
    assert!(h.join().unwrap().is_ok());
    assert!(rx.recv().is_err());

    let (_tx, rx, h) = queued_then_closed();
    drop(rx);
    assert_eq!(h.join().unwrap().unwrap_err().into_inner(), 9);
}

/// Close racing senders and receivers on other handles: every send that returned `Ok` is
/// received exactly once, every refused value comes back, and every value drops once.
#[test]
fn stress_close_racing_sends_and_receives() {
    let _w = Watchdog::new("stress_close_racing_sends_and_receives", 240);
    let mut total = 0;
    for cap in [0usize, 1, 8] {
        for round in 0..30u64 {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = bounded(cap);
            let start = Arc::new(Barrier::new(7));
            let senders: Vec<_> = (0..4u64)
                .map(|s| {
                    let (tx, drops, start) = (tx.clone(), drops.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        let mut sent = Vec::new();
                        for i in 0.. {
                            let v = s << 32 | i;
                            match tx.send((v, DropCounter::new(&drops))) {
                                Ok(()) => sent.push(v),
                                Err(e) => {
                                    assert_eq!(e.into_inner().0, v); // the refused value
                                    return (sent, i + 1);
                                }
                            }
                        }
                        unreachable!()
                    })
                })
                .collect();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let (rx, start) = (rx.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        rx.iter().map(|(v, _d)| v).collect::<Vec<_>>()
                    })
                })
                .collect();
            start.wait();
            // Let some traffic through, then close from whichever end this round picks.
            for _ in 0..(round * 37 % 500) {
                std::hint::spin_loop();
            }
            if round % 2 == 0 {
                tx.close();
            } else {
                rx.close();
            }
            let (mut sent, mut attempts) = (Vec::new(), 0);
            for h in senders {
                let (s, a) = h.join().unwrap();
                sent.extend(s);
                attempts += a;
            }
            let mut got: Vec<u64> = receivers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            sent.sort_unstable();
            got.sort_unstable();
            assert_eq!(
                got, sent,
                "cap {cap} round {round}: every Ok send received once"
            );
            assert_eq!(
                rx.try_recv().map(|(v, _)| v),
                Err(TryRecvError::Disconnected)
            );
            assert_eq!(drops.load(Ordering::SeqCst) as u64, attempts);
            total += sent.len();
        }
    }
    eprintln!("values sent before a close: {total}");
    assert!(total > 0, "the race never let a value through");
}
