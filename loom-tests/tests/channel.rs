//! Channel: disconnection, blocking hand-off, and the rendezvous flavour.
#![cfg(lockgate_loom)]

use lockgate::channel::{bounded, RecvTimeoutError, SendTimeoutError};
use lockgate_loom_tests::model;
use loom::thread;
use std::time::Duration;

/// A blocked receiver sees the value and then the disconnect; nothing hangs.
#[test]
fn buffered_send_then_disconnect() {
    model(3, || {
        let (tx, rx) = bounded(1);
        let s = thread::spawn(move || {
            tx.send(7).unwrap();
        });
        assert_eq!(rx.recv(), Ok(7));
        assert!(rx.recv().is_err());
        s.join().unwrap();
    });
}

/// A sender blocked on a full channel wakes when the receiver leaves and gets its value back,
/// or its value was received.
#[test]
fn buffered_blocked_sender_vs_receiver_drop() {
    model(3, || {
        let (tx, rx) = bounded(1);
        tx.send(1).unwrap();
        let s = thread::spawn(move || tx.send(2).map_err(|e| e.into_inner()));
        let got = rx.try_recv().ok();
        drop(rx);
        let r = s.join().unwrap();
        assert_eq!(got, Some(1));
        assert!(r == Ok(()) || r == Err(2));
    });
}

/// Two blocked receivers, two values: both arrive. Every party is a spawned thread and the
/// main thread only joins: a notifier unparks its waiter after releasing the node, so a
/// waiter that already saw its notification can get a stray unpark later, which std's `park`
/// tolerates (our wait loops re-check) but loom's `join` does not.
fn two_blocked_receivers(cap: usize, bound: usize) {
    model(bound, move || {
        let (tx, rx) = bounded(cap);
        let rx2 = rx.clone();
        let r1 = thread::spawn(move || rx.recv().unwrap());
        let r2 = thread::spawn(move || rx2.recv().unwrap());
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        t.join().unwrap();
        let mut v = [r1.join().unwrap(), r2.join().unwrap()];
        v.sort_unstable();
        assert_eq!(v, [1, 2]);
    });
}

#[test]
fn buffered_two_blocked_receivers_cap1() {
    two_blocked_receivers(1, 2);
}

#[test]
fn buffered_two_blocked_receivers_cap2() {
    two_blocked_receivers(2, 2);
}

/// Rendezvous: the send returns only once the receiver has the value.
#[test]
fn rendezvous_hand_off() {
    model(3, || {
        let (tx, rx) = bounded(0);
        let r = thread::spawn(move || rx.recv().unwrap());
        tx.send(5).unwrap();
        assert_eq!(r.join().unwrap(), 5);
    });
}

/// A timed send races a timed receive (the timeouts may strike anywhere under loom): either
/// both succeed with the same value, or the sender gets its value back and the receiver
/// got nothing.
#[test]
fn rendezvous_timeouts_lose_nothing() {
    model(3, || {
        let (tx, rx) = bounded(0);
        let r = thread::spawn(move || rx.recv_timeout(Duration::from_secs(1)));
        let s = tx.send_timeout(9, Duration::from_secs(1));
        let got = r.join().unwrap();
        match s {
            Ok(()) => assert_eq!(got, Ok(9)),
            Err(SendTimeoutError::Timeout(9)) => assert_eq!(got, Err(RecvTimeoutError::Timeout)),
            Err(e) => panic!("unexpected {e:?}"),
        }
    });
}

/// Rendezvous disconnect: a parked receiver wakes with an error when the sender leaves.
#[test]
fn rendezvous_disconnect_wakes_receiver() {
    model(3, || {
        let (tx, rx) = bounded::<u8>(0);
        let r = thread::spawn(move || rx.recv());
        drop(tx);
        assert!(r.join().unwrap().is_err());
    });
}

struct Noop;
impl std::task::Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// An async receive that is polled once and dropped, racing a blocking send on a rendezvous
/// channel: whether or not the value was already handed to the future, it is not lost, and
/// the sender returns only after someone has it.
#[test]
fn rendezvous_dropped_async_recv_loses_nothing() {
    use std::future::Future;
    model(2, || {
        let (tx, rx) = bounded(0);
        let s = thread::spawn(move || tx.send(7u8));
        {
            let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
            let mut cx = std::task::Context::from_waker(&waker);
            let mut fut = std::pin::pin!(rx.recv_async());
            if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                assert_eq!(v, Ok(7));
                s.join().unwrap().unwrap();
                return;
            }
        }
        assert_eq!(rx.recv(), Ok(7));
        s.join().unwrap().unwrap();
    });
}
