//! `unbounded()`: the segmented lock-free queue under a channel.

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use lockgate::channel::{unbounded, TryRecvError};
use lockgate::select;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn basics_len_and_order_across_blocks() {
    let (tx, rx) = unbounded();
    assert_eq!(tx.capacity(), usize::MAX);
    for i in 0..1000 {
        tx.send(i).unwrap();
        assert_eq!(rx.len(), i + 1);
        assert!(!tx.is_full());
    }
    for i in 0..1000 {
        assert_eq!(rx.try_recv(), Ok(i));
        assert_eq!(rx.len(), 999 - i);
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn values_left_behind_drop_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    for left in [0usize, 1, 30, 31, 32, 62, 100] {
        drops.store(0, Ordering::SeqCst);
        let (tx, rx) = unbounded();
        for _ in 0..left + 40 {
            tx.send(DropCounter::new(&drops)).unwrap();
        }
        for _ in 0..40 {
            drop(rx.recv().unwrap()); // leaves `left` values, starting mid-block
        }
        drop((tx, rx));
        assert_eq!(drops.load(Ordering::SeqCst), left + 40, "left {left}");
    }
}

#[test]
fn blocked_receiver_wakes_and_disconnect_ends_it() {
    let _w = Watchdog::new("blocked_receiver_wakes_and_disconnect_ends_it", 60);
    let (tx, rx) = unbounded::<u32>();
    let h = thread::spawn(move || (rx.recv(), rx.recv()));
    thread::sleep(Duration::from_millis(20));
    tx.send(1).unwrap();
    thread::sleep(Duration::from_millis(20));
    drop(tx);
    let (a, b) = h.join().unwrap();
    assert_eq!(a, Ok(1));
    assert!(b.is_err());
    // Receivers gone: sends fail with the value back.
    let (tx, rx) = unbounded::<u32>();
    drop(rx);
    assert_eq!(tx.send(5).unwrap_err().into_inner(), 5);
}

#[test]
fn async_and_select() {
    let (tx, rx) = unbounded::<u32>();
    block_on(async {
        tx.send_async(3).await.unwrap();
        assert_eq!(rx.recv_async().await, Ok(3));
    });
    let (tx2, rx2) = unbounded::<u32>();
    select! {
        send(tx2, 9) -> r => r.unwrap(),
        recv(rx) -> _ => panic!("empty"),
    }
    assert_eq!(rx2.try_recv(), Ok(9));
}

/// MPMC stress: every value received exactly once and dropped exactly once, through many
/// blocks (so through the spare cache and the release protocol).
#[test]
fn stress_mpmc_every_value_once() {
    let _w = Watchdog::new("stress_mpmc_every_value_once", 240);
    const P: usize = 4;
    const PER: usize = 25_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded();
    let start = Arc::new(Barrier::new(P + 3));
    let mut hs = Vec::new();
    for p in 0..P {
        let (tx, drops, start) = (tx.clone(), drops.clone(), start.clone());
        hs.push(thread::spawn(move || {
            start.wait();
            for i in 0..PER {
                tx.send((p * PER + i, DropCounter::new(&drops))).unwrap();
            }
            Vec::new()
        }));
    }
    drop(tx);
    for _ in 0..3 {
        let (rx, start) = (rx.clone(), start.clone());
        hs.push(thread::spawn(move || {
            start.wait();
            rx.iter().map(|(v, _d)| v).collect::<Vec<_>>()
        }));
    }
    drop(rx);
    let mut all: Vec<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..P * PER).collect::<Vec<_>>());
    assert_eq!(drops.load(Ordering::SeqCst), P * PER);
}

/// `close` racing sends on other clones: every `Ok` send is received, every refused value
/// comes back, nothing is left.
#[test]
fn stress_close_racing_sends() {
    let _w = Watchdog::new("stress_close_racing_sends", 240);
    for round in 0..40u64 {
        let (tx, rx) = unbounded::<u64>();
        let start = Arc::new(Barrier::new(5));
        let senders: Vec<_> = (0..3u64)
            .map(|s| {
                let (tx, start) = (tx.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    let mut sent = Vec::new();
                    for i in 0.. {
                        match tx.send(s << 32 | i) {
                            Ok(()) => sent.push(s << 32 | i),
                            Err(e) => {
                                assert_eq!(e.into_inner(), s << 32 | i);
                                return sent;
                            }
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        let receiver = {
            let (rx, start) = (rx.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                rx.iter().collect::<Vec<_>>()
            })
        };
        start.wait();
        for _ in 0..(round * 101 % 3000) {
            std::hint::spin_loop();
        }
        rx.close();
        let mut sent: Vec<u64> = senders
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut got = receiver.join().unwrap();
        sent.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, sent, "round {round}");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }
}
