//! `close()` racing sends and receives on other handles: a send either lands before the close
//! and is received, or fails and hands its value back; the receiver then sees the end.
#![cfg(lockgate_loom)]

use lockgate::channel::bounded;
use lockgate_loom_tests::model;
use loom::thread;

fn close_races(cap: usize, bound: usize) {
    model(bound, move || {
        let (tx, rx) = bounded(cap);
        let tx2 = tx.clone();
        let s = thread::spawn(move || {
            let a = tx.send(1).is_ok();
            let b = tx.send(2).is_ok();
            (a, b)
        });
        let c = thread::spawn(move || tx2.close());
        let mut got = Vec::new();
        while let Ok(v) = rx.recv() {
            got.push(v);
        }
        let (a, b) = s.join().unwrap();
        c.join().unwrap();
        // Sends are ordered on one handle: a failure ends the sequence.
        assert!(a || !b, "send 2 landed after send 1 failed");
        let want: Vec<i32> = [(a, 1), (b, 2)]
            .iter()
            .filter(|x| x.0)
            .map(|x| x.1)
            .collect();
        assert_eq!(got, want);
        assert!(rx.is_closed());
    });
}

#[test]
fn close_racing_send_and_recv_buffered() {
    close_races(2, 3);
}

#[test]
fn close_racing_send_and_recv_cap1() {
    close_races(1, 3);
}

#[test]
fn close_racing_send_and_recv_rendezvous() {
    close_races(0, 3);
}
