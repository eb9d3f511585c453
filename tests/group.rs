//! Group (Go's errgroup): the first failure in time is reported, never the failures it caused;
//! values come back in spawn order; a panic is a failure that cancels the group; a parent
//! context reaches the jobs; the limit is never exceeded, `try_spawn` hands a job back at it,
//! and a spawn waiting for a slot gives up when the context ends; a pool that shuts down or
//! aborts makes its jobs `Abandoned`. The stress test runs 1,000 groups of 16 jobs with random
//! failures and counts every run and every drop.

mod common;

use common::{DropCounter, Watchdog};
use lockgate::barrier::Latch;
use lockgate::context::{Context, ContextError};
use lockgate::workers::{Group, GroupError, WorkerPool};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Long enough that a test never waits it out, short enough that a bug fails instead of hanging.
const LONG: Duration = Duration::from_secs(30);

/// A job spawned first that fails only once it sees the context cancelled, and a job spawned
/// second that fails at once: the second is the cause, and is what `wait` reports.
#[test]
fn first_failure_in_time_wins() {
    let _w = Watchdog::new("first_failure_in_time_wins", 60);
    let pool = WorkerPool::new(2);
    for _ in 0..50 {
        let mut g = Group::new();
        let ctx = g.context().clone();
        g.spawn_on(&pool, move || match ctx.done_timeout(LONG) {
            Some(e) => Err(format!("job 0 saw {e}")),
            None => Ok(0),
        });
        g.spawn_on(&pool, || Err("job 1 failed".to_string()));
        assert_eq!(g.len(), 2);
        assert_eq!(g.wait(), Err(GroupError::Failed("job 1 failed".into())));
    }
}

#[test]
fn values_come_back_in_spawn_order() {
    let _w = Watchdog::new("values_come_back_in_spawn_order", 60);
    let pool = WorkerPool::new(4);
    let mut g = Group::<usize, String>::new();
    assert!(g.is_empty());
    for i in 0..64 {
        g.spawn_on(&pool, move || {
            // Later jobs finish first.
            thread::sleep(Duration::from_micros(((64 - i) * 20) as u64));
            Ok(i)
        });
    }
    assert_eq!(g.len(), 64);
    assert_eq!(g.wait(), Ok((0..64).collect::<Vec<_>>()));
}

#[test]
fn spawn_on_the_default_pool() {
    let _w = Watchdog::new("spawn_on_the_default_pool", 60);
    let mut g = Group::<u32, String>::default();
    for i in 0..10 {
        g.spawn(move || Ok(i * 2));
    }
    assert_eq!(g.wait(), Ok((0..10).map(|i| i * 2).collect::<Vec<_>>()));
    let mut g = Group::<u32, String>::new();
    g.spawn(|| Err("no".into()));
    g.spawn(|| Ok(1));
    assert_eq!(g.wait(), Err(GroupError::Failed("no".into())));
}

/// A panic is caught in the job (the pool never sees it), reported as `Panicked`, and cancels
/// the group's context, which the other job sees.
#[test]
fn panic_is_a_failure_that_cancels() {
    let _w = Watchdog::new("panic_is_a_failure_that_cancels", 60);
    let pool = WorkerPool::new(2);
    let mut g = Group::<u8, String>::new();
    let ctx = g.context().clone();
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let saw = saw_cancel.clone();
    g.spawn_on(&pool, move || {
        if ctx.done_timeout(LONG) == Some(ContextError::Canceled) {
            saw.store(true, Ordering::SeqCst);
        }
        Ok(1)
    });
    g.spawn_on(&pool, || panic!("job exploded"));
    assert_eq!(g.wait(), Err(GroupError::Panicked("job exploded".into())));
    assert!(
        saw_cancel.load(Ordering::SeqCst),
        "the other job saw the cancel"
    );
    assert_eq!(pool.panicked(), 0, "the panic never reached the pool");
    // The pool is fine afterwards.
    assert_eq!(pool.submit(|| 5).unwrap().get(), Ok(5));
}

