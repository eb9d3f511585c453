//! Every blocking call of the crate bounded by a Context (`*_ctx`): a cancel wakes the waiter
//! promptly with the right error, a deadline is never early, a done context fails fast, and
//! nothing is lost (a value not received stays in the channel, a permit not granted stays in
//! the semaphore). Stress tests count every item and every drop while contexts are cancelled
//! under the waiters' feet.

mod common;

use common::{DropCounter, Watchdog};
use lockgate::barrier::{BarrierCtxError, CyclicBarrier, Latch, WaitGroup};
use lockgate::channel::{bounded, RecvCtxError, SendCtxError};
use lockgate::context::{CancelHandle, Context, ContextError};
use lockgate::pubsub::{self, Overflow, PubSub};
use lockgate::semaphore::{AcquireCtxError, Semaphore};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Cancels `cancel` after `ms` on another thread.
fn cancel_later(cancel: CancelHandle, ms: u64) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(ms));
        cancel.cancel();
    })
}

#[test]
fn channel_recv_ctx_cancel_then_value_still_delivered() {
    let _w = Watchdog::new("channel_recv_ctx_cancel_then_value_still_delivered", 60);
    for cap in [0, 1, 4] {
        let (tx, rx) = bounded::<u32>(cap);
        let (ctx, cancel) = Context::background().with_cancel();
        let h = cancel_later(cancel, 20);
        assert_eq!(
            rx.recv_ctx(&ctx),
            Err(RecvCtxError::Done(ContextError::Canceled))
        );
        h.join().unwrap();
        // The channel works as before: nothing half-taken, no waiter left behind.
        let t = thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv(), Ok(7));
        t.join().unwrap();
    }
}

#[test]
fn channel_send_ctx_hands_value_back() {
    let _w = Watchdog::new("channel_send_ctx_hands_value_back", 60);
    for cap in [0, 1] {
        let (tx, rx) = bounded::<u32>(cap);
        if cap == 1 {
            tx.send(1).unwrap();
        }
        let (ctx, cancel) = Context::background().with_cancel();
        let h = cancel_later(cancel, 20);
        match tx.send_ctx(2, &ctx) {
            Err(SendCtxError::Done(v, ContextError::Canceled)) => assert_eq!(v, 2),
            other => panic!("cap {cap}: {other:?}"),
        }
        h.join().unwrap();
        assert_eq!(
            rx.len(),
            cap,
            "cap {cap}: the cancelled value reached the channel"
        );
        if cap == 1 {
            assert_eq!(rx.recv(), Ok(1));
        }
        assert!(rx.try_recv().is_err());
    }
}

