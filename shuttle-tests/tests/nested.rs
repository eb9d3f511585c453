//! Nested waits in a worker pool with up to 8 threads: submitters whose jobs submit children
//! and wait for them (claim-inline, bounded depth), and jobs that block on a latch only a
//! later job opens (compensation by stand-ins, capped). Every job runs exactly once, every
//! wait ends, and shutdown leaves no worker or stand-in alive.
#![cfg(lockgate_shuttle)]

use lockgate::barrier::Latch;
use lockgate::workers::WorkerPool;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;

/// Job `k` of a chain submits job `k + 1` and waits for it, down to `depth`.
fn chain(pool: &Arc<WorkerPool>, k: u32, depth: u32, ran: &Arc<AtomicUsize>) -> u32 {
    ran.fetch_add(1, Ordering::SeqCst);
    if k == depth {
        return k;
    }
    let (p, r) = (pool.clone(), ran.clone());
    pool.submit(move || chain(&p, k + 1, depth, &r))
        .unwrap()
        .get()
        .unwrap()
}

/// Two workers, up to three stand-ins, a nesting depth of 1: two submitter threads each run a
/// chain of depth 3 (deeper than the claim allows, so some levels block and are
/// compensated), and the main thread submits a job blocked on a latch and then the job that
/// opens it.
fn nested_waits() {
    let pool = Arc::new(
        WorkerPool::builder()
            .workers(2)
            .queue_capacity(4)
            .max_inline_depth(1)
            .max_stand_ins(3)
            .build(),
    );
    let ran = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..2)
        .map(|_| {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || {
                let (p, r) = (pool.clone(), ran.clone());
                pool.submit(move || chain(&p, 0, 3, &r))
                    .unwrap()
                    .get()
                    .unwrap()
            })
        })
        .collect();
    let latch = Arc::new(Latch::new(1));
    let l = latch.clone();
    let r = ran.clone();
    let waiter = pool
        .submit(move || {
            l.wait();
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let r = ran.clone();
    let opener = pool
        .submit(move || {
            latch.count_down();
            r.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    for s in submitters {
        assert_eq!(s.join().unwrap(), 3);
    }
    waiter.get().unwrap();
    opener.get().unwrap();
    pool.shutdown();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2 * 4 + 2,
        "every job ran exactly once"
    );
    assert_eq!(pool.completed(), 2 * 4 + 2);
    assert_eq!(pool.workers(), 0);
    assert_eq!(pool.stand_ins(), 0);
}

/// Two jobs block on two latches on a one-worker pool (two stand-ins); the main thread opens
/// them one after the other, and every stand-in retires before shutdown (the loop waits for
/// it): a stand-in woken by the first retirement that did not take it still hears the second.
fn stand_ins_retire() {
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(2)
        .max_inline_depth(0)
        .max_stand_ins(2)
        .build();
    let (a, b) = (Arc::new(Latch::new(1)), Arc::new(Latch::new(1)));
    let (a2, b2) = (a.clone(), b.clone());
    let pa = pool.submit(move || a2.wait()).unwrap();
    let pb = pool.submit(move || b2.wait()).unwrap();
    a.count_down();
    pa.get().unwrap();
    b.count_down();
    pb.get().unwrap();
    while pool.stand_ins() > 0 {
        thread::yield_now();
    }
    assert_eq!(pool.workers(), 1);
    pool.shutdown();
}

#[test]
fn stand_ins_retire_after_two_waits() {
    check(
        "stand-ins retire after two waits",
        4,
        20_000,
        stand_ins_retire,
    );
}

#[test]
fn nested_waits_8_threads() {
    check(
        "nested waits, 2 workers + stand-ins",
        6,
        20_000,
        nested_waits,
    );
}
