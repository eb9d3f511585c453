//! The fetch-and-add ticket path and its turn wait (`wait/turn.rs`, `queue/ring/wait.rs`):
//! ticket holders queued on one slot, sleeping on its word with the futex (emulated under
//! loom, so a lost wake-up is a deadlock loom reports); the timed forms, which take a ticket
//! only when its turn has come, mixed with ticket holders; and the channel's two paths
//! (plain `send`/`recv` on tickets, timed ones on the wait lists) notifying each other.
#![cfg(lockgate_loom)]

use std::time::Duration;

use lockgate::channel::bounded;
use lockgate::queue::RingQueue;
use lockgate_loom_tests::model;
use loom::sync::Arc;
use loom::thread;

/// Two producers queue tickets on a one-slot ring while a consumer takes two: both values
/// arrive, each once. Every wait may sleep; each turn hand-off must wake the one waiting.
#[test]
fn ring_tickets_queue_on_one_slot() {
    model(2, || {
        let q = Arc::new(RingQueue::new(1));
        let ps: Vec<_> = (1..=2u32)
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || q.push_wait(v))
            })
            .collect();
        let mut got = [q.pop_wait(), q.pop_wait()];
        for p in ps {
            p.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(q.is_empty());
    });
}

/// A timed push on a full ring races a ticket pop: the push lands (then the value is still
/// there) or times out with its value back; it never holds a ticket it does not serve.
#[test]
fn ring_timed_push_vs_ticket_pop() {
    model(3, || {
        let q = Arc::new(RingQueue::new(1));
        q.push(1u32).unwrap();
        let q2 = q.clone();
        let p = thread::spawn(move || q2.push_wait_timeout(2, Duration::from_secs(1)));
        let q3 = q.clone();
        let c = thread::spawn(move || q3.pop_wait());
        assert_eq!(c.join().unwrap(), 1);
        match p.join().unwrap() {
            Ok(()) => assert_eq!(q.pop(), Some(2)),
            Err(v) => {
                assert_eq!(v, 2);
                assert_eq!(q.pop(), None);
            }
        }
    });
}

/// A timed pop waits on the slot it would take next while a ticket push fills it.
#[test]
fn ring_timed_pop_vs_ticket_push() {
    model(3, || {
        let q = Arc::new(RingQueue::new(1));
        let q2 = q.clone();
        let c = thread::spawn(move || q2.pop_wait_timeout(Duration::from_secs(1)));
        let q3 = q.clone();
        let p = thread::spawn(move || q3.push_wait(5u32));
        p.join().unwrap();
        match c.join().unwrap() {
            Some(v) => assert_eq!(v, 5),
            None => assert_eq!(q.pop(), Some(5)),
        }
    });
}

/// A plain receive (a ticket holder) and a timed receive (on the wait list) share a
/// channel that two plain sends feed: each value goes to exactly one receiver or stays
/// queued, and the timed receiver, if it gets nothing, timed out rather than slept through a
/// value it could have taken.
#[test]
fn channel_plain_and_timed_receivers() {
    model(2, || {
        let (tx, rx) = bounded::<u32>(1);
        let (rx2, rx3) = (rx.clone(), rx.clone());
        let plain = thread::spawn(move || rx2.recv().unwrap());
        let timed = thread::spawn(move || rx3.recv_timeout(Duration::from_secs(1)).ok());
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let mut got = vec![plain.join().unwrap()];
        got.extend(timed.join().unwrap());
        got.extend(rx.try_recv().ok());
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// A timed sender parked on the wait list of a full channel is woken by a plain receive
/// (a ticket holder's hand-off notifies the list with one load).
#[test]
fn channel_plain_recv_wakes_timed_sender() {
    model(3, || {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let s = thread::spawn(move || tx.send_timeout(2, Duration::from_secs(1)).is_ok());
        let rx2 = rx.clone();
        let r = thread::spawn(move || rx2.recv());
        assert_eq!(r.join().unwrap(), Ok(1));
        if s.join().unwrap() {
            assert_eq!(rx.try_recv(), Ok(2));
        } else {
            assert!(rx.try_recv().is_err());
        }
    });
}

/// `close` while a plain sender waits for room and a plain receiver holds the next ticket:
/// the sender's ticket came before the cut, so its value lands and is received; the
/// receiver past the cut sees the end.
#[test]
fn channel_close_lets_tickets_below_the_cut_land() {
    model(2, || {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let tx2 = tx.clone();
        let s = thread::spawn(move || tx2.send(2).is_ok());
        let rx2 = rx.clone();
        let r = thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = rx2.recv() {
                got.push(v);
            }
            got
        });
        tx.close();
        let landed = s.join().unwrap();
        let got = r.join().unwrap();
        let want: Vec<u32> = if landed { vec![1, 2] } else { vec![1] };
        assert_eq!(got, want);
        assert!(rx.recv().is_err());
    });
}

/// A plain sender asleep on a full channel whose receivers all leave without taking
/// anything: the last one's wake-up (a poke of every slot with sleepers) reaches it, and
/// its value comes back.
#[test]
fn channel_receivers_leaving_wake_a_ticket_sender() {
    model(3, || {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let s = thread::spawn(move || tx.send(2).map_err(|e| e.into_inner()));
        let d = thread::spawn(move || drop(rx));
        d.join().unwrap();
        assert_eq!(s.join().unwrap(), Err(2));
    });
}

/// A blocking receive that waits in the receivers' wait list (a `select!` with one arm
/// parks there, as timed and async receives do, but with no deadline: a lost wake-up is a
/// deadlock loom reports).
fn list_recv(rx: &lockgate::channel::Receiver<u32>) -> u32 {
    lockgate::select! {
        recv(rx) -> v => v.unwrap(),
    }
}

/// Two receivers wait in the list while the value at the head of the line is still in
/// flight and the one after it is ready: each waiter looks at the head slot and parks, and
/// each hand-off wakes one waiter; both get a value. (A waiter that a hand-off wakes passes
/// the baton on if more is ready; a select also passes on a notification it could not use,
/// so this model holds with either.)
#[test]
fn channel_list_waiters_behind_an_in_flight_value() {
    model(1, || {
        let (tx, rx) = bounded::<u32>(2);
        let tx2 = tx.clone();
        let p1 = thread::spawn(move || tx.send(1).unwrap());
        let p2 = thread::spawn(move || tx2.send(2).unwrap());
        let rx2 = rx.clone();
        let r1 = thread::spawn(move || list_recv(&rx2));
        let r2 = thread::spawn(move || list_recv(&rx));
        let mut got = [r1.join().unwrap(), r2.join().unwrap()];
        p1.join().unwrap();
        p2.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// A plain sender asleep on a full channel while the receiving side closes and then leaves:
/// two wake-ups of its slot in a row (the close's, the last receiver's) must not cancel out,
/// so the sender wakes, sees no receiver, and gets its value back.
#[test]
fn channel_close_then_leave_wakes_a_ticket_sender() {
    model(3, || {
        let (tx, rx) = bounded::<u32>(1);
        tx.send(1).unwrap();
        let s = thread::spawn(move || tx.send(2).map_err(|e| e.into_inner()));
        let c = thread::spawn(move || {
            rx.close();
            drop(rx);
        });
        c.join().unwrap();
        assert_eq!(s.join().unwrap(), Err(2));
    });
}
