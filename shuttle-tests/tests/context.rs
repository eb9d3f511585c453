//! Context deadlines on the model timer (a heap that timed parks advance, see lockgate's
//! `wait/timer.rs`), with 6 threads: three receivers in `recv_ctx`, each under a deadline
//! that fires through the timer (one of them inherited from a parent, whose timer entry ends
//! it through the cancel tree), racing two senders bounded by a later deadline. Every value
//! is received, left in the channel or handed back to its sender, exactly once, and a call
//! that ends with `DeadlineExceeded` finds its context expired.
#![cfg(lockgate_shuttle)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lockgate::channel::{bounded, RecvCtxError, SendCtxError};
use lockgate::context::{Context, ContextError};
use lockgate_shuttle_tests::check;
use shuttle::thread;

const HOUR: Duration = Duration::from_secs(3600);

/// Deadlines an hour apart after one instant: the same order in every schedule, and none
/// ever passes on the clock, so each strikes only when the timer fires it.
fn deadlines_racing_senders(cap: usize) {
    let (tx, rx) = bounded::<u32>(cap);
    let base = Instant::now();
    let (cancellable, _cancel) = Context::background().with_cancel();
    let shared = Context::background().with_deadline(base + 3 * HOUR);
    let contexts = [
        Context::background().with_deadline(base + HOUR),
        cancellable.with_deadline(base + 2 * HOUR),
        // No timer entry of its own: its parent's ends it.
        shared.with_cancel().0,
    ];
    let receivers: Vec<_> = contexts
        .into_iter()
        .map(|ctx| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    match rx.recv_ctx(&ctx) {
                        Ok(v) => got.push(v),
                        Err(RecvCtxError::Done(e)) => {
                            assert_eq!(e, ContextError::DeadlineExceeded);
                            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
                            return got;
                        }
                        Err(RecvCtxError::Disconnected) => return got,
                    }
                }
            })
        })
        .collect();
    let send_ctx = Arc::new(Context::background().with_deadline(base + 4 * HOUR));
    let senders: Vec<_> = (0..2u32)
        .map(|s| {
            let (tx, ctx) = (tx.clone(), send_ctx.clone());
            thread::spawn(move || {
                let mut back = Vec::new();
                for v in [2 * s, 2 * s + 1] {
                    match tx.send_ctx(v, &ctx) {
                        Ok(()) => {}
                        Err(SendCtxError::Done(v, e)) => {
                            assert_eq!(e, ContextError::DeadlineExceeded);
                            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
                            back.push(v);
                        }
                        Err(SendCtxError::Disconnected(v)) => back.push(v),
                    }
                }
                back
            })
        })
        .collect();
    drop(tx);
    let mut all: Vec<u32> = Vec::new();
    for h in receivers.into_iter().chain(senders) {
        all.extend(h.join().unwrap());
    }
    all.extend(rx.try_iter());
    all.sort_unstable();
    assert_eq!(all, [0, 1, 2, 3], "a value lost or duplicated");
}

#[test]
fn deadlines_racing_senders_buffered() {
    check("deadlines_racing_senders_buffered", 10, 20_000, || {
        deadlines_racing_senders(1)
    });
}

#[test]
fn deadlines_racing_senders_rendezvous() {
    check("deadlines_racing_senders_rendezvous", 10, 20_000, || {
        deadlines_racing_senders(0)
    });
}
