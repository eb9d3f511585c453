//! The unbounded channel's segmented queue. Under loom a block holds two values, so these
//! small models cross block ends: the hand-over of `tail` and `head` to the next block, the
//! release of a finished block by its last reader, and its reuse from the spare cache.
#![cfg(lockgate_loom)]

use lockgate::channel::unbounded_with;
use lockgate::WaitPolicy;
use lockgate_loom_tests::model;
use loom::thread;

/// Every model waits with `WaitPolicy::Park`: the adaptive policy's spinning only multiplies
/// the interleavings loom must walk, and parking is the path that needs checking.
///
/// Two producers racing over a block end (three values, blocks of two): the one that takes
/// the last slot installs the next block while the other waits at the block end; the first
/// push installs the first block. Then every value is there once, each producer's in order.
#[test]
fn two_producers_across_a_block_end() {
    model(2, || {
        let (tx, rx) = unbounded_with::<u32>(WaitPolicy::Park);
        let tx2 = tx.clone();
        let a = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
        });
        let b = thread::spawn(move || tx2.send(11).unwrap());
        a.join().unwrap();
        b.join().unwrap();
        let got = rx.try_iter().collect::<Vec<_>>();
        let mine = got.iter().copied().filter(|&v| v < 10).collect::<Vec<_>>();
        assert_eq!(mine, [1, 2]);
        assert_eq!(got.len(), 3);
        assert!(got.contains(&11));
    });
}

/// Two consumers racing over a block end (three values queued, blocks of two): one of them
/// moves `head` to the next block while the other waits at the block end, and the block is
/// released by whichever consumer finishes reading last. Every value once, each consumer
/// in order.
#[test]
fn two_consumers_across_a_block_end() {
    model(2, || {
        let (tx, rx) = unbounded_with::<u32>(WaitPolicy::Park);
        for v in 1..=3 {
            tx.send(v).unwrap();
        }
        drop(tx);
        let rx2 = rx.clone();
        let c1 = thread::spawn(move || rx.iter().collect::<Vec<_>>());
        let c2 = thread::spawn(move || rx2.iter().collect::<Vec<_>>());
        let (a, b) = (c1.join().unwrap(), c2.join().unwrap());
        assert!(a.windows(2).all(|w| w[0] < w[1]) && b.windows(2).all(|w| w[0] < w[1]));
        let mut all = [a, b].concat();
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3]);
    });
}

/// `close` racing a sender that crosses a block end: the values sent before the close are
/// received, the rest come back, the receiver sees the end.
#[test]
fn close_racing_send_across_blocks() {
    model(2, || {
        let (tx, rx) = unbounded_with::<u32>(WaitPolicy::Park);
        let tx2 = tx.clone();
        let s = thread::spawn(move || (1..=3).take_while(|&v| tx.send(v).is_ok()).count());
        let c = thread::spawn(move || tx2.close());
        let got = rx.iter().collect::<Vec<_>>();
        let sent = s.join().unwrap();
        c.join().unwrap();
        assert_eq!(got, (1..=sent as u32).collect::<Vec<_>>());
    });
}
