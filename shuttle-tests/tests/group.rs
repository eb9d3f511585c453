//! Group (Go's errgroup) with 8 threads: two groups of 8 jobs, each limited to 3 in flight, on
//! one 4-worker pool, with random failures and a parent context that a third thread may
//! cancel at any point. Checks the limit, that every job runs at most once (exactly once when
//! the group succeeds), that the failure reported is a cause (never a job that failed only
//! because it saw the group cancelled, unless the parent was), values in spawn order, and
//! every value dropped exactly once.
#![cfg(lockgate_shuttle)]

use lockgate::context::Context;
use lockgate::workers::{Group, GroupError, WorkerPool};
use lockgate_shuttle_tests::check;
use shuttle::rand::{thread_rng, Rng};
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;

const JOBS: usize = 8;
const LIMIT: usize = 3;

/// Why a job failed: on its own (a cause), or because it saw the context ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    Own(usize),
    Stopped(usize),
}

/// Counts its drops.
struct Value {
    index: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

/// One group of `JOBS` jobs with random failures, under `parent`, checked.
fn drive(
    pool: &WorkerPool,
    parent: &Context,
    made: &Arc<AtomicUsize>,
    drops: &Arc<AtomicUsize>,
) -> bool {
    let failing: u8 = thread_rng().gen::<u8>() & thread_rng().gen::<u8>(); // about 1 in 4
    let mut g = Group::<Value, Fail>::with_context(parent).with_limit(LIMIT);
    let inside = Arc::new(AtomicUsize::new(0));
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..JOBS).map(|_| AtomicUsize::new(0)).collect());
    for i in 0..JOBS {
        let (inside, runs, made, drops) =
            (inside.clone(), runs.clone(), made.clone(), drops.clone());
        let ctx = g.context().clone();
        let own = failing & (1 << i) != 0;
        g.spawn_on(pool, move || {
            runs[i].fetch_add(1, Ordering::SeqCst);
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(now <= LIMIT, "{now} jobs in flight, limit {LIMIT}");
            thread::yield_now();
            inside.fetch_sub(1, Ordering::SeqCst);
            if own {
                return Err(Fail::Own(i));
            }
            if ctx.is_done() {
                return Err(Fail::Stopped(i));
            }
            made.fetch_add(1, Ordering::SeqCst);
            Ok(Value { index: i, drops })
        });
    }
    assert_eq!(g.len(), JOBS);
    let out = g.wait();
    let runs: Vec<usize> = runs.iter().map(|r| r.load(Ordering::SeqCst)).collect();
    assert!(runs.iter().all(|&r| r <= 1), "a job ran twice: {runs:?}");
    let parent_done = parent.is_done();
    match out {
        Ok(values) => {
            assert_eq!(failing, 0, "jobs failed, Ok returned");
            assert!(
                runs.iter().all(|&r| r == 1),
                "Ok, yet a job never ran: {runs:?}"
            );
            let order: Vec<_> = values.iter().map(|v| v.index).collect();
            assert_eq!(order, (0..JOBS).collect::<Vec<_>>());
        }
        Err(GroupError::Failed(Fail::Own(i))) => {
            assert!(
                failing & (1 << i) != 0 && runs[i] == 1,
                "job {i} did not fail"
            );
        }
        // Only a parent's cancel can make a consequence (or a spawn's give-up) the first.
        Err(GroupError::Failed(Fail::Stopped(i))) => {
            assert!(
                parent_done,
                "job {i} stopped by the group's own cancel was reported"
            );
        }
        Err(GroupError::Cancelled(_)) => {
            assert!(
                parent_done,
                "a spawn gave up on the group's own cancel, reported first"
            );
        }
        Err(e) => panic!("{e:?}: the pool never drops a job"),
    }
    parent_done
}

/// Main, two group drivers, one canceller and the pool's 4 workers: 8 threads.
fn two_groups_one_pool() {
    let pool = Arc::new(WorkerPool::builder().workers(4).queue_capacity(4).build());
    let (parent, cancel) = Context::background().with_cancel();
    let made = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let drivers: Vec<_> = (0..2)
        .map(|_| {
            let (pool, parent, made, drops) =
                (pool.clone(), parent.clone(), made.clone(), drops.clone());
            thread::spawn(move || drive(&pool, &parent, &made, &drops))
        })
        .collect();
    let canceller = thread::spawn(move || {
        let fire = thread_rng().gen::<bool>();
        if fire {
            cancel.cancel();
        }
        fire
    });
    for d in drivers {
        d.join().unwrap();
    }
    let fired = canceller.join().unwrap();
    assert_eq!(parent.is_done(), fired, "a group cancelled its parent");
    pool.shutdown();
    assert_eq!(
        made.load(Ordering::SeqCst),
        drops.load(Ordering::SeqCst),
        "a value leaked or dropped twice"
    );
}

#[test]
fn group_two_groups_limit_3_on_a_4_worker_pool() {
    check(
        "group: 2 groups of 8, limit 3, 4 workers",
        10,
        5_000,
        two_groups_one_pool,
    );
}
