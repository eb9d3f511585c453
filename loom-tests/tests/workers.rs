//! WorkerPool: an elastic worker retiring while a submit arrives (the job still runs), and a
//! shutdown racing a submit (the job is accepted and run, or handed back: never lost).
#![cfg(lockgate_loom)]

use lockgate::workers::WorkerPool;
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::time::Duration;

/// Under loom a timed wait times out at any point, so the idle worker may retire at every
/// step of the submit's protocol: the submit either sees it idle (and the retiring worker's
/// last look at the queue finds the job) or sees no idle worker (and starts one).
#[test]
fn elastic_retire_racing_submit() {
    model(3, || {
        let pool = WorkerPool::builder()
            .min(0)
            .max(1)
            .keep_alive(Duration::from_millis(1))
            .queue_capacity(2)
            .build();
        assert_eq!(pool.submit(|| 1u8).unwrap().get(), Ok(1));
        assert_eq!(pool.submit(|| 2u8).unwrap().get(), Ok(2));
        drop(pool);
    });
}

/// A submit on another thread racing shutdown: accepted and run, or rejected with the job.
#[test]
fn shutdown_racing_submit() {
    model(3, || {
        let pool = Arc::new(WorkerPool::builder().workers(1).queue_capacity(1).build());
        let ran = Arc::new(AtomicUsize::new(0));
        let t = {
            let (pool, ran) = (pool.clone(), ran.clone());
            thread::spawn(move || {
                let r = ran.clone();
                match pool.execute(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                }) {
                    Ok(()) => true,
                    Err(e) => {
                        drop(e.into_inner()); // handed back, not run
                        false
                    }
                }
            })
        };
        pool.shutdown();
        let accepted = t.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), usize::from(accepted));
    });
}

/// Two jobs that need each other (the first waits for the second) submitted back to back to
/// an elastic pool whose one worker is parked: the pool must grow to run the second while the
/// first waits, whatever step the parked worker is at when the submits look at it (it may
/// hold the first job while still counted idle). 788,899 interleavings at bound 2 (about two
/// minutes); without the worker-side growth check, loom finds the deadlock.
#[test]
fn elastic_grows_for_interdependent_jobs() {
    use lockgate::barrier::Latch;
    model(2, || {
        let pool = WorkerPool::builder()
            .min(1)
            .max(2)
            .keep_alive(Duration::from_secs(3600))
            .queue_capacity(2)
            .build();
        let latch = Arc::new(Latch::new(1));
        let l = latch.clone();
        let first = pool.submit(move || l.wait()).unwrap();
        let second = pool.submit(move || latch.count_down()).unwrap();
        first.get().unwrap();
        second.get().unwrap();
        drop(pool);
    });
}