/// Cancelling the parent reaches every job through the group's context; the group's own
/// failure never cancels the parent.
#[test]
fn parent_cancel_reaches_jobs() {
    let _w = Watchdog::new("parent_cancel_reaches_jobs", 60);
    let pool = WorkerPool::new(3);
    let (parent, cancel) = Context::background().with_cancel();
    let mut g = Group::<(), ContextError>::with_context(&parent);
    for _ in 0..3 {
        let ctx = g.context().clone();
        g.spawn_on(&pool, move || {
            Err(ctx.done_timeout(LONG).expect("cancelled"))
        });
    }
    thread::sleep(Duration::from_millis(10));
    cancel.cancel();
    assert_eq!(g.wait(), Err(GroupError::Failed(ContextError::Canceled)));

    let (parent, _cancel) = Context::background().with_cancel();
    let mut g = Group::<(), &str>::with_context(&parent);
    let ctx = g.context().clone();
    g.spawn_on(&pool, || Err("failed"));
    assert_eq!(g.wait(), Err(GroupError::Failed("failed")));
    assert!(ctx.is_done(), "the group's context ends with the group");
    assert!(!parent.is_done(), "never the parent's");
}

/// `wait` cancels the group's context even when every job succeeded (Go's `Wait` does), and
/// dropping a group without waiting cancels it too.
#[test]
fn wait_and_drop_end_the_context() {
    let _w = Watchdog::new("wait_and_drop_end_the_context", 60);
    let mut g = Group::<u8, ()>::new();
    let ctx = g.context().clone();
    g.spawn(|| Ok(1));
    assert!(!ctx.is_done());
    assert_eq!(g.wait(), Ok(vec![1]));
    assert_eq!(ctx.err(), Some(ContextError::Canceled));

    let pool = WorkerPool::new(1);
    let mut g = Group::<(), ()>::new();
    let ctx = g.context().clone();
    let job_ctx = ctx.clone();
    g.spawn_on(&pool, move || {
        job_ctx.done_timeout(LONG).expect("cancelled by the drop");
        Ok(())
    });
    drop(g);
    assert!(ctx.is_done());
    pool.shutdown(); // the detached job returns once it sees the cancel
}

/// Never more than `n` jobs in flight, counted with an atomic maximum.
#[test]
fn limit_is_never_exceeded() {
    let _w = Watchdog::new("limit_is_never_exceeded", 60);
    let pool = WorkerPool::new(8);
    for limit in [1, 3] {
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut g = Group::<usize, ()>::new().with_limit(limit);
        for i in 0..100 {
            let (inside, most) = (inside.clone(), most.clone());
            g.spawn_on(&pool, move || {
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(500));
                inside.fetch_sub(1, Ordering::SeqCst);
                Ok(i)
            });
        }
        assert_eq!(g.wait(), Ok((0..100).collect::<Vec<_>>()));
        let most = most.load(Ordering::SeqCst);
        assert!(most <= limit, "{most} in flight, limit {limit}");
        assert_eq!(most, limit, "the limit, not fewer, ran at once");
    }
}

#[test]
#[should_panic(expected = "at least 1")]
fn limit_zero_panics() {
    let _ = Group::<(), ()>::new().with_limit(0);
}

/// At the limit `try_spawn` hands the job back whole; below it, it spawns.
#[test]
fn try_spawn_hands_back_at_the_limit() {
    let _w = Watchdog::new("try_spawn_hands_back_at_the_limit", 60);
    let pool = WorkerPool::new(2);
    let gate = Arc::new(Latch::new(1));
    let mut g = Group::<u8, ()>::new().with_limit(1);
    let l = gate.clone();
    assert!(g
        .try_spawn_on(&pool, move || {
            l.wait();
            Ok(1)
        })
        .is_ok());
    let back = g.try_spawn_on(&pool, || Ok(2)).expect_err("at the limit");
    assert_eq!(back(), Ok(2));
    let back = g
        .try_spawn(|| Ok(3))
        .expect_err("at the limit, default pool too");
    assert_eq!(back(), Ok(3));
    assert_eq!(g.len(), 1, "a job handed back is not spawned");
    gate.count_down();
    assert_eq!(g.wait(), Ok(vec![1]));

    let mut g = Group::<u8, ()>::new();
    assert!(g.try_spawn(|| Ok(4)).is_ok(), "no limit: always spawns");
    assert_eq!(g.wait(), Ok(vec![4]));
}

