//! The work-stealing scheduler with 8 threads: 3 workers with their own deques and the
//! wake rule, outside submitters, jobs submitting children onto their worker's deque (which
//! the other workers steal), and shutdown racing all of it. Every accepted job runs exactly
//! once, every refused one comes back, no wait hangs (a lost wake-up would leave a `get`
//! blocked, which shuttle reports as a deadlock), and shutdown leaves no worker alive.
#![cfg(lockgate_shuttle)]

use lockgate::workers::WorkerPool;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;

/// A job that submits `children` fire-and-forget children from inside (its worker's deque),
/// counting accepted children and their runs.
fn parent(pool: &Arc<WorkerPool>, children: usize, ran: &Arc<AtomicUsize>, acc: &Arc<AtomicUsize>) {
    for _ in 0..children {
        let r = ran.clone();
        if pool
            .execute(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .is_ok()
        {
            acc.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// 3 workers, 4 submitter threads (each submits a parent of 2 children and waits for it),
/// and the main thread: 8 threads. All jobs run, stolen or not; then shutdown.
fn submitters_and_stealers() {
    let pool = Arc::new(WorkerPool::builder().workers(3).queue_capacity(2).build());
    let ran = Arc::new(AtomicUsize::new(0));
    let acc = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (pool, ran, acc) = (pool.clone(), ran.clone(), acc.clone());
            thread::spawn(move || {
                let (p, r, a) = (pool.clone(), ran.clone(), acc.clone());
                pool.submit(move || parent(&p, 2, &r, &a))
                    .unwrap()
                    .get()
                    .unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    pool.shutdown(); // the children run before it returns (nothing was refused)
    assert_eq!(
        acc.load(Ordering::SeqCst),
        8,
        "no child refused before shutdown"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        8,
        "every child ran exactly once"
    );
    assert_eq!(pool.completed(), 12);
    assert_eq!(pool.workers(), 0);
}

#[test]
fn submitters_and_stealers_eight_threads() {
    check(
        "submitters and stealers, 8 threads",
        4,
        20_000,
        submitters_and_stealers,
    );
}

/// 3 workers, 3 submitter threads and a thread that shuts the pool down while parents on
/// the workers submit children: each child either ran or was refused; the submitters' own
/// jobs either ran or came back. 8 threads with the main one.
fn shutdown_racing_everything() {
    let pool = Arc::new(WorkerPool::builder().workers(3).queue_capacity(2).build());
    let ran = Arc::new(AtomicUsize::new(0));
    let acc = Arc::new(AtomicUsize::new(0));
    let parents_run = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let (pool, ran, acc, pr) =
                (pool.clone(), ran.clone(), acc.clone(), parents_run.clone());
            thread::spawn(move || {
                let (p, r, a) = (pool.clone(), ran.clone(), acc.clone());
                let sent = pool.execute(move || {
                    pr.fetch_add(1, Ordering::SeqCst);
                    parent(&p, 2, &r, &a)
                });
                usize::from(sent.is_ok())
            })
        })
        .collect();
    let stopper = {
        let pool = pool.clone();
        thread::spawn(move || pool.shutdown())
    };
    let accepted: usize = hs.into_iter().map(|h| h.join().unwrap()).sum();
    stopper.join().unwrap();
    pool.shutdown(); // idempotent; every worker has exited now
    assert_eq!(
        parents_run.load(Ordering::SeqCst),
        accepted,
        "accepted parents ran once"
    );
    assert_eq!(
        ran.load(Ordering::SeqCst),
        acc.load(Ordering::SeqCst),
        "accepted children ran once"
    );
    assert_eq!(pool.workers(), 0);
}

#[test]
fn shutdown_racing_submits_and_steals() {
    check(
        "shutdown racing submits and steals",
        4,
        20_000,
        shutdown_racing_everything,
    );
}