#[test]
fn deadline_is_never_early_and_says_so() {
    let _w = Watchdog::new("deadline_is_never_early_and_says_so", 60);
    let (_tx, rx) = bounded::<u32>(1);
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_millis(30));
    assert_eq!(
        rx.recv_ctx(&ctx),
        Err(RecvCtxError::Done(ContextError::DeadlineExceeded))
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
    // A parent's deadline bounds the child's waits too.
    let parent = Context::background().with_timeout(Duration::from_millis(30));
    let (child, _c) = parent.with_cancel();
    let sem = Semaphore::new(0);
    let start = Instant::now();
    assert_eq!(
        sem.acquire_ctx(&child).err(),
        Some(AcquireCtxError::Done(ContextError::DeadlineExceeded))
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn done_context_fails_fast_even_when_ready() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let (tx, rx) = bounded::<u32>(2);
    tx.send(1).unwrap();
    assert_eq!(
        rx.recv_ctx(&ctx),
        Err(RecvCtxError::Done(ContextError::Canceled))
    );
    assert!(matches!(
        tx.send_ctx(2, &ctx),
        Err(SendCtxError::Done(2, _))
    ));
    assert_eq!(rx.len(), 1, "a done context touched the channel");
    let sem = Semaphore::new(3);
    assert!(sem.acquire_ctx(&ctx).is_err());
    assert_eq!(sem.available_permits(), 3);
    let latch = Latch::new(0);
    assert_eq!(latch.wait_ctx(&ctx), Err(ContextError::Canceled));
    // A background context never ends: these succeed.
    let bg = Context::background();
    assert_eq!(rx.recv_ctx(&bg), Ok(1));
    assert!(sem.acquire_ctx(&bg).is_ok());
    assert_eq!(latch.wait_ctx(&bg), Ok(()));
}

#[test]
fn semaphore_acquire_ctx_loses_no_permit() {
    let _w = Watchdog::new("semaphore_acquire_ctx_loses_no_permit", 60);
    for sem in [Semaphore::new(2), Semaphore::new_fair(2)] {
        let held = sem.acquire_many(2).unwrap();
        let (ctx, cancel) = Context::background().with_cancel();
        let h = cancel_later(cancel, 20);
        assert_eq!(
            sem.acquire_many_ctx(2, &ctx).err(),
            Some(AcquireCtxError::Done(ContextError::Canceled))
        );
        h.join().unwrap();
        drop(held);
        assert_eq!(sem.available_permits(), 2);
        assert!(
            sem.try_acquire_many(2).is_ok(),
            "the queue kept a dead waiter"
        );
    }
    let sem = Arc::new(Semaphore::new(1));
    let _p = sem.acquire_owned().unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    assert_eq!(
        sem.acquire_many_owned_ctx(1, &ctx).err(),
        Some(AcquireCtxError::Done(ContextError::Canceled))
    );
    assert_eq!(
        sem.acquire_many_ctx(usize::MAX, &Context::background())
            .err(),
        Some(AcquireCtxError::TooMany(usize::MAX))
    );
}

#[test]
fn latch_and_wait_group_wait_ctx() {
    let _w = Watchdog::new("latch_and_wait_group_wait_ctx", 60);
    let latch = Latch::new(1);
    let (ctx, cancel) = Context::background().with_cancel();
    let h = cancel_later(cancel, 20);
    assert_eq!(latch.wait_ctx(&ctx), Err(ContextError::Canceled));
    h.join().unwrap();
    latch.count_down();
    assert_eq!(latch.wait_ctx(&Context::background()), Ok(()));

    let wg = WaitGroup::new();
    wg.add(1);
    let ctx = Context::background().with_timeout(Duration::from_millis(20));
    assert_eq!(wg.wait_ctx(&ctx), Err(ContextError::DeadlineExceeded));
    let wg2 = wg.clone();
    let t = thread::spawn(move || wg2.done());
    assert_eq!(wg.wait_ctx(&Context::background()), Ok(()));
    t.join().unwrap();
}

#[test]
fn barrier_wait_ctx_breaks_the_round() {
    let _w = Watchdog::new("barrier_wait_ctx_breaks_the_round", 60);
    let barrier = Arc::new(CyclicBarrier::new(3));
    let b = barrier.clone();
    let other = thread::spawn(move || b.wait());
    let (ctx, cancel) = Context::background().with_cancel();
    let h = cancel_later(cancel, 30);
    assert_eq!(
        barrier.wait_ctx(&ctx).err(),
        Some(BarrierCtxError::Done(ContextError::Canceled))
    );
    h.join().unwrap();
    assert!(
        other.join().unwrap().is_err(),
        "the other waiter was not told"
    );
    assert!(barrier.is_broken());
    barrier.reset();
    // A fresh round completes with ctx waits.
    let b = barrier.clone();
    let t = thread::spawn(move || b.wait_ctx(&Context::background()).map(|r| r.is_leader()));
    let b = barrier.clone();
    let u = thread::spawn(move || b.wait().map(|r| r.is_leader()));
    let me = barrier
        .wait_ctx(&Context::background())
        .unwrap()
        .is_leader();
    let leaders = [me, t.join().unwrap().unwrap(), u.join().unwrap().unwrap()];
    assert_eq!(leaders.iter().filter(|l| **l).count(), 1);
}

#[test]
fn pubsub_recv_ctx_and_publish_ctx() {
    let _w = Watchdog::new("pubsub_recv_ctx_and_publish_ctx", 60);
    let hub: PubSub<&str, u32> = PubSub::with_overflow(1, Overflow::Block);
    let sub = hub.subscribe("t").unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let h = cancel_later(cancel, 20);
    assert_eq!(
        sub.recv_ctx(&ctx),
        Err(pubsub::RecvCtxError::Done(ContextError::Canceled))
    );
    h.join().unwrap();
    assert_eq!(hub.publish("t", 1), Ok(1));
    // The subscriber is full: a Block publish waits until the context ends, then counts
    // the message lost for that subscriber.
    let (ctx, cancel) = Context::background().with_cancel();
    let h = cancel_later(cancel, 20);
    assert_eq!(hub.publish_ctx("t", 2, &ctx).ok(), Some(0));
    h.join().unwrap();
    assert_eq!(sub.lost(), 1);
    assert!(matches!(
        hub.publish_ctx("t", 3, &ctx),
        Err(pubsub::PublishCtxError::Done(3, ContextError::Canceled))
    ));
    // The loss is reported once, then the queued message comes.
    assert_eq!(
        sub.recv_ctx(&Context::background()),
        Err(pubsub::RecvCtxError::Lagged(1))
    );
    assert_eq!(sub.recv_ctx(&Context::background()), Ok(1));
}

#[test]
fn one_cancel_wakes_waiters_of_every_kind() {
    let _w = Watchdog::new("one_cancel_wakes_waiters_of_every_kind", 60);
    let (root, cancel) = Context::background().with_cancel();
    let woken = Arc::new(AtomicUsize::new(0));
    let (_tx, rx) = bounded::<u32>(0);
    let sem = Arc::new(Semaphore::new(0));
    let latch = Arc::new(Latch::new(1));
    let mut hs = Vec::new();
    for i in 0..60 {
        let ctx = root.with_timeout(Duration::from_secs(600)).with_cancel().0;
        let (rx, sem, latch, woken) = (rx.clone(), sem.clone(), latch.clone(), woken.clone());
        hs.push(thread::spawn(move || {
            let ok = match i % 3 {
                0 => rx.recv_ctx(&ctx) == Err(RecvCtxError::Done(ContextError::Canceled)),
                1 => {
                    sem.acquire_ctx(&ctx).err()
                        == Some(AcquireCtxError::Done(ContextError::Canceled))
                }
                _ => latch.wait_ctx(&ctx) == Err(ContextError::Canceled),
            };
            assert!(ok, "waiter {i} got the wrong outcome");
            woken.fetch_add(1, Ordering::SeqCst);
        }));
    }
    thread::sleep(Duration::from_millis(50));
    assert_eq!(woken.load(Ordering::SeqCst), 0);
    cancel.cancel();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(woken.load(Ordering::SeqCst), 60);
    assert_eq!(sem.available_permits(), 0);
}

/// Consumers receive with contexts that a canceller keeps cancelling; every item sent is
/// received exactly once and every item is dropped exactly once.
#[test]
fn stress_channel_recv_ctx_under_cancellation() {
    let _w = Watchdog::new("stress_channel_recv_ctx_under_cancellation", 120);
    const ITEMS: usize = 20_000;
    for cap in [0, 8] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = bounded::<(usize, DropCounter)>(cap);
        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let cancels: Arc<std::sync::Mutex<Vec<CancelHandle>>> = Default::default();
        let mut hs = Vec::new();
        for p in 0..2 {
            let (tx, drops) = (tx.clone(), drops.clone());
            hs.push(thread::spawn(move || {
                for i in (p..ITEMS).step_by(2) {
                    let mut item = (i, DropCounter::new(&drops));
                    // Senders use ctx too: a cancelled send hands the item back, resend it.
                    for attempt in 0.. {
                        let (ctx, c) = Context::background().with_cancel();
                        if i % 97 == 0 && attempt == 0 {
                            c.cancel();
                        }
                        match tx.send_ctx(item, &ctx) {
                            Ok(()) => break,
                            Err(SendCtxError::Done(v, _)) => item = v,
                            Err(SendCtxError::Disconnected(_)) => panic!("receivers gone"),
                        }
                    }
                }
            }));
        }
        drop(tx);
        let got = Arc::new(AtomicUsize::new(0));
        let mut consumers = Vec::new();
        for _ in 0..3 {
            let (rx, seen, got, cancels) = (rx.clone(), seen.clone(), got.clone(), cancels.clone());
            consumers.push(thread::spawn(move || loop {
                let (ctx, c) = Context::background().with_cancel();
                cancels.lock().unwrap().push(c);
                match rx.recv_ctx(&ctx) {
                    Ok((i, _d)) => {
                        assert_eq!(seen[i].fetch_add(1, Ordering::SeqCst), 0, "item {i} twice");
                        got.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(RecvCtxError::Done(ContextError::Canceled)) => {}
                    Err(RecvCtxError::Disconnected) => return,
                    Err(e) => panic!("{e}"),
                }
            }));
        }
        let canceller = {
            let (stop, cancels) = (stop.clone(), cancels.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    for c in cancels.lock().unwrap().drain(..) {
                        c.cancel();
                    }
                    thread::yield_now();
                }
            })
        };
        for h in hs {
            h.join().unwrap();
        }
        for c in consumers {
            c.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        canceller.join().unwrap();
        assert_eq!(got.load(Ordering::SeqCst), ITEMS, "cap {cap}");
        assert!(seen.iter().all(|s| s.load(Ordering::SeqCst) == 1));
        assert_eq!(drops.load(Ordering::SeqCst), ITEMS, "cap {cap}: drops");
    }
}

