//! Group (Go's errgroup): the first failure's cancel racing a job that checks the context,
//! and fails only if it sees it cancelled.
#![cfg(lockgate_loom)]

use lockgate::workers::{Group, GroupError, WorkerPool};
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;

/// A 2-worker pool runs two jobs of one group: one fails, the other checks the group's
/// context and succeeds if it is live, else fails as a consequence. Whatever the order,
/// `wait` reports the first failure, never the consequence (its record of the failed job's
/// index is a relaxed CAS, ordered before the consequence only through the context), the
/// context is cancelled, and each job ran exactly once. 22,152 interleavings at bound 1
/// (about 3 s); bound 2 explores about two million (over five minutes). At bound 1 it catches
/// a group that cancels before its CAS: the consequence is then reported.
#[test]
fn group_first_error_cancel_racing_a_success() {
    model(1, || {
        let pool = WorkerPool::builder().workers(2).queue_capacity(2).build();
        let runs = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let mut g = Group::<(), &'static str>::new();
        let ctx = g.context().clone();
        let r = runs.clone();
        g.spawn_on(&pool, move || {
            r[0].fetch_add(1, Ordering::Relaxed);
            Err("failed")
        });
        let r = runs.clone();
        let job_ctx = ctx.clone();
        g.spawn_on(&pool, move || {
            r[1].fetch_add(1, Ordering::Relaxed);
            if job_ctx.is_done() {
                Err("stopped: the context was cancelled")
            } else {
                Ok(())
            }
        });
        assert_eq!(g.len(), 2);
        assert_eq!(g.wait(), Err(GroupError::Failed("failed")));
        assert!(ctx.is_done(), "the group's context is cancelled");
        assert_eq!(runs[0].load(Ordering::Relaxed), 1);
        assert_eq!(runs[1].load(Ordering::Relaxed), 1);
        drop(pool);
    });
}
