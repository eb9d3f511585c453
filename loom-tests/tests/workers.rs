//! WorkerPool: an elastic worker retiring while a submit arrives (the job still runs), a
//! shutdown racing a submit (the job is accepted and run, or handed back: never lost), and
//! nested waits: a worker waiting on a queued child claims it (or another worker runs it,
//! exactly once), and a blocked worker gets a stand-in that retires when the wait ends.
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

/// Submits a job that waits on a latch and then the job that opens it; both finish.
fn first_waits_for_second(pool: &WorkerPool) {
    use lockgate::barrier::Latch;
    let latch = Arc::new(Latch::new(1));
    let l = latch.clone();
    let first = pool.submit(move || l.wait()).unwrap();
    let second = pool.submit(move || latch.count_down()).unwrap();
    first.get().unwrap();
    second.get().unwrap();
}

/// Two jobs that need each other (the first waits for the second) submitted back to back to
/// an elastic pool whose one worker is parked: the pool must grow to run the second while the
/// first waits, whatever step the parked worker is at when the submits look at it (it may
/// hold the first job while still counted idle). 1,081,238 interleavings at bound 2 (about six
/// minutes on two cores); without the worker-side growth check, loom finds the deadlock.
#[test]
fn elastic_grows_for_interdependent_jobs() {
    model(2, || {
        let pool = WorkerPool::builder()
            .min(1)
            .max(2)
            .keep_alive(Duration::from_secs(3600))
            .queue_capacity(2)
            .max_stand_ins(0) // growth alone must do it here; stand-ins have their own model
            .build();
        first_waits_for_second(&pool);
        drop(pool);
    });
}

/// Submits a job that submits a child and waits for it; checks the result and that the child
/// ran once.
fn outer_waits_on_child(pool: &Arc<WorkerPool>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pool.clone(), ran.clone());
    let outer = pool
        .submit(move || {
            let r2 = r.clone();
            let child = p
                .submit(move || {
                    r2.fetch_add(1, Ordering::SeqCst);
                    7u8
                })
                .unwrap();
            child.get().unwrap() + 1
        })
        .unwrap();
    assert_eq!(outer.get(), Ok(8));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
}

/// A job on a one-worker pool submits a child and waits for it: the child is still queued
/// (no other worker), so the waiting worker claims and runs it itself; no deadlock, and the
/// child runs once. (With `max_inline_depth(0)` loom reports the deadlock.)
#[test]
fn worker_claims_queued_child() {
    model(3, || {
        let pool = Arc::new(
            WorkerPool::builder()
                .workers(1)
                .queue_capacity(2)
                .max_stand_ins(0) // only the claim can help here
                .build(),
        );
        outer_waits_on_child(&pool);
        pool.shutdown(); // the counters are final once the worker has exited
        assert_eq!(pool.completed(), 2, "the child is counted once");
    });
}

/// The claim races a second worker that dequeues the child: exactly one of them runs it, and
/// the outer job (waiting without a stand-in if it lost) finishes either way. Bound 1: two
/// workers and a submitter make bound 2 explore 1.7 million interleavings (four minutes).
#[test]
fn claim_races_another_worker() {
    model(1, || {
        let pool = Arc::new(
            WorkerPool::builder()
                .workers(2)
                .queue_capacity(2)
                .max_stand_ins(0)
                .build(),
        );
        outer_waits_on_child(&pool);
        pool.shutdown();
        assert_eq!(pool.completed(), 2, "the child is counted once");
    });
}

/// On a one-worker pool the first job waits for a latch that only the second (queued behind
/// it) opens: no claim can help, so the blocked worker starts a stand-in, which runs the
/// second job; once the first wait ends the stand-in owes its retirement and leaves (before
/// shutdown: the loop below waits for it), and shutdown joins every thread. Under loom the
/// compensation delay passes whenever the first park times out, i.e. at any point. (With
/// `max_stand_ins(0)` loom reports the deadlock.)
#[test]
fn blocked_worker_compensated_and_stand_in_retires() {
    model(2, || {
        let pool = WorkerPool::builder()
            .workers(1)
            .queue_capacity(2)
            .max_inline_depth(0)
            .max_stand_ins(1)
            .build();
        first_waits_for_second(&pool);
        while pool.stand_ins() > 0 {
            thread::yield_now();
        }
        assert_eq!(pool.workers(), 1);
        drop(pool);
    });
}

/// The wake rule, one worker: two outside submitters each submit a job and wait for its
/// result while the worker searches, parks and wakes. The race that matters: a submit that
/// sees the worker still searching does not wake it, so the worker's last look after it
/// counts itself parked must find the job. If a job could be left queued while the worker
/// sleeps, a `get` would block forever and loom would report the deadlock (it does, at bound
/// 1, for a park without its last look; bound 2 explores 804,617 interleavings in three
/// minutes, and passes too).
#[test]
fn wake_rule_one_worker_two_submitters() {
    model(1, || {
        let pool = Arc::new(WorkerPool::builder().workers(1).queue_capacity(2).build());
        let submitters: Vec<_> = (0..2u8)
            .map(|i| {
                let pool = pool.clone();
                thread::spawn(move || pool.submit(move || i).unwrap().get())
            })
            .collect();
        for (i, t) in submitters.into_iter().enumerate() {
            assert_eq!(t.join().unwrap(), Ok(i as u8));
        }
        pool.shutdown();
    });
}

/// The wake rule, two workers: one submitter puts two jobs in while both workers search,
/// park and wake (the last searcher to find work wakes the next; a submit wakes one only if
/// nobody searches). Both jobs run, or loom reports the deadlock (159,697 interleavings at
/// bound 1; a park without its last look deadlocks here too).
#[test]
fn wake_rule_two_workers() {
    model(1, || {
        let pool = Arc::new(WorkerPool::builder().workers(2).queue_capacity(2).build());
        let submitter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let a = pool.submit(|| 1u8).unwrap();
                let b = pool.submit(|| 2u8).unwrap();
                (a.get(), b.get())
            })
        };
        assert_eq!(submitter.join().unwrap(), (Ok(1), Ok(2)));
        pool.shutdown();
    });
}

/// A job submits a child (onto its worker's own deque) while another thread shuts the pool
/// down: the child is accepted and runs, or is handed back; never lost. The parent returns
/// without waiting, so the worker drains its own deque after it.
#[test]
fn shutdown_racing_a_submit_from_a_job() {
    model(2, || {
        let pool = Arc::new(WorkerPool::builder().workers(1).queue_capacity(1).build());
        let ran = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let parent = {
            let (p, r, a) = (pool.clone(), ran.clone(), accepted.clone());
            pool.submit(move || {
                let r2 = r.clone();
                if p.execute(move || {
                    r2.fetch_add(1, Ordering::SeqCst);
                })
                .is_ok()
                {
                    a.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap()
        };
        let stopper = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown())
        };
        stopper.join().unwrap();
        assert_eq!(parent.get(), Ok(()));
        pool.shutdown();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            accepted.load(Ordering::SeqCst),
            "every accepted child ran"
        );
    });
}
