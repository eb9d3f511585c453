//! `select!` and `select_async!`: exactly one arm fires, nothing is lost, no arm starves.

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use lockgate::channel::{bounded, Receiver, RecvError, SendError};
use lockgate::context::{Context, ContextError};
use lockgate::future::{Promise, PromiseError};
use lockgate::{select, select_async};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn rendezvous_recv_with_default_timeout() {
    let _w = Watchdog::new("rendezvous_recv_with_default_timeout", 60);
    for _ in 0..500 {
        let (tx, rx) = bounded::<i32>(0);
        let h = thread::spawn(move || tx.send(42));
        select! {
            recv(rx) -> v => assert_eq!(v, Ok(42)),
            default(Duration::from_secs(10)) => panic!("no value in 10 s"),
        }
        h.join().unwrap().unwrap();
    }
}

#[test]
fn picks_the_ready_arm_and_default_when_none() {
    let (tx1, rx1) = bounded::<u32>(1);
    let (tx2, rx2) = bounded::<&str>(1);
    tx2.send("two").unwrap();
    let got = select! {
        recv(rx1) -> _ => "one",
        recv(rx2) -> m => m.unwrap(),
    };
    assert_eq!(got, "two");
    let none = select! {
        recv(rx1) -> _ => false,
        recv(rx2) -> _ => false,
        default => true,
    };
    assert!(none);
    // A ready send arm; the channel keeps the value.
    select! {
        send(tx1, 5) -> r => assert_eq!(r, Ok(())),
        default => panic!("room was there"),
    }
    assert_eq!(rx1.try_recv(), Ok(5));
    assert!(select! { default => true });
}

#[test]
fn default_timeout_is_never_early() {
    let (_tx, rx) = bounded::<u32>(1);
    let start = Instant::now();
    let timed_out = select! {
        recv(rx) -> _ => false,
        default(Duration::from_millis(30)) => true,
    };
    assert!(timed_out);
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn disconnected_arms_fire_with_errors() {
    let (tx, rx) = bounded::<u32>(0);
    drop(tx);
    select! {
        recv(rx) -> r => assert_eq!(r, Err(RecvError)),
    }
    let (tx, rx) = bounded::<String>(2);
    rx.close();
    select! {
        send(tx, "back".to_string()) -> r => assert_eq!(r, Err(SendError("back".to_string()))),
    }
}

#[test]
fn wakes_on_each_kind_of_arm() {
    let _w = Watchdog::new("wakes_on_each_kind_of_arm", 60);
    for kind in 0..4 {
        let (tx, rx) = bounded::<u32>(0);
        let (btx, brx) = bounded::<u32>(1);
        btx.send(0).unwrap(); // full: the send arm waits
        let (ctx, cancel) = Context::background().with_cancel();
        let (resolver, mut p) = Promise::<u32>::pending();
        // The other ends stay alive until the join (the thread returns them), so no arm
        // but the chosen one can become ready (a dropped sender would end `rx`, a dropped
        // resolver would end `p`).
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            match kind {
                0 => tx.send(1).unwrap(),
                1 => assert_eq!(brx.recv(), Ok(0)),
                2 => cancel.cancel(),
                _ => {
                    resolver.resolve(3);
                    return (tx, brx, cancel, None);
                }
            }
            (tx, brx, cancel, Some(resolver))
        });
        let fired = select! {
            recv(rx) -> v => { assert_eq!(v, Ok(1)); 0 },
            send(btx, 9) -> r => { assert_eq!(r, Ok(())); 1 },
            done(ctx) -> e => { assert_eq!(e, ContextError::Canceled); 2 },
            get(p) -> r => { assert_eq!(r, Ok(3)); 3 },
        };
        assert_eq!(fired, kind);
        h.join().unwrap();
    }
}

#[test]
fn timer_arm_fires_not_early_and_ctx_deadline_fires() {
    let (_tx, rx) = bounded::<u32>(1);
    let start = Instant::now();
    select! {
        recv(rx) -> _ => panic!("nothing was sent"),
        recv(lockgate::time::after(Duration::from_millis(25))) -> at => {
            assert!(at.unwrap() >= start + Duration::from_millis(25));
        }
    }
    assert!(start.elapsed() >= Duration::from_millis(25));
    let ctx = Context::background().with_timeout(Duration::from_millis(25));
    let start = Instant::now();
    select! {
        recv(rx) -> _ => panic!("nothing was sent"),
        done(ctx) -> e => assert_eq!(e, ContextError::DeadlineExceeded),
    }
    assert!(start.elapsed() >= Duration::from_millis(25));
}

