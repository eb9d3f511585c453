//! WorkerPool scheduling: jobs that submit jobs (onto their worker's own deque, stolen by
//! the others), inline and boxed fire-and-forget jobs, sleeping workers woken by the wake
//! rule, and shutdown or abort racing submits from inside jobs. Every job is counted: it
//! runs exactly once or comes back (or, after abort, is dropped exactly once); every
//! closure is dropped exactly once; no thread is left behind.

mod common;

use common::{threads_named, DropCounter, Watchdog};
use lockgate::future::PromiseError;
use lockgate::workers::{Rejected, WorkerPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Runs counters for `n` job ids.
fn counters(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

fn all_once(runs: &[AtomicUsize], what: &str) {
    for (i, c) in runs.iter().enumerate() {
        assert_eq!(
            c.load(Ordering::SeqCst),
            1,
            "{what}: job {i} ran other than once"
        );
    }
}

/// A tree of jobs: each of the first levels submits two children from inside (its worker's
/// deque), fire-and-forget or with a promise it waits for; leaves count. Every node runs
/// once and every closure is dropped once, on 3 and on 16 workers (oversubscribed here).
#[test]
fn stress_jobs_submitting_jobs_run_once_each() {
    let _w = Watchdog::new("stress_jobs_submitting_jobs_run_once_each", 120);
    const DEPTH: u32 = 11; // 4,095 nodes
    let nodes = (1usize << (DEPTH + 1)) - 1;
    for workers in [3, 16] {
        let pool = Arc::new(
            WorkerPool::builder()
                .workers(workers)
                .queue_capacity(16)
                .build(),
        );
        let runs = counters(nodes);
        let drops = Arc::new(AtomicUsize::new(0));
        fn node(
            pool: Arc<WorkerPool>,
            runs: Arc<Vec<AtomicUsize>>,
            drops: Arc<AtomicUsize>,
            id: usize,
            depth: u32,
        ) {
            let guard = DropCounter::new(&drops);
            runs[id].fetch_add(1, Ordering::SeqCst);
            if depth > 0 {
                let (l, r) = (2 * id + 1, 2 * id + 2);
                let (p2, r2, d2) = (pool.clone(), runs.clone(), drops.clone());
                let g2 = DropCounter::new(&drops);
                let left = pool
                    .submit(move || {
                        let _g = g2;
                        node(p2, r2, d2, l, depth - 1)
                    })
                    .unwrap();
                let (p3, r3, d3) = (pool.clone(), runs.clone(), drops.clone());
                let g3 = DropCounter::new(&drops);
                pool.execute(move || {
                    let _g = g3;
                    node(p3, r3, d3, r, depth - 1)
                })
                .unwrap();
                left.get().unwrap(); // joins the left subtree (claimed inline if still queued)
            }
            drop(guard);
        }
        let (p, r, d) = (pool.clone(), runs.clone(), drops.clone());
        pool.submit(move || node(p, r, d, 0, DEPTH))
            .unwrap()
            .get()
            .unwrap();
        // The right subtrees are fire-and-forget: wait until every node ran (a submit after
        // shutdown began would be refused, rightly).
        let start = std::time::Instant::now();
        while runs.iter().any(|c| c.load(Ordering::SeqCst) == 0) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "a node never ran"
            );
            thread::sleep(Duration::from_millis(1));
        }
        pool.shutdown();
        all_once(&runs, &format!("{workers} workers"));
        // One guard per node, one per submitted closure (every node but the root).
        assert_eq!(drops.load(Ordering::SeqCst), nodes + nodes - 1);
        assert_eq!(pool.completed() as usize, nodes);
    }
}

/// Jobs submit children from inside while another thread shuts the pool down: every
/// accepted child runs once, every refused one comes back (and is dropped by the test),
/// and every closure is dropped once; no worker thread is left.
#[test]
fn stress_shutdown_racing_submits_from_jobs() {
    let _w = Watchdog::new("stress_shutdown_racing_submits_from_jobs", 120);
    for round in 0..30u64 {
        let name = format!("lg-steal-{round}");
        let pool = Arc::new(
            WorkerPool::builder()
                .workers(4)
                .queue_capacity(8)
                .name(name.clone())
                .build(),
        );
        let ran = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        // More children than a deque holds (256): the rest overflow to the injector, and
        // past its room run on the submitting worker (caller-runs).
        let parents = 12;
        let children = 300;
        for _ in 0..parents {
            let (p, ran, acc, refd, d) = (
                pool.clone(),
                ran.clone(),
                accepted.clone(),
                refused.clone(),
                drops.clone(),
            );
            let r = pool.execute(move || {
                for _ in 0..children {
                    let (ran, g) = (ran.clone(), DropCounter::new(&d));
                    match p.execute(move || {
                        let _g = g;
                        ran.fetch_add(1, Ordering::SeqCst);
                    }) {
                        Ok(()) => acc.fetch_add(1, Ordering::SeqCst),
                        Err(Rejected::Shutdown(job)) => {
                            drop(job);
                            refd.fetch_add(1, Ordering::SeqCst)
                        }
                        Err(Rejected::Full(_)) => unreachable!("execute never reports full"),
                    };
                }
            });
            if r.is_err() {
                refused.fetch_add(children, Ordering::SeqCst); // the parent itself came back
                drops.fetch_add(children, Ordering::SeqCst);
            }
        }
        thread::sleep(Duration::from_micros(50 * round));
        pool.shutdown();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            accepted.load(Ordering::SeqCst),
            "round {round}: an accepted child did not run exactly once"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst) + refused.load(Ordering::SeqCst),
            parents * children,
            "round {round}: a child was neither run nor handed back"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            parents * children,
            "round {round}: drops"
        );
        // A joined thread leaves /proc/self/task a moment after join returns.
        let start = std::time::Instant::now();
        while threads_named(&name) > 0 && start.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(
            threads_named(&name),
            0,
            "round {round}: a worker thread is left"
        );
    }
}

