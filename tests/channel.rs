//! Channel: semantics of both flavours, timeouts, async, and stress with more threads than
//! cores, counting every value and every drop.

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use lockgate::channel::{
    bounded, bounded_with, RecvError, RecvTimeoutError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use lockgate::WaitPolicy;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

const POLICIES: [WaitPolicy; 3] = [WaitPolicy::Spin, WaitPolicy::Adaptive, WaitPolicy::Park];

#[test]
fn buffered_basics() {
    let _dog = Watchdog::new("buffered_basics", 60);
    let (tx, rx) = bounded(2);
    assert_eq!(tx.capacity(), 2);
    tx.send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(tx.is_full());
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn senders_gone_drains_then_errors() {
    let _dog = Watchdog::new("senders_gone_drains_then_errors", 60);
    let (tx, rx) = bounded(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    drop(tx);
    assert_eq!(rx.recv(), Ok(1));
    drop(tx2);
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn receivers_gone_hands_value_back() {
    let _dog = Watchdog::new("receivers_gone_hands_value_back", 60);
    for cap in [0, 1, 8] {
        let (tx, rx) = bounded(cap);
        let rx2 = rx.clone();
        drop(rx);
        drop(rx2);
        assert_eq!(tx.send(5).unwrap_err().into_inner(), 5);
        assert_eq!(tx.try_send(6), Err(TrySendError::Disconnected(6)));
        assert!(tx
            .send_timeout(7, Duration::from_secs(1))
            .unwrap_err()
            .is_disconnected());
    }
}

#[test]
fn blocked_receivers_wake_on_disconnect() {
    for cap in [0, 1, 8] {
        let _dog = Watchdog::new("blocked receivers", 60);
        let (tx, rx) = bounded::<u32>(cap);
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        drop(tx);
        for h in hs {
            assert_eq!(h.join().unwrap(), Err(RecvError));
        }
    }
}

#[test]
fn blocked_senders_wake_on_disconnect_and_get_value_back() {
    for cap in [0, 1] {
        let _dog = Watchdog::new("blocked senders", 60);
        let (tx, rx) = bounded::<u32>(cap);
        if cap == 1 {
            tx.send(0).unwrap();
        }
        let hs: Vec<_> = (1..4)
            .map(|i| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(i).map_err(|e| e.into_inner()))
            })
            .collect();
        thread::sleep(Duration::from_millis(20));
        drop(rx);
        let mut back: Vec<u32> = hs
            .into_iter()
            .map(|h| h.join().unwrap().unwrap_err())
            .collect();
        back.sort_unstable();
        assert_eq!(back, [1, 2, 3]);
    }
}

#[test]
fn rendezvous_send_returns_only_after_receive() {
    let _dog = Watchdog::new("rendezvous", 60);
    let (tx, rx) = bounded(0);
    assert_eq!(tx.capacity(), 0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let received = Arc::new(AtomicUsize::new(0));
    let r2 = received.clone();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        let v = rx.recv().unwrap();
        r2.store(1, Ordering::SeqCst);
        let w = rx.recv().unwrap();
        (v, w, rx)
    });
    tx.send(10).unwrap();
    // The send returned, so the receiver has taken the value.
    tx.send(20).unwrap();
    let (v, w, _rx) = h.join().unwrap();
    assert_eq!((v, w), (10, 20));
    assert_eq!(received.load(Ordering::SeqCst), 1);
}

#[test]
fn rendezvous_try_send_hands_off_to_parked_receiver() {
    let _dog = Watchdog::new("rendezvous try_send", 60);
    let (tx, rx) = bounded(0);
    let h = thread::spawn(move || rx.recv());
    let mut v = 42;
    loop {
        match tx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => {
                v = back;
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(h.join().unwrap(), Ok(42));
}

#[test]
fn timeouts_never_early_and_within_slack() {
    let _dog = Watchdog::new("timeouts", 60);
    for policy in POLICIES {
        for cap in [0, 1] {
            let (tx, rx) = bounded_with::<u8>(cap, policy);
            let d = Duration::from_millis(30);
            let t = Instant::now();
            assert_eq!(rx.recv_timeout(d), Err(RecvTimeoutError::Timeout));
            let e = t.elapsed();
            assert!(
                e >= d && e < d + Duration::from_secs(5),
                "recv waited {e:?}"
            );
            if cap == 1 {
                tx.send(0).unwrap();
            }
            let t = Instant::now();
            assert_eq!(tx.send_timeout(9, d), Err(SendTimeoutError::Timeout(9)));
            let e = t.elapsed();
            assert!(
                e >= d && e < d + Duration::from_secs(5),
                "send waited {e:?}"
            );
            let past = Instant::now() - Duration::from_millis(1);
            assert!(tx.send_deadline(9, past).unwrap_err().is_timeout());
        }
    }
}

#[test]
fn huge_timeout_waits_like_forever_without_overflow() {
    let _dog = Watchdog::new("huge timeout", 60);
    let (tx, rx) = bounded(1);
    let h = thread::spawn(move || rx.recv_timeout(Duration::MAX));
    thread::sleep(Duration::from_millis(20));
    tx.send(3).unwrap();
    assert_eq!(h.join().unwrap(), Ok(3));
}

#[test]
fn async_send_recv_both_flavours() {
    let _dog = Watchdog::new("async_send_recv_both_flavours", 60);
    for cap in [0, 1, 16] {
        let (tx, rx) = bounded(cap);
        let h = thread::spawn(move || {
            block_on(async {
                for i in 0..1000 {
                    tx.send_async(i).await.unwrap();
                }
            })
        });
        let got = block_on(async {
            let mut v = Vec::new();
            while let Ok(x) = rx.recv_async().await {
                v.push(x);
            }
            v
        });
        h.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }
}

struct NoopWake;
impl std::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    fut.poll(&mut Context::from_waker(&waker))
}

#[test]
fn dropped_async_recv_loses_nothing() {
    let _dog = Watchdog::new("dropped_async_recv_loses_nothing", 60);
    for cap in [0, 1] {
        let (tx, rx) = bounded(cap);
        {
            let mut fut = pin!(rx.recv_async());
            assert!(poll_once(fut.as_mut()).is_pending());
            // A value arrives for the parked future, which is then dropped unpolled.
            let t = thread::spawn({
                let tx = tx.clone();
                move || tx.send(7)
            });
            t.join().unwrap().unwrap();
        }
        assert_eq!(rx.try_recv(), Ok(7), "cap {cap}");
    }
}

#[test]
fn dropped_async_send_sends_nothing() {
    let _dog = Watchdog::new("dropped_async_send_sends_nothing", 60);
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded(0);
    {
        let mut fut = pin!(tx.send_async(DropCounter::new(&drops)));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(rx.try_recv().is_err());
    let (tx, rx) = bounded(1);
    tx.send(DropCounter::new(&drops)).unwrap();
    {
        let mut fut = pin!(tx.send_async(DropCounter::new(&drops)));
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(rx.try_recv().is_ok());
    assert!(rx.try_recv().is_err());
}

/// MPMC stress: every value received exactly once, every value dropped exactly once.
fn stress(cap: usize, policy: WaitPolicy, producers: usize, consumers: usize, per: usize) {
    let _dog = Watchdog::new("channel stress", 240);
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded_with(cap, policy);
    let mut hs = Vec::new();
    for p in 0..producers {
        let (tx, drops) = (tx.clone(), drops.clone());
        hs.push(thread::spawn(move || {
            for i in 0..per {
                tx.send((DropCounter::new(&drops), p * per + i)).unwrap();
            }
            Vec::new()
        }));
    }
    drop(tx);
    for _ in 0..consumers {
        let rx = rx.clone();
        hs.push(thread::spawn(move || {
            rx.iter().map(|(_d, v)| v).collect::<Vec<_>>()
        }));
    }
    drop(rx);
    let mut all: Vec<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..producers * per).collect::<Vec<_>>());
    assert_eq!(drops.load(Ordering::SeqCst), producers * per);
}

#[test]
fn stress_buffered_all_policies() {
    for policy in POLICIES {
        stress(16, policy, 4, 4, 10_000);
    }
}

#[test]
fn stress_capacity_one() {
    stress(1, WaitPolicy::Adaptive, 3, 3, 10_000);
}

#[test]
fn stress_rendezvous() {
    stress(0, WaitPolicy::Adaptive, 3, 3, 5_000);
}

#[test]
fn stress_timeouts_lose_nothing() {
    // Receivers with tiny timeouts race senders: a timed-out receive takes nothing, so every
    // value still arrives exactly once.
    for cap in [0, 2] {
        let _dog = Watchdog::new("timeout stress", 240);
        let (tx, rx) = bounded(cap);
        let per = 3_000;
        let mut hs = Vec::new();
        for p in 0..3 {
            let tx = tx.clone();
            hs.push(thread::spawn(move || {
                for i in 0..per {
                    let mut v = p * per + i;
                    loop {
                        match tx.send_timeout(v, Duration::from_micros(50)) {
                            Ok(()) => break,
                            Err(SendTimeoutError::Timeout(back)) => v = back,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                Vec::new()
            }));
        }
        drop(tx);
        for _ in 0..3 {
            let rx = rx.clone();
            hs.push(thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match rx.recv_timeout(Duration::from_micros(30)) {
                        Ok(v) => got.push(v),
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return got,
                    }
                }
            }));
        }
        drop(rx);
        let mut all: Vec<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..3 * per).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn stress_async_mixed_with_blocking() {
    let _dog = Watchdog::new("async stress", 240);
    for cap in [0, 4] {
        let (tx, rx) = bounded(cap);
        let per = 5_000;
        let mut hs = Vec::new();
        for p in 0..2 {
            let tx = tx.clone();
            hs.push(thread::spawn(move || {
                block_on(async {
                    for i in 0..per {
                        tx.send_async(p * per + i).await.unwrap();
                    }
                });
                Vec::new()
            }));
        }
        let tx2 = tx.clone();
        hs.push(thread::spawn(move || {
            for i in 0..per {
                tx2.send(2 * per + i).unwrap();
            }
            Vec::new()
        }));
        drop(tx);
        let rx2 = rx.clone();
        hs.push(thread::spawn(move || {
            block_on(async {
                let mut got = Vec::new();
                while let Ok(v) = rx2.recv_async().await {
                    got.push(v);
                }
                got
            })
        }));
        hs.push(thread::spawn(move || rx.iter().collect()));
        let mut all: Vec<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..3 * per).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn zero_sized_messages() {
    let _dog = Watchdog::new("zero_sized_messages", 60);
    let (tx, rx) = bounded(3);
    for _ in 0..3 {
        tx.send(()).unwrap();
    }
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
    assert_eq!(rx.iter().take(3).count(), 3);
}

#[test]
#[should_panic(expected = "exceeds RingQueue::MAX_CAPACITY")]
fn absurd_capacity_panics_clearly() {
    let _ = bounded::<u8>(usize::MAX);
}

#[test]
fn channel_handles_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<lockgate::channel::Sender<String>>();
    assert_send_sync::<lockgate::channel::Receiver<String>>();
    fn assert_send<T: Send>(_: &T) {}
    let (tx, rx) = bounded::<String>(1);
    assert_send(&tx.send_async(String::new()));
    assert_send(&rx.recv_async());
}

struct PanicWake;
impl std::task::Wake for PanicWake {
    fn wake(self: Arc<Self>) {
        panic!("waker panics on purpose");
    }
}

#[test]
fn panicking_waker_leaves_channel_usable() {
    let _dog = Watchdog::new("panicking_waker_leaves_channel_usable", 60);
    for cap in [0, 1] {
        let (tx, rx) = bounded(cap);
        let waker = Waker::from(Arc::new(PanicWake));
        {
            let mut fut = pin!(rx.recv_async());
            assert!(fut
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            // The send hands the value to the parked future and wakes it; the wake panics in
            // the sender's thread. The value is delivered all the same.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.try_send(5)));
            assert!(r.is_err(), "the waker's panic reaches the sender");
            let noop = Waker::from(Arc::new(NoopWake));
            assert_eq!(
                fut.as_mut().poll(&mut Context::from_waker(&noop)),
                Poll::Ready(Ok(5))
            );
        }
        // Still usable from every side.
        let h = thread::spawn(move || rx.recv());
        tx.send(6).unwrap();
        assert_eq!(h.join().unwrap(), Ok(6));
    }
}