#[test]
fn promise_arm_spends_the_promise_only_when_it_fires() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    let (r, mut p) = Promise::<u32>::pending();
    select! {
        recv(rx) -> v => assert_eq!(v, Ok(1)),
        get(p) -> _ => panic!("not resolved"),
    }
    drop(r);
    select! {
        get(p) -> v => assert_eq!(v, Err(PromiseError::Abandoned)),
    }
}

#[test]
fn a_select_never_pairs_with_itself() {
    // Both ends of one rendezvous channel in one select, nobody else: nothing can fire.
    let (tx, rx) = bounded::<u32>(0);
    let timed_out = select! {
        send(tx, 1) -> _ => false,
        recv(rx) -> _ => false,
        default(Duration::from_millis(20)) => true,
    };
    assert!(timed_out);
}

#[test]
fn losing_send_values_drop_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx1, rx1) = bounded(1);
    let (tx2, _rx2) = bounded(1);
    tx2.send(DropCounter::new(&drops)).unwrap(); // full
    select! {
        send(tx1, DropCounter::new(&drops)) -> r => assert!(r.is_ok()),
        send(tx2, DropCounter::new(&drops)) -> _ => panic!("full"),
    }
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "only the losing value dropped"
    );
    drop(rx1.recv().unwrap());
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn fair_between_ready_arms() {
    let (tx1, rx1) = bounded::<u8>(1);
    let (tx2, rx2) = bounded::<u8>(1);
    let mut counts = [0u32; 2];
    for _ in 0..10_000 {
        let _ = tx1.try_send(1);
        let _ = tx2.try_send(2);
        select! {
            recv(rx1) -> _ => counts[0] += 1,
            recv(rx2) -> _ => counts[1] += 1,
        }
    }
    assert!(counts.iter().all(|&c| c > 3_500), "unfair: {counts:?}");
}

#[test]
#[should_panic(expected = "would block forever")]
fn empty_select_panics_instead_of_hanging() {
    select! {}
}

/// Producers select over sends to three channels (rendezvous, one slot, four slots),
/// consumers select over receives from all three: every value arrives exactly once and
/// drops exactly once, including selects meeting selects on the rendezvous channel.
#[test]
fn stress_selects_on_both_ends() {
    let _w = Watchdog::new("stress_selects_on_both_ends", 240);
    const PRODUCERS: usize = 4;
    const PER: usize = 3_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let (t0, r0) = bounded::<(usize, DropCounter)>(0);
    let (t1, r1) = bounded::<(usize, DropCounter)>(1);
    let (t2, r2) = bounded::<(usize, DropCounter)>(4);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (t0, t1, t2, drops) = (t0.clone(), t1.clone(), t2.clone(), drops.clone());
            thread::spawn(move || {
                let mut per_arm = [0usize; 3];
                for i in 0..PER {
                    let v = p * PER + i;
                    // Each arm gets its own value; the losers' values drop unsent.
                    select! {
                        send(t0, (v, DropCounter::new(&drops))) -> r => { r.unwrap(); per_arm[0] += 1; },
                        send(t1, (v, DropCounter::new(&drops))) -> r => { r.unwrap(); per_arm[1] += 1; },
                        send(t2, (v, DropCounter::new(&drops))) -> r => { r.unwrap(); per_arm[2] += 1; },
                    }
                }
                per_arm
            })
        })
        .collect();
    drop((t0, t1, t2));
    let consumers: Vec<_> = (0..3)
        .map(|c| {
            let (r0, r1, r2) = (r0.clone(), r1.clone(), r2.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut open = [true; 3];
                while open.iter().any(|&o| o) {
                    // The consumer 0 blocks on the rendezvous channel alone at times, so
                    // blocking receivers meet selecting senders too.
                    if c == 0 && open[0] && got.len() % 7 == 0 {
                        match r0.recv() {
                            Ok((v, _d)) => got.push(v),
                            Err(_) => open[0] = false,
                        }
                        continue;
                    }
                    select! {
                        recv(r0) -> m => match m { Ok((v, _d)) => got.push(v), Err(_) => open[0] = false },
                        recv(r1) -> m => match m { Ok((v, _d)) => got.push(v), Err(_) => open[1] = false },
                        recv(r2) -> m => match m { Ok((v, _d)) => got.push(v), Err(_) => open[2] = false },
                    }
                }
                got
            })
        })
        .collect();
    drop((r0, r1, r2));
    let mut per_arm = [0usize; 3];
    for h in producers {
        for (a, n) in per_arm.iter_mut().zip(h.join().unwrap()) {
            *a += n;
        }
    }
    let mut all: Vec<usize> = consumers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..PRODUCERS * PER).collect::<Vec<_>>());
    // Three values made per select: one sent, two dropped unsent.
    assert_eq!(drops.load(Ordering::SeqCst), 3 * PRODUCERS * PER);
    assert!(
        per_arm.iter().all(|&n| n > 0),
        "an arm never fired: {per_arm:?}"
    );
}