/// A spawn waiting at the limit gives up when the context ends: the job never runs, and the
/// failure is `Cancelled`, unless an earlier failure cancelled the context, which stays the
/// one reported.
#[test]
fn spawn_waiting_for_a_slot_gives_up_on_cancel() {
    let _w = Watchdog::new("spawn_waiting_for_a_slot_gives_up_on_cancel", 60);
    let pool = WorkerPool::new(2);
    let (parent, cancel) = Context::background().with_cancel();
    let mut g = Group::<u8, ()>::with_context(&parent).with_limit(1);
    // The first job holds the only slot until after the spawn below has given up (a slot
    // freed at the instant of the cancel may go to the waiting spawn instead).
    let gate = Arc::new(Latch::new(1));
    let l = gate.clone();
    g.spawn_on(&pool, move || {
        l.wait();
        Ok(0)
    });
    let canceller = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        cancel.cancel();
    });
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    g.spawn_on(&pool, move || {
        r.store(true, Ordering::SeqCst);
        Ok(1)
    }); // waits for the slot until the cancel
    canceller.join().unwrap();
    gate.count_down();
    assert_eq!(g.len(), 2);
    assert_eq!(g.wait(), Err(GroupError::Cancelled(ContextError::Canceled)));
    assert!(
        !ran.load(Ordering::SeqCst),
        "a job that got no slot never runs"
    );

    // An earlier failure cancels the context; the spawn waiting behind it is cancelled too,
    // but the failure is what is reported.
    for _ in 0..20 {
        let mut g = Group::<u8, &str>::new().with_limit(1);
        g.spawn_on(&pool, || {
            thread::sleep(Duration::from_millis(2));
            Err("the cause")
        });
        g.spawn_on(&pool, || Ok(1));
        assert_eq!(g.wait(), Err(GroupError::Failed("the cause")));
    }
}

/// A pool shut down before the spawn, or aborted with the job still queued: `Abandoned`, and
/// the group's context is cancelled as soon as the job is dropped.
#[test]
fn pool_shut_down_or_aborted_abandons() {
    let _w = Watchdog::new("pool_shut_down_or_aborted_abandons", 60);
    let pool = WorkerPool::new(1);
    pool.shutdown();
    let mut g = Group::<u8, ()>::new();
    g.spawn_on(&pool, || Ok(1));
    assert!(g.context().is_done());
    assert_eq!(g.wait(), Err(GroupError::Abandoned));

    // No stand-ins: a stand-in compensating the blocked worker could run the group's job
    // before the abort (seen under AddressSanitizer, where the test runs slowly enough).
    let pool = WorkerPool::builder().workers(1).max_stand_ins(0).build();
    let gate = Arc::new(Latch::new(1));
    let (l, started) = (gate.clone(), Arc::new(AtomicBool::new(false)));
    let s = started.clone();
    let blocker = pool
        .submit(move || {
            s.store(true, Ordering::SeqCst);
            l.wait()
        })
        .unwrap();
    while !started.load(Ordering::SeqCst) {
        thread::yield_now();
    }
    let mut g = Group::<u8, ()>::new();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    g.spawn_on(&pool, move || {
        r.store(true, Ordering::SeqCst);
        Ok(1)
    });
    thread::scope(|s| {
        // Open the gate once the abort has emptied the queue, so the job is dropped unrun.
        s.spawn(|| {
            while !(pool.is_shutdown() && pool.queued() == 0) {
                thread::yield_now();
            }
            gate.count_down();
        });
        pool.abort();
    });
    blocker.get().unwrap();
    assert!(
        g.context().is_done(),
        "dropping the job cancelled the group"
    );
    assert_eq!(g.wait(), Err(GroupError::Abandoned));
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn errors_display_and_source() {
    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("inner")
        }
    }
    impl std::error::Error for Inner {}
    #[derive(Debug)]
    struct Outer(Inner);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    use std::error::Error;
    let e = GroupError::Failed(Outer(Inner));
    assert_eq!(e.to_string(), "outer", "Failed is transparent");
    assert_eq!(e.source().unwrap().to_string(), "inner");
    let e = GroupError::<Outer>::Panicked("boom".into());
    assert_eq!(e.to_string(), "a job of the group panicked: boom");
    assert!(e.source().is_none());
    let e = GroupError::<Outer>::Abandoned;
    assert_eq!(
        e.to_string(),
        "a job of the group was dropped unrun by its pool"
    );
    let e = GroupError::<Outer>::Cancelled(ContextError::DeadlineExceeded);
    assert!(e.to_string().contains("context deadline exceeded"), "{e}");
    let g = Group::<(), ()>::new().with_limit(2);
    assert!(format!("{g:?}").starts_with("Group"));
}