/// Permits are conserved while waiters are cancelled mid-wait: no permit granted to a
/// cancelled waiter is lost, and never more holders than permits.
#[test]
fn stress_semaphore_acquire_ctx_under_cancellation() {
    let _w = Watchdog::new("stress_semaphore_acquire_ctx_under_cancellation", 120);
    for fair in [false, true] {
        let sem = Arc::new(if fair {
            Semaphore::new_fair(2)
        } else {
            Semaphore::new(2)
        });
        let inside = Arc::new(AtomicUsize::new(0));
        let acquired = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for t in 0..6 {
            let (sem, inside, acquired) = (sem.clone(), inside.clone(), acquired.clone());
            hs.push(thread::spawn(move || {
                for i in 0..3_000 {
                    let ctx = if (i + t) % 3 == 0 {
                        Context::background().with_timeout(Duration::from_micros(20))
                    } else {
                        Context::background()
                    };
                    if let Ok(p) = sem.acquire_ctx(&ctx) {
                        assert!(inside.fetch_add(1, Ordering::SeqCst) < 2, "over the limit");
                        inside.fetch_sub(1, Ordering::SeqCst);
                        acquired.fetch_add(1, Ordering::SeqCst);
                        drop(p);
                    }
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 2, "fair {fair}: a permit was lost");
        assert!(acquired.load(Ordering::SeqCst) >= 6 * 2_000);
    }
}

/// A `publish_ctx` whose context ends during a blocking fan-out: every full subscriber counts
/// the message lost, the call reports how many queued it, and nothing blocks afterwards.
#[test]
fn publish_ctx_cancelled_mid_fan_out() {
    let _w = Watchdog::new("publish_ctx_cancelled_mid_fan_out", 60);
    let hub: PubSub<u8, u32> = PubSub::with_overflow(1, Overflow::Block);
    let subs: Vec<_> = (0..3).map(|_| hub.subscribe(0).unwrap()).collect();
    let free = hub.subscribe(0).unwrap();
    assert_eq!(hub.publish(&0, 1), Ok(4));
    assert_eq!(free.recv(), Ok(1)); // this one has room again
    let (ctx, cancel) = Context::background().with_cancel();
    let h = cancel_later(cancel, 30);
    assert_eq!(hub.publish_ctx(&0, 2, &ctx).ok(), Some(1));
    h.join().unwrap();
    for s in &subs {
        assert_eq!(s.lost(), 1);
        assert_eq!(s.try_recv(), Err(pubsub::TryRecvError::Lagged(1)));
        assert_eq!(s.try_recv(), Ok(1));
    }
    assert_eq!(free.try_recv(), Ok(2));
}

/// Waits bounded by a context leave no watch behind in the context's wait list: after many
/// cancelled, timed-out and completed waits, a later cancel wakes only the waiter that is
/// really there, and plain timed waits keep their own deadlines.
#[test]
fn ctx_waits_leave_nothing_behind() {
    let _w = Watchdog::new("ctx_waits_leave_nothing_behind", 60);
    let (root, cancel_root) = Context::background().with_cancel();
    let (tx, rx) = bounded::<u32>(1);
    for i in 0..200 {
        let ctx = root.with_timeout(Duration::from_micros(50));
        if i % 2 == 0 {
            let _ = rx.recv_ctx(&ctx);
        } else {
            tx.send(i).unwrap();
            assert_eq!(rx.recv_ctx(&root), Ok(i));
        }
    }
    // A plain timed wait after all that still times out on its own deadline.
    let start = Instant::now();
    assert!(rx.recv_timeout(Duration::from_millis(20)).is_err());
    assert!(start.elapsed() >= Duration::from_millis(20));
    let t = {
        let (rx, root) = (rx.clone(), root.clone());
        thread::spawn(move || rx.recv_ctx(&root))
    };
    thread::sleep(Duration::from_millis(20));
    cancel_root.cancel();
    assert_eq!(
        t.join().unwrap(),
        Err(RecvCtxError::Done(ContextError::Canceled))
    );
}