struct NoopWake;
impl std::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::from(Arc::new(NoopWake));
    fut.poll(&mut TaskContext::from_waker(&waker))
}

#[test]
fn async_select_waits_and_fires() {
    let _w = Watchdog::new("async_select_waits_and_fires", 60);
    let (tx, rx) = bounded::<u32>(0);
    let (ctx, cancel) = Context::background().with_cancel();
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(5).unwrap();
        thread::sleep(Duration::from_millis(10));
        cancel.cancel();
    });
    let got = block_on(async {
        let a = select_async! {
            recv(rx) -> v => v.ok(),
            done(ctx) -> _ => None,
        };
        let b = select_async! {
            recv(rx) -> v => v.ok(),
            done(ctx) -> _ => None,
        };
        (a, b)
    });
    // The value first; then the sender is gone or the context cancelled: either ends it.
    assert_eq!(got.0, Some(5));
    assert_eq!(got.1, None);
    h.join().unwrap();
}

/// A dropped async select takes nothing: a value a rendezvous sender handed to its arm
/// goes to the next receive.
#[test]
fn dropped_async_select_loses_nothing() {
    let _w = Watchdog::new("dropped_async_select_loses_nothing", 60);
    for _ in 0..200 {
        let (tx, rx) = bounded::<u32>(0);
        let (_tx2, rx2) = bounded::<u32>(1);
        {
            let mut fut = pin!(async {
                select_async! {
                    recv(rx) -> v => v.ok(),
                    recv(rx2) -> _ => None,
                }
            });
            assert!(poll_once(fut.as_mut()).is_pending());
            // The sender finds the select's node and hands the value to it.
            assert_eq!(tx.try_send(7), Ok(()));
        } // dropped before it was polled again
        assert_eq!(
            rx.try_recv(),
            Ok(7),
            "the value handed to the dropped select is kept"
        );
    }
}

/// Review finding: a context's deadline passing between the select's round and its clock
/// check must fire the `done` arm, never end the select empty-handed (which would reach
/// "no arm fired") or run a longer `default(timeout)` early.
#[test]
fn context_deadline_fires_the_done_arm_not_default() {
    let _w = Watchdog::new("context_deadline_fires_the_done_arm_not_default", 60);
    let (_tx, rx) = bounded::<u32>(1);
    for i in 0..200u64 {
        let ctx = Context::background().with_timeout(Duration::from_micros(i % 20 * 50));
        let fired_done = select! {
            recv(rx) -> _ => false,
            done(ctx) -> e => { assert_eq!(e, ContextError::DeadlineExceeded); true },
            default(Duration::from_secs(10)) => false,
        };
        assert!(fired_done);
        let ctx = Context::background().with_timeout(Duration::from_micros(i % 7 * 30));
        select! {
            recv(rx) -> _ => panic!("nothing was sent"),
            done(ctx) -> e => assert_eq!(e, ContextError::DeadlineExceeded),
        }
    }
}

/// Review finding: an async select dropped after a notifier picked its node passes the
/// notification on, so a receiver parked behind it is not left asleep with a value waiting.
#[test]
fn dropped_async_select_passes_its_notification_on() {
    let _w = Watchdog::new("dropped_async_select_passes_its_notification_on", 60);
    for _ in 0..50 {
        let (tx, rx) = bounded::<u32>(1);
        let rx2 = rx.clone();
        let mut fut = Box::pin(async move {
            select_async! {
                recv(rx2) -> v => v.ok(),
            }
        });
        assert!(poll_once(fut.as_mut()).is_pending()); // linked first in the list
        let parked = thread::spawn(move || rx.recv_timeout(Duration::from_secs(20)));
        thread::sleep(Duration::from_millis(5)); // let it park behind the select's node
        tx.send(4).unwrap(); // notifies the select's node (the oldest waiter)
        drop(fut); // never polled again: the notification must move on
        assert_eq!(parked.join().unwrap(), Ok(4));
    }
}