/// Abort while the workers' deques hold children: every child runs or is dropped, exactly
/// once, and every promise completes (a dropped job's promise as abandoned).
#[test]
fn stress_abort_with_jobs_on_the_deques() {
    let _w = Watchdog::new("stress_abort_with_jobs_on_the_deques", 120);
    for round in 0..20u64 {
        let pool = Arc::new(WorkerPool::builder().workers(3).queue_capacity(4).build());
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..6 {
            let (p, ran, drops, tx) = (pool.clone(), ran.clone(), drops.clone(), tx.clone());
            let refd = refused.clone();
            let _ = pool.execute(move || {
                for _ in 0..100 {
                    let (ran, g) = (ran.clone(), DropCounter::new(&drops));
                    match p.submit(move || {
                        let _g = g;
                        ran.fetch_add(1, Ordering::SeqCst);
                    }) {
                        Ok(pr) => drop(tx.send(pr)),
                        Err(back) => {
                            drop(back); // refused after the abort: handed back, dropped here
                            refd.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            });
        }
        drop(tx);
        thread::sleep(Duration::from_micros(30 * round));
        pool.abort();
        let mut done = 0;
        let mut abandoned = 0;
        for pr in rx.iter() {
            match pr.get() {
                Ok(()) => done += 1,
                Err(PromiseError::Abandoned) => abandoned += 1,
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(ran.load(Ordering::SeqCst), done, "round {round}: runs");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            done + abandoned + refused.load(Ordering::SeqCst),
            "round {round}: drops"
        );
    }
}

/// Fire-and-forget jobs small enough to travel inline and too big to: both run once, a
/// panic in either is counted and contained, and a refused one comes back as the very
/// closure given.
#[test]
fn inline_and_boxed_jobs() {
    let _w = Watchdog::new("inline_and_boxed_jobs", 60);
    let pool = WorkerPool::new(2);
    let ran = Arc::new(AtomicUsize::new(0));
    for i in 0..1000usize {
        let r = ran.clone();
        if i % 2 == 0 {
            pool.execute(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        } else {
            let big = [i; 8]; // eight words: boxed
            pool.execute(move || {
                r.fetch_add(big[7] - i + 1, Ordering::SeqCst);
            })
            .unwrap();
        }
    }
    pool.execute(|| panic!("inline panic")).unwrap();
    let big = [0u64; 8];
    pool.execute(move || panic!("boxed panic {}", big[0]))
        .unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 1000);
    assert_eq!(pool.panicked(), 2);
    assert_eq!(pool.completed(), 1002);
    // Refused after shutdown: the closure comes back whole, inline or boxed.
    let small = Arc::new(AtomicUsize::new(0));
    let s2 = small.clone();
    let back = pool
        .execute(move || {
            s2.fetch_add(7, Ordering::SeqCst);
        })
        .unwrap_err()
        .into_inner();
    back();
    assert_eq!(small.load(Ordering::SeqCst), 7);
    let big = [3usize; 8];
    let back = pool.execute(move || assert_eq!(big[5], 3)).unwrap_err();
    assert!(matches!(back, Rejected::Shutdown(_)));
    (back.into_inner())();
}

/// Idle workers sleep and the wake rule brings them back: bursts separated by pauses long
/// enough for every worker to park, from one submitter and from many, on 16 workers.
#[test]
fn stress_bursts_after_every_worker_parked() {
    let _w = Watchdog::new("stress_bursts_after_every_worker_parked", 120);
    let pool = Arc::new(WorkerPool::builder().workers(16).queue_capacity(64).build());
    let ran = Arc::new(AtomicUsize::new(0));
    let mut expected = 0;
    for burst in 0..40 {
        thread::sleep(Duration::from_millis(2));
        let submitters = if burst % 2 == 0 { 1 } else { 8 };
        let handles: Vec<_> = (0..submitters)
            .map(|_| {
                let (pool, ran) = (pool.clone(), ran.clone());
                thread::spawn(move || {
                    let ps: Vec<_> = (0..50)
                        .map(|_| {
                            let ran = ran.clone();
                            pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
                                .unwrap()
                        })
                        .collect();
                    for p in ps {
                        p.get().unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        expected += submitters * 50;
        assert_eq!(ran.load(Ordering::SeqCst), expected, "burst {burst}");
    }
}