/// A small xorshift generator: repeatable randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 1,000 groups of 16 jobs from 4 threads on one pool, each job failing with probability 1/8;
/// half the groups with a limit of 4. Every job runs at most once, and exactly once in a
/// group that succeeded or has no limit; a failed group reports one of its failing jobs (the
/// jobs fail only on their own, so no failure is a consequence); every value is dropped
/// exactly once.
#[test]
fn stress_groups_with_random_failures() {
    let _w = Watchdog::new("stress_groups_with_random_failures", 120);
    const THREADS: u64 = 4;
    const GROUPS: u64 = 250; // per thread
    const JOBS: usize = 16;
    let pool = WorkerPool::new(4);
    let made = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    thread::scope(|s| {
        for t in 0..THREADS {
            let (pool, made, dropped) = (&pool, made.clone(), dropped.clone());
            s.spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                for n in 0..GROUPS {
                    let limited = n % 2 == 1;
                    let mut g = Group::<(usize, DropCounter), usize>::new();
                    if limited {
                        g = g.with_limit(4);
                    }
                    let runs: Arc<Vec<AtomicUsize>> =
                        Arc::new((0..JOBS).map(|_| AtomicUsize::new(0)).collect());
                    let mut failing = Vec::new();
                    for i in 0..JOBS {
                        let fail = rng.next() % 8 == 0;
                        if fail {
                            failing.push(i);
                        }
                        let (runs, made, dropped) = (runs.clone(), made.clone(), dropped.clone());
                        g.spawn_on(pool, move || {
                            runs[i].fetch_add(1, Ordering::SeqCst);
                            if fail {
                                return Err(i);
                            }
                            made.fetch_add(1, Ordering::SeqCst);
                            Ok((i, DropCounter::new(&dropped)))
                        });
                    }
                    let out = g.wait();
                    for (i, r) in runs.iter().enumerate() {
                        let r = r.load(Ordering::SeqCst);
                        assert!(r <= 1, "job {i} ran {r} times");
                        if !limited || out.is_ok() {
                            assert_eq!(r, 1, "job {i} never ran");
                        }
                    }
                    match out {
                        Ok(values) => {
                            assert!(failing.is_empty(), "jobs {failing:?} failed, Ok returned");
                            let order: Vec<_> = values.iter().map(|(i, _)| *i).collect();
                            assert_eq!(order, (0..JOBS).collect::<Vec<_>>());
                        }
                        // A later spawn waiting for a slot may see the cancel; the cause
                        // came first.
                        Err(GroupError::Failed(i)) => assert!(failing.contains(&i), "{i}"),
                        Err(e) => panic!("{e:?}: no job failed that way"),
                    }
                }
            });
        }
    });
    let (made, dropped) = (made.load(Ordering::SeqCst), dropped.load(Ordering::SeqCst));
    assert_eq!(made, dropped, "every value dropped exactly once");
    assert!(made > 1000);
}