/// `SelectRecv` over a run-time set: 8 producers on a mix of rendezvous and buffered
/// channels, one consumer removing each channel as it ends; every value once, dropped once.
#[test]
fn select_recv_fan_in_over_a_vec() {
    use lockgate::select::SelectRecv;
    let _w = Watchdog::new("select_recv_fan_in_over_a_vec", 240);
    const P: usize = 8;
    const PER: usize = 2_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let chans: Vec<_> = (0..P)
        .map(|i| bounded::<(usize, DropCounter)>(i % 3))
        .collect();
    let producers: Vec<_> = chans
        .iter()
        .enumerate()
        .map(|(p, (tx, _))| {
            let (tx, drops) = (tx.clone(), drops.clone());
            thread::spawn(move || {
                for i in 0..PER {
                    tx.send((p * PER + i, DropCounter::new(&drops))).unwrap();
                }
            })
        })
        .collect();
    let receivers: Vec<_> = chans.into_iter().map(|(_, rx)| rx).collect(); // senders: producers'
    let mut sel = SelectRecv::new();
    for rx in &receivers {
        sel.recv(rx);
    }
    assert_eq!(sel.len(), P);
    let mut got = Vec::new();
    while !sel.is_empty() {
        match sel.select() {
            (_, Ok((v, _d))) => got.push(v),
            (i, Err(_)) => sel.remove(i), // that producer is done and its channel drained
        }
    }
    for h in producers {
        h.join().unwrap();
    }
    got.sort_unstable();
    assert_eq!(got, (0..P * PER).collect::<Vec<_>>());
    assert_eq!(drops.load(Ordering::SeqCst), P * PER);
    assert!(sel.try_select().is_none());
}

#[test]
fn select_recv_timeout_remove_and_empty() {
    use lockgate::select::SelectRecv;
    let (_t1, r1) = bounded::<u32>(1);
    let (t2, r2) = bounded::<u32>(1);
    let mut sel = SelectRecv::new();
    let (a, b) = (sel.recv(&r1), sel.recv(&r2));
    assert_eq!((a, b), (0, 1));
    let start = Instant::now();
    assert!(sel.select_timeout(Duration::from_millis(20)).is_none());
    assert!(start.elapsed() >= Duration::from_millis(20));
    t2.send(5).unwrap();
    sel.remove(b); // a removed receiver is not selected, and `a` keeps its index
    assert!(sel.try_select().is_none());
    assert_eq!(r2.try_recv(), Ok(5)); // untouched
    t2.send(6).unwrap();
    let c = sel.recv(&r2);
    assert_eq!(c, 2);
    assert_eq!(sel.select(), (2, Ok(6)));
    let empty = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sel.remove(b)));
    assert!(empty.is_err(), "removing twice panics");
}

/// Four receive channels for the fairness tests: where `ready[i]`, channel `i` is closed and
/// empty (its receive is always ready, with `Err`, and takes nothing); elsewhere it is open
/// and empty (never ready). The senders of the open ones come back to keep them open.
fn four_channels(ready: [bool; 4]) -> (Vec<lockgate::channel::Sender<u32>>, Vec<Receiver<u32>>) {
    let mut keep = Vec::new();
    let mut rxs = Vec::new();
    for r in ready {
        let (tx, rx) = bounded::<u32>(1);
        if !r {
            keep.push(tx);
        }
        rxs.push(rx);
    }
    (keep, rxs)
}

const FAIR_ROUNDS: u32 = 10_000;

/// Each of the two ready arms must win about half the selects (Go's TestSelectFairness
/// bound: 10,000 selects, each within 5,000 ± 500); the others never.
fn assert_fair(what: &str, ready: [bool; 4], counts: [u32; 4]) {
    eprintln!("{what}: ready {ready:?}, wins {counts:?}");
    for i in 0..4 {
        if ready[i] {
            assert!(
                (4_500..=5_500).contains(&counts[i]),
                "{what}: arm {i} won {} of {FAIR_ROUNDS} (ready {ready:?}, wins {counts:?})",
                counts[i]
            );
        } else {
            assert_eq!(counts[i], 0, "{what}: a never-ready arm fired");
        }
    }
}

