//! Pub-sub under loom, with crossbeam-epoch on loom too (`--cfg crossbeam_loom`, and
//! `--cfg crossbeam_sanitize` so that garbage is collected within a small model): a publish
//! racing an unsubscribe and a subscribe (the epoch's own atomics are modelled; the maps'
//! memory is not loom-tracked, so a use after free there is ASan's to find), a subscription
//! made before the publish gets the message, DropOldest's accounting, and a parked receive
//! woken by a publish and by a close.
#![cfg(lockgate_loom)]

use lockgate::pubsub::{Overflow, PubSub, TryRecvError};
use lockgate_loom_tests::model;
use loom::thread;

/// A publish racing an unsubscribe and a fresh subscribe on the same topic: the subscription
/// that existed before the publish started gets the message; the old topic maps are freed
/// while the publisher may hold them, without a use after free.
#[test]
fn publish_racing_subscribe_and_unsubscribe() {
    model(2, || {
        let hub: PubSub<u8, u8> = PubSub::new(2);
        let stays = hub.subscribe(0).unwrap();
        let leaves = hub.subscribe(0).unwrap();
        let churn = {
            let hub = hub.clone();
            thread::spawn(move || {
                drop(leaves);
                let late = hub.subscribe(0).unwrap();
                drop(late);
            })
        };
        let n = hub.publish(&0, 7).unwrap();
        churn.join().unwrap();
        assert!((1..=2).contains(&n), "{n}");
        assert_eq!(stays.try_recv(), Ok(7));
    });
}

/// DropOldest on a full queue racing the subscriber's receive: every message is received or
/// reported lost, never both, never neither.
#[test]
fn drop_oldest_accounting() {
    model(2, || {
        let hub: PubSub<u8, u8> = PubSub::with_overflow(1, Overflow::DropOldest);
        let sub = hub.subscribe(0).unwrap();
        hub.publish(&0, 1).unwrap();
        let publisher = {
            let hub = hub.clone();
            thread::spawn(move || hub.publish(&0, 2).unwrap())
        };
        let mut got = Vec::new();
        if let Ok(v) = sub.try_recv() {
            got.push(v);
        }
        publisher.join().unwrap();
        loop {
            match sub.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        assert_eq!(
            got.len() as u64 + sub.lost(),
            2,
            "received {got:?}, lost {}",
            sub.lost()
        );
        assert_eq!(got.last(), Some(&2), "the newest message survives");
    });
}

/// A receive that parks, racing a publish and then a close: it gets the message, then the end.
#[test]
fn parked_recv_woken_by_publish_and_close() {
    model(3, || {
        let hub: PubSub<u8, u8> = PubSub::new(1);
        let sub = hub.subscribe(0).unwrap();
        let r = thread::spawn(move || (sub.recv(), sub.recv()));
        hub.publish(&0, 5).unwrap();
        hub.close();
        let (a, b) = r.join().unwrap();
        assert_eq!(a, Ok(5));
        assert_eq!(b, Err(lockgate::pubsub::RecvError::Closed));
    });
}

/// A publish racing the hub's close, then a receive until the end: whatever the publish
/// counts, the subscriber receives before it sees the end (the end waits for deliveries
/// already inside the subscriber's queue).
#[test]
fn publish_racing_close_counts_only_what_arrives() {
    model(3, || {
        let hub: PubSub<u8, u8> = PubSub::new(1);
        let sub = hub.subscribe(0).unwrap();
        let publisher = {
            let hub = hub.clone();
            thread::spawn(move || hub.publish(&0, 9).unwrap_or(0))
        };
        hub.close();
        let mut got = 0;
        while let Ok(v) = sub.recv() {
            assert_eq!(v, 9);
            got += 1;
        }
        let counted = publisher.join().unwrap();
        assert_eq!(
            got, counted,
            "the publish counted a message the subscriber never got"
        );
    });
}
