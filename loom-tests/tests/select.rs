//! `select!`: one waiter linked in several wait lists; exactly one arm fires and the others
//! take nothing, including against peers that claim a rendezvous arm.
//!
//! Every select runs on a spawned thread and the main thread only joins and then inspects:
//! a notifier unparks its waiter after releasing the lock, so a thread can receive a stray
//! unpark after its select returned. std's `park` tolerates that, but loom wakes a thread
//! blocked on a mutex (or in `join`) on any unpark and then fails its own assertion; the
//! main thread, whose handle no waiter holds, never gets one.
#![cfg(lockgate_loom)]

use lockgate::channel::bounded;
use lockgate::context::{Context, ContextError};
use lockgate::select;
use lockgate_loom_tests::model;
use loom::thread;

/// A select over two buffered channels racing their two senders: exactly one arm wins and
/// the other value stays in its channel.
#[test]
fn select_two_channels_racing_two_senders() {
    model(3, || {
        let (ta, ra) = bounded::<u32>(1);
        let (tb, rb) = bounded::<u32>(1);
        let (ra2, rb2) = (ra.clone(), rb.clone());
        let sa = thread::spawn(move || ta.send(1).unwrap());
        let sb = thread::spawn(move || tb.send(2).unwrap());
        let sel = thread::spawn(move || {
            select! {
                recv(ra2) -> v => v.unwrap(),
                recv(rb2) -> v => v.unwrap(),
            }
        });
        sa.join().unwrap();
        sb.join().unwrap();
        let won = sel.join().unwrap();
        // The loser's value is still queued, and nothing else.
        match won {
            1 => assert_eq!((ra.try_recv().ok(), rb.try_recv().ok()), (None, Some(2))),
            2 => assert_eq!((ra.try_recv().ok(), rb.try_recv().ok()), (Some(1), None)),
            v => panic!("received {v}"),
        }
    });
}

/// A select waiting on a channel and a context that is cancelled mid-wait: the done arm
/// fires, and the channel is untouched.
#[test]
fn select_with_context_cancelled_mid_wait() {
    model(4, || {
        let (tx, rx) = bounded::<u32>(1);
        let (ctx, cancel) = Context::background().with_cancel();
        let rx2 = rx.clone();
        let sel = thread::spawn(move || {
            select! {
                recv(rx2) -> v => Some(v),
                done(ctx) -> e => { assert_eq!(e, ContextError::Canceled); None },
            }
        });
        let c = thread::spawn(move || cancel.cancel());
        c.join().unwrap();
        assert_eq!(sel.join().unwrap(), None, "nothing was sent");
        assert!(rx.try_recv().is_err());
        drop(tx);
    });
}

/// A select over a rendezvous channel (claimable) and a buffered one, racing a blocking
/// rendezvous sender and a buffered sender: one arm fires; the other value is still there.
#[test]
fn select_rendezvous_and_buffered_racing_senders() {
    model(3, || {
        let (tz, rz) = bounded::<u32>(0);
        let (tb, rb) = bounded::<u32>(1);
        let (rz2, rb2) = (rz.clone(), rb.clone());
        let sz = thread::spawn(move || tz.send(1).is_ok());
        let sb = thread::spawn(move || tb.send(2).unwrap());
        let sel = thread::spawn(move || {
            select! {
                recv(rz2) -> v => v.unwrap(),
                recv(rb2) -> v => v.unwrap(),
            }
        });
        sb.join().unwrap();
        let won = sel.join().unwrap();
        if won == 2 {
            // The rendezvous sender is still waiting for its receiver.
            assert_eq!(rz.recv(), Ok(1));
        } else {
            assert_eq!(won, 1);
            assert_eq!(rb.try_recv(), Ok(2));
        }
        assert!(sz.join().unwrap());
    });
}

/// Two selects meet on a rendezvous channel: one sending, one receiving (with a second arm
/// that never fires). The claim protocol pairs them; neither loses its value.
#[test]
fn select_meets_select_on_rendezvous() {
    model(4, || {
        let (tz, rz) = bounded::<u32>(0);
        let (tb, rb) = bounded::<u32>(1);
        let s = thread::spawn(move || {
            select! {
                send(tz, 7) -> r => r.is_ok(),
            }
        });
        let r = thread::spawn(move || {
            select! {
                recv(rz) -> v => v.ok(),
                recv(rb) -> _ => None,
            }
        });
        assert_eq!(r.join().unwrap(), Some(7));
        assert!(s.join().unwrap());
        drop(tb);
    });
}

/// The run-time form, `SelectRecv`, over two buffered channels racing their senders: the
/// same protocol, so the same outcome (one receive, the other value still queued).
#[test]
fn select_recv_racing_two_senders() {
    model(2, || {
        let (ta, ra) = bounded::<u32>(1);
        let (tb, rb) = bounded::<u32>(1);
        let (ra2, rb2) = (ra.clone(), rb.clone());
        let sa = thread::spawn(move || ta.send(1).unwrap());
        let sb = thread::spawn(move || tb.send(2).unwrap());
        let sel = thread::spawn(move || {
            let mut sel = lockgate::select::SelectRecv::new();
            sel.recv(&ra2);
            sel.recv(&rb2);
            let (i, v) = sel.select();
            (i, v.unwrap())
        });
        sa.join().unwrap();
        sb.join().unwrap();
        match sel.join().unwrap() {
            (0, 1) => assert_eq!((ra.try_recv().ok(), rb.try_recv().ok()), (None, Some(2))),
            (1, 2) => assert_eq!((ra.try_recv().ok(), rb.try_recv().ok()), (Some(1), None)),
            other => panic!("fired {other:?}"),
        }
    });
}