/// Every placement of two ready arms among four.
const PLACEMENTS: [[bool; 4]; 6] = [
    [true, true, false, false],
    [false, false, true, true],
    [true, false, false, true],
    [false, true, true, false],
    [true, false, true, false],
    [false, true, false, true],
];

#[test]
fn uniform_among_ready_arms_wherever_they_sit() {
    for ready in PLACEMENTS {
        let (_keep, rx) = four_channels(ready);
        let mut counts = [0u32; 4];
        for _ in 0..FAIR_ROUNDS {
            select! {
                recv(rx[0]) -> _ => counts[0] += 1,
                recv(rx[1]) -> _ => counts[1] += 1,
                recv(rx[2]) -> _ => counts[2] += 1,
                recv(rx[3]) -> _ => counts[3] += 1,
            }
        }
        assert_fair("select!", ready, counts);
    }
}

/// The same with values to take rather than closed channels, and for `select_async!`.
#[test]
fn uniform_among_ready_arms_with_values_and_async() {
    let ready = [false, false, true, true];
    let chans: Vec<_> = (0..4)
        .map(|_| bounded::<u32>(FAIR_ROUNDS as usize))
        .collect();
    let fill = || {
        for (i, (tx, _)) in chans.iter().enumerate() {
            while ready[i] && tx.try_send(1).is_ok() {}
        }
    };
    let rx: Vec<_> = chans.iter().map(|(_, rx)| rx).collect();
    fill();
    let mut counts = [0u32; 4];
    for _ in 0..FAIR_ROUNDS {
        select! {
            recv(rx[0]) -> _ => counts[0] += 1,
            recv(rx[1]) -> _ => counts[1] += 1,
            recv(rx[2]) -> v => { v.unwrap(); counts[2] += 1 },
            recv(rx[3]) -> v => { v.unwrap(); counts[3] += 1 },
        }
    }
    assert_fair("select! over values", ready, counts);
    fill();
    let mut counts = [0u32; 4];
    block_on(async {
        for _ in 0..FAIR_ROUNDS {
            select_async! {
                recv(rx[0]) -> _ => counts[0] += 1,
                recv(rx[1]) -> _ => counts[1] += 1,
                recv(rx[2]) -> v => { v.unwrap(); counts[2] += 1 },
                recv(rx[3]) -> v => { v.unwrap(); counts[3] += 1 },
            }
        }
    });
    assert_fair("select_async! over values", ready, counts);
}

#[test]
fn select_recv_uniform_among_ready_receivers() {
    use lockgate::select::SelectRecv;
    for ready in PLACEMENTS {
        let (_keep, rx) = four_channels(ready);
        let mut sel = SelectRecv::new();
        for r in &rx {
            sel.recv(r);
        }
        let mut counts = [0u32; 4];
        for _ in 0..FAIR_ROUNDS {
            counts[sel.select().0] += 1;
        }
        assert_fair("SelectRecv", ready, counts);
    }
}

