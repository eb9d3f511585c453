//! WorkerPool: every job runs exactly once (counted) with many submitters, across shutdown
//! and abort; nested submits from inside jobs with a full queue finish (caller-runs); panics
//! are contained and counted; an elastic pool grows under load, shrinks when idle, and never
//! drops a job while doing so; dropping a pool leaves no worker thread behind.

mod common;

use common::{threads_named, Watchdog};
use lockgate::context::{Context, ContextError};
use lockgate::future::PromiseError;
use lockgate::workers::{Rejected, SubmitCtxError, WorkerPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn submit_get_and_counters() {
    let _w = Watchdog::new("submit_get_and_counters", 60);
    let pool = WorkerPool::builder().workers(3).name("wp-basic").build();
    assert_eq!(pool.workers(), 3);
    let ps: Vec<_> = (0..100u64)
        .map(|i| pool.submit(move || i * 2).unwrap())
        .collect();
    let sum: u64 = ps.into_iter().map(|p| p.get().unwrap()).sum();
    assert_eq!(sum, 9900);
    let p = pool.submit(|| -> u8 { panic!("job panicked") }).unwrap();
    assert_eq!(p.get(), Err(PromiseError::Panicked("job panicked".into())));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    pool.execute(move || {
        r.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    pool.execute(|| panic!("fire and forget")).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert_eq!(pool.completed(), 103);
    assert_eq!(pool.panicked(), 2);
    assert_eq!(pool.workers(), 0);
    assert!(matches!(pool.submit(|| 1), Err(Rejected::Shutdown(_))));
    let back = pool.execute(|| ()).unwrap_err().into_inner();
    back(); // the job came back whole
}

#[test]
fn try_submit_hands_the_job_back_when_full() {
    let _w = Watchdog::new("try_submit_hands_the_job_back_when_full", 60);
    let pool = WorkerPool::builder().workers(1).queue_capacity(2).build();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let blocker = pool.submit(move || g.wait()).unwrap();
    // Wait until the worker holds the blocker, so the queue is empty.
    while pool.active_workers() == 0 {
        thread::yield_now();
    }
    let a = pool.try_submit(|| 1).unwrap();
    let b = pool.try_submit(|| 2).unwrap();
    let f = match pool.try_submit(|| 3) {
        Err(Rejected::Full(f)) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(f(), 3);
    assert_eq!(pool.queued(), 2);
    gate.wait();
    blocker.get().unwrap();
    assert_eq!((a.get(), b.get()), (Ok(1), Ok(2)));
}

#[test]
fn submit_ctx_gives_up_and_hands_back() {
    let _w = Watchdog::new("submit_ctx_gives_up_and_hands_back", 60);
    let pool = WorkerPool::builder().workers(1).queue_capacity(1).build();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let blocker = pool.submit(move || g.wait()).unwrap();
    while pool.active_workers() == 0 {
        thread::yield_now();
    }
    let queued = pool.submit(|| 1).unwrap(); // fills the queue
    let start = Instant::now();
    let ctx = Context::background().with_timeout(Duration::from_millis(20));
    match pool.submit_ctx(|| 2, &ctx) {
        Err(SubmitCtxError::Done(f, ContextError::DeadlineExceeded)) => assert_eq!(f(), 2),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() >= Duration::from_millis(20));
    gate.wait();
    blocker.get().unwrap();
    assert_eq!(queued.get(), Ok(1));
    let p = pool.submit_ctx(|| 3, &Context::background()).unwrap();
    assert_eq!(p.get(), Ok(3));
}

/// Jobs that submit jobs to their own pool with a tiny queue: caller-runs keeps them going.
#[test]
fn nested_submits_with_a_full_queue_finish() {
    let _w = Watchdog::new("nested_submits_with_a_full_queue_finish", 60);
    let pool = Arc::new(WorkerPool::builder().workers(2).queue_capacity(1).build());
    let count = Arc::new(AtomicUsize::new(0));
    let outer: Vec<_> = (0..20)
        .map(|_| {
            let (pool2, count) = (pool.clone(), count.clone());
            pool.submit(move || {
                let inner: Vec<_> = (0..20)
                    .map(|_| {
                        let count = count.clone();
                        pool2
                            .submit(move || {
                                count.fetch_add(1, Ordering::SeqCst);
                            })
                            .unwrap()
                    })
                    .collect();
                // Compose rather than block: the inner promises complete on their own.
                inner.len()
            })
            .unwrap()
        })
        .collect();
    for p in outer {
        assert_eq!(p.get(), Ok(20));
    }
    pool.shutdown(); // drains what is still queued
    assert_eq!(count.load(Ordering::SeqCst), 400);
}

/// Many submitters racing a shutdown: every accepted job runs exactly once, every rejected
/// one comes back; none is lost.
#[test]
fn stress_submit_racing_shutdown_loses_nothing() {
    let _w = Watchdog::new("stress_submit_racing_shutdown_loses_nothing", 120);
    for round in 0..20 {
        let pool = Arc::new(WorkerPool::builder().workers(2).queue_capacity(8).build());
        let ran = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..4)
            .map(|_| {
                let (pool, ran, accepted, rejected) = (
                    pool.clone(),
                    ran.clone(),
                    accepted.clone(),
                    rejected.clone(),
                );
                thread::spawn(move || {
                    let (ctx, cancel) = Context::background().with_cancel();
                    let mut promises = Vec::new();
                    for i in 0..500 {
                        let ran = ran.clone();
                        let job = move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                        };
                        if i == 250 {
                            cancel.cancel(); // later submit_ctx calls are refused
                        }
                        let r = match i % 4 {
                            0 => pool.execute(job).map_err(|e| e.into_inner()),
                            1 => pool.try_submit(job).map(|_| ()).map_err(|e| e.into_inner()),
                            2 => pool
                                .submit(job)
                                .map(|p| promises.push(p))
                                .map_err(|e| e.into_inner()),
                            _ => pool
                                .submit_ctx(job, &ctx)
                                .map(|p| promises.push(p))
                                .map_err(|e| match e {
                                    SubmitCtxError::Done(job, _)
                                    | SubmitCtxError::Shutdown(job) => job,
                                }),
                        };
                        match r {
                            Ok(()) => accepted.fetch_add(1, Ordering::SeqCst),
                            Err(job) => {
                                drop(job);
                                rejected.fetch_add(1, Ordering::SeqCst)
                            }
                        };
                    }
                    // An accepted job's promise is kept: the job runs before shutdown ends.
                    promises
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(200 * round));
        pool.shutdown();
        for s in submitters {
            for p in s.join().unwrap() {
                assert_eq!(p.get(), Ok(()), "round {round}: an accepted job's promise");
            }
        }
        assert_eq!(
            ran.load(Ordering::SeqCst),
            accepted.load(Ordering::SeqCst),
            "round {round}: an accepted job did not run exactly once"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst) + rejected.load(Ordering::SeqCst),
            2000
        );
    }
}

#[test]
fn abort_drops_queued_jobs_and_abandons_their_promises() {
    let _w = Watchdog::new("abort_drops_queued_jobs_and_abandons_their_promises", 60);
    let pool = WorkerPool::builder().workers(1).queue_capacity(16).build();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let running = pool.submit(move || g.wait()).unwrap();
    while pool.active_workers() == 0 {
        thread::yield_now();
    }
    let queued: Vec<_> = (0..10).map(|i| pool.submit(move || i).unwrap()).collect();
    // Let the running job go only once abort has emptied the queue, so the worker takes
    // none of the queued jobs.
    thread::scope(|s| {
        s.spawn(|| {
            while !(pool.is_shutdown() && pool.queued() == 0) {
                thread::yield_now();
            }
            gate.wait();
        });
        pool.abort();
    });
    assert!(running.get().is_ok(), "the running job finishes");
    for p in queued {
        assert_eq!(p.get(), Err(PromiseError::Abandoned));
    }
    assert_eq!(pool.workers(), 0);
}

/// An elastic pool grows while submits find no idle worker, shrinks back to `min` when idle,
/// and runs every job, also when scale-down races submits.
#[test]
fn elastic_grows_shrinks_and_runs_everything() {
    let _w = Watchdog::new("elastic_grows_shrinks_and_runs_everything", 120);
    let pool = WorkerPool::builder()
        .min(1)
        .max(4)
        .keep_alive(Duration::from_millis(20))
        .name("wp-elastic")
        .build();
    assert_eq!(pool.workers(), 1);
    let gate = Arc::new(Barrier::new(5));
    let held: Vec<_> = (0..4)
        .map(|_| {
            let g = gate.clone();
            pool.submit(move || {
                g.wait();
            })
            .unwrap()
        })
        .collect();
    // Four blocking jobs need four workers: the pool grows to serve them.
    gate.wait();
    assert_eq!(pool.workers(), 4);
    for p in held {
        p.get().unwrap();
    }
    // Idle: back to `min`.
    let start = Instant::now();
    while pool.workers() > 1 {
        assert!(start.elapsed() < Duration::from_secs(10), "did not shrink");
        thread::sleep(Duration::from_millis(5));
    }
    // Scale-down racing submits: bursts spaced around the keep-alive.
    let ran = Arc::new(AtomicUsize::new(0));
    for burst in 0..30 {
        let ps: Vec<_> = (0..8)
            .map(|_| {
                let ran = ran.clone();
                pool.submit(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        for p in ps {
            p.get().unwrap();
        }
        thread::sleep(Duration::from_millis(10 + burst % 20));
    }
    assert_eq!(ran.load(Ordering::SeqCst), 240);
    drop(pool);
}

/// An elastic pool with `min(0)` starts with no thread and still runs a job submitted later.
#[test]
fn elastic_from_zero() {
    let _w = Watchdog::new("elastic_from_zero", 60);
    let pool = WorkerPool::builder()
        .min(0)
        .max(2)
        .keep_alive(Duration::from_millis(5))
        .build();
    assert_eq!(pool.workers(), 0);
    for i in 0..20 {
        assert_eq!(pool.submit(move || i).unwrap().get(), Ok(i));
        thread::sleep(Duration::from_millis(i % 8));
    }
}

#[test]
fn dropping_the_pool_leaves_no_thread() {
    let _w = Watchdog::new("dropping_the_pool_leaves_no_thread", 60);
    let before = threads_named("wp-dropme");
    {
        let pool = WorkerPool::builder().workers(4).name("wp-dropme").build();
        let ps: Vec<_> = (0..50).map(|i| pool.submit(move || i).unwrap()).collect();
        drop(ps);
        // A new thread names itself once it runs: wait for all four.
        let start = Instant::now();
        while threads_named("wp-dropme") < before + 4 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "workers never started"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }
    // A joined thread leaves /proc/self/task a moment after join returns.
    let start = Instant::now();
    while threads_named("wp-dropme") > before && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        threads_named("wp-dropme"),
        before,
        "a worker thread outlived its pool"
    );
}

#[test]
fn shutdown_timeout_reports_busy_workers() {
    let _w = Watchdog::new("shutdown_timeout_reports_busy_workers", 60);
    let pool = WorkerPool::builder().workers(1).build();
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    pool.execute(move || {
        g.wait();
    })
    .unwrap();
    while pool.active_workers() == 0 {
        thread::yield_now();
    }
    assert!(!pool.shutdown_timeout(Duration::from_millis(20)));
    gate.wait();
    assert!(pool.shutdown_timeout(Duration::from_secs(10)));
}

/// Many submitters, many tiny jobs, on more threads than cores: every job exactly once.
#[test]
fn stress_many_submitters_every_job_once() {
    let _w = Watchdog::new("stress_many_submitters_every_job_once", 120);
    for elastic in [false, true] {
        let b = WorkerPool::builder().queue_capacity(64);
        let pool = Arc::new(if elastic {
            b.min(1).max(6).keep_alive(Duration::from_millis(1)).build()
        } else {
            b.workers(3).build()
        });
        const N: usize = 20_000;
        let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let (pool, seen) = (pool.clone(), seen.clone());
                thread::spawn(move || {
                    for i in (t..N).step_by(4) {
                        let seen = seen.clone();
                        pool.execute(move || {
                            seen[i].fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        pool.shutdown();
        assert!(
            seen.iter().all(|s| s.load(Ordering::SeqCst) == 1),
            "elastic {elastic}: a job ran other than once"
        );
        assert_eq!(pool.completed(), N as u64);
    }
}

#[test]
fn bad_configuration_is_a_clear_panic() {
    assert!(std::panic::catch_unwind(|| WorkerPool::builder().workers(0).build()).is_err());
    assert!(std::panic::catch_unwind(|| WorkerPool::builder().min(5).max(2).build()).is_err());
    assert!(std::panic::catch_unwind(|| WorkerPool::builder()
        .workers(1)
        .queue_capacity(0)
        .build())
    .is_err());
}

/// Review finding: shutdown called from inside a job, alone, twice at once, and with an
/// outside submitter blocked on the full queue, returns, and every accepted job runs.
#[test]
fn shutdown_from_inside_jobs() {
    let _w = Watchdog::new("shutdown_from_inside_jobs", 60);
    // Alone, with a submitter blocked on a full queue of one: the only worker runs queued
    // jobs while it waits, so the submitter gets in (or is rejected with its job).
    let pool = Arc::new(WorkerPool::builder().workers(1).queue_capacity(1).build());
    let ran = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(Barrier::new(2));
    let (p2, st) = (pool.clone(), started.clone());
    let stopper = pool
        .submit(move || {
            st.wait();
            thread::sleep(Duration::from_millis(20)); // let the outside submitter block
            p2.shutdown();
        })
        .unwrap();
    started.wait();
    let r = ran.clone();
    pool.execute(move || {
        r.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap(); // fills the queue
    let r = ran.clone();
    let blocked = pool.execute(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    stopper.get().unwrap();
    pool.shutdown();
    let expect = 1 + usize::from(blocked.is_ok());
    assert_eq!(ran.load(Ordering::SeqCst), expect);

    // Two jobs shutting their pool down at once.
    let pool = Arc::new(WorkerPool::builder().workers(2).build());
    let both = Arc::new(Barrier::new(2));
    let ps: Vec<_> = (0..2)
        .map(|_| {
            let (pool2, both) = (pool.clone(), both.clone());
            pool.submit(move || {
                both.wait();
                pool2.shutdown();
            })
            .unwrap()
        })
        .collect();
    for p in ps {
        p.get().unwrap();
    }
    pool.shutdown();
    assert_eq!(pool.workers(), 0);
}

/// Review finding: a burst of jobs that need each other (a barrier of `max` parties)
/// against an elastic pool whose one worker is already parked: the pool must grow to `max`.
#[test]
fn elastic_burst_of_interdependent_jobs() {
    let _w = Watchdog::new("elastic_burst_of_interdependent_jobs", 60);
    for round in 0..60u64 {
        let pool = WorkerPool::builder()
            .min(1)
            .max(4)
            .keep_alive(Duration::from_secs(60))
            .build();
        thread::sleep(Duration::from_millis(2)); // the first worker parks
        let gate = Arc::new(Barrier::new(4));
        let ps: Vec<_> = (0..4)
            .map(|k| {
                let g = gate.clone();
                // Vary the spacing, so a worker is caught at every step between taking a
                // job and counting itself busy.
                if (round + k) % 3 == 0 {
                    thread::sleep(Duration::from_micros(round % 7 * 20));
                }
                pool.submit(move || {
                    g.wait();
                })
                .unwrap()
            })
            .collect();
        for p in ps {
            p.get().unwrap();
        }
        assert!(pool.workers() <= 4, "grew past max");
    }
}

#[test]
fn max_alone_builds_an_elastic_pool() {
    let pool = WorkerPool::builder().max(2).build();
    assert_eq!(pool.workers(), 0);
    assert_eq!(pool.submit(|| 5).unwrap().get(), Ok(5));
}

/// Review finding: a panic that escapes the user's closure (a result's `Drop` when nobody
/// holds the promise) leaves the worker alive and the pool able to shut down.
#[test]
fn a_panicking_drop_does_not_kill_the_worker() {
    let _w = Watchdog::new("a_panicking_drop_does_not_kill_the_worker", 60);
    struct Grenade;
    impl Drop for Grenade {
        fn drop(&mut self) {
            if !thread::panicking() {
                panic!("dropped a grenade");
            }
        }
    }
    let pool = WorkerPool::builder().workers(1).build();
    // The job waits until its promise is gone, so the result is made, and dropped, on the
    // worker (without the gate a slow test thread could still hold the promise when the
    // job ends, and the grenade would go off here instead).
    let (go, gate) = std::sync::mpsc::channel::<()>();
    let p = pool
        .submit(move || {
            gate.recv().unwrap();
            Grenade
        })
        .unwrap();
    drop(p);
    go.send(()).unwrap();
    assert_eq!(pool.submit(|| 7).unwrap().get(), Ok(7));
    pool.shutdown();
    assert_eq!(pool.workers(), 0);
}

/// `submit` (the promise form) racing shutdown: accepted promises all resolve with their
/// value, rejected jobs come back.
#[test]
fn submit_racing_shutdown() {
    let _w = Watchdog::new("submit_racing_shutdown", 60);
    for round in 0..20u64 {
        let pool = Arc::new(WorkerPool::builder().workers(2).queue_capacity(4).build());
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || {
                    let (mut ok, mut back) = (Vec::new(), 0);
                    for i in 0..300u64 {
                        match pool.submit(move || i) {
                            Ok(p) => ok.push((i, p)),
                            Err(e) => {
                                assert_eq!(e.into_inner()(), i);
                                back += 1;
                            }
                        }
                    }
                    let resolved = ok
                        .into_iter()
                        .map(|(i, p)| assert_eq!(p.get(), Ok(i)))
                        .count();
                    resolved + back
                })
            })
            .collect();
        thread::sleep(Duration::from_micros(100 * round));
        pool.shutdown();
        for h in hs {
            assert_eq!(h.join().unwrap(), 300);
        }
    }
}