/// Go's fan-in over channels that close at different times: a closed channel's arm is
/// disabled by setting its `Option` to `None` (Go sets the channel to nil), so the loop does
/// not spin on it. Every value arrives, and the loop runs exactly once per value plus once
/// per channel end: no pass is wasted on an ended channel, however long the other lasts.
#[test]
fn disabled_arms_let_a_fan_in_outlive_a_closed_channel() {
    use std::sync::atomic::AtomicBool;
    let _w = Watchdog::new("disabled_arms_let_a_fan_in_outlive_a_closed_channel", 60);
    const A: u32 = 100;
    const B: u32 = 200;
    let (tx_a, rx_a) = bounded::<u32>(4);
    let (tx_b, rx_b) = bounded::<u32>(0);
    let a_done = Arc::new(AtomicBool::new(false));
    let pa = {
        let a_done = a_done.clone();
        thread::spawn(move || {
            for v in 0..A {
                tx_a.send(v).unwrap();
            }
            drop(tx_a);
            a_done.store(true, Ordering::SeqCst);
        })
    };
    let pb = thread::spawn(move || {
        for v in 0..B {
            if v == B / 2 {
                // The second half goes out only after `a` has ended, slowly: the consumer
                // waits on `b` alone with `a` closed for a good while.
                while !a_done.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            if v >= B / 2 && v % 10 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
            tx_b.send(1_000 + v).unwrap();
        }
    });
    let (mut a, mut b) = (Some(&rx_a), Some(&rx_b));
    let (mut got, mut passes) = (Vec::new(), 0u32);
    while a.is_some() || b.is_some() {
        passes += 1;
        select! {
            recv(a) -> v => match v {
                Ok(v) => got.push(v),
                Err(_) => a = None,
            },
            recv(b) -> v => match v {
                Ok(v) => got.push(v),
                Err(_) => b = None,
            },
        }
    }
    pa.join().unwrap();
    pb.join().unwrap();
    eprintln!("fan-in: {} values in {passes} passes", got.len());
    got.sort_unstable();
    let want: Vec<u32> = (0..A).chain(1_000..1_000 + B).collect();
    assert_eq!(got, want);
    assert_eq!(passes, A + B + 2, "the select spun on an ended channel");
}

/// The owned and pointer forms: `Option<Receiver<T>>` (set to `None`, the receiver drops),
/// `Option<Arc<Receiver<T>>>`, and `select_async!` with them.
#[test]
fn disabled_arms_owned_and_async() {
    let (tx1, rx1) = bounded::<u32>(1);
    let (tx2, rx2) = bounded::<u32>(1);
    let mut a = Some(rx1);
    let b = Some(Arc::new(rx2));
    tx1.send(1).unwrap();
    drop(tx1);
    let mut seen = Vec::new();
    for _ in 0..2 {
        select! {
            recv(a) -> v => match v {
                Ok(v) => seen.push(v),
                Err(RecvError) => a = None, // drops the receiver
            },
            recv(b) -> _ => unreachable!("nothing sent on b"),
        }
    }
    assert_eq!(seen, [1]);
    assert!(a.is_none());
    // `tx2`'s channel still has its receiver; `a`'s is gone.
    tx2.send(2).unwrap();
    let got = block_on(async {
        select_async! {
            recv(a) -> _ => unreachable!("a disabled arm fired"),
            recv(b) -> v => v,
        }
    });
    assert_eq!(got, Ok(2));
    let off: Option<&Receiver<u32>> = None;
    assert!(select! { recv(off) -> _ => false, default => true });
    let start = Instant::now();
    assert!(select! { recv(off) -> _ => false, default(Duration::from_millis(10)) => true });
    assert!(start.elapsed() >= Duration::from_millis(10));
}

/// A disabled send arm never sends, and its value is dropped (once), whatever fires.
#[test]
fn a_disabled_send_arm_drops_its_value_and_never_sends() {
    let _w = Watchdog::new("a_disabled_send_arm_drops_its_value_and_never_sends", 60);
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = bounded::<DropCounter>(1);
    let off: Option<&lockgate::channel::Sender<DropCounter>> = None;
    assert!(select! {
        send(off, DropCounter::new(&drops)) -> _ => false,
        default => true,
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the value was not dropped");
    // A disabled send next to a receive that fires later (the select parks meanwhile).
    let (wake_tx, wake_rx) = bounded::<u32>(0);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        wake_tx.send(7).unwrap();
    });
    let got = select! {
        send(off, DropCounter::new(&drops)) -> _ => unreachable!("a disabled send fired"),
        recv(wake_rx) -> v => v,
    };
    h.join().unwrap();
    assert_eq!(got, Ok(7));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert!(rx.is_empty(), "a disabled arm sent");
    // Enabled, the same arm sends; owned `Option<Sender>` works too.
    let on = Some(tx);
    select! {
        send(on, DropCounter::new(&drops)) -> r => r.unwrap(),
        default => panic!("room for one"),
    }
    assert_eq!(rx.len(), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop((on, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
#[should_panic(expected = "every arm disabled")]
fn all_arms_disabled_without_default_panics() {
    let a: Option<&Receiver<u32>> = None;
    let b: Option<lockgate::channel::Sender<u32>> = None;
    select! {
        recv(a) -> _ => {}
        send(b, 1) -> _ => {}
    }
}

#[test]
#[should_panic(expected = "every arm disabled")]
fn all_arms_disabled_without_default_panics_async() {
    let a: Option<&Receiver<u32>> = None;
    block_on(async {
        select_async! {
            recv(a) -> _ => {}
        }
    });
}
