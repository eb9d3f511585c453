//! Context: cancellation flows down a tree and never up, deadlines fire with and without
//! waiting, typed values, causes, detached children do not pile up, and a wide, deep tree
//! cancelled from the root wakes every blocked and async waiter.

mod common;

use common::Watchdog;
use futures_executor::block_on;
use lockgate::context::{Context, ContextError, Key};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn cancel_flows_down_never_up() {
    let root = Context::background();
    let (a, cancel_a) = root.with_cancel();
    let (b, _cancel_b) = root.with_cancel();
    let (a1, cancel_a1) = a.with_cancel();
    let a2 = a.with_timeout(Duration::from_secs(600));
    cancel_a1.cancel();
    assert_eq!(a1.err(), Some(ContextError::Canceled));
    assert!(
        a.err().is_none() && a2.err().is_none(),
        "a child's cancel touched its parent"
    );
    cancel_a.cancel();
    assert_eq!(a2.err(), Some(ContextError::Canceled));
    assert!(
        b.err().is_none() && root.err().is_none(),
        "a cancel touched a sibling"
    );
    // A child made after the cancel is born cancelled.
    assert_eq!(a.with_cancel().0.err(), Some(ContextError::Canceled));
}

#[test]
fn deadlines_fire_and_are_never_early() {
    let _w = Watchdog::new("deadlines_fire_and_are_never_early", 60);
    let root = Context::background();
    let start = Instant::now();
    let ctx = root.with_timeout(Duration::from_millis(30));
    assert!(ctx.deadline().is_some());
    assert_eq!(ctx.done(), ContextError::DeadlineExceeded);
    assert!(start.elapsed() >= Duration::from_millis(30));
    // A child's deadline is never later than its parent's.
    let late = ctx.with_timeout(Duration::from_secs(600));
    assert_eq!(late.deadline(), ctx.deadline());
    assert_eq!(late.err(), Some(ContextError::DeadlineExceeded));
    // The shared timer wakes async waiters, which have no deadline of their own.
    let start = Instant::now();
    let t = root.with_timeout(Duration::from_millis(20));
    assert_eq!(block_on(t.done_async()), ContextError::DeadlineExceeded);
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(root.done_timeout(Duration::from_millis(5)), None);
}

struct RequestId;
impl Key for RequestId {
    type Value = String;
}
struct User;
impl Key for User {
    type Value = u32;
}

#[test]
fn typed_values_are_found_up_the_tree() {
    let root = Context::background();
    let ctx = root
        .with_value::<RequestId>("req-42".into())
        .with_value::<User>(7);
    let (child, _c) = ctx.with_cancel();
    assert_eq!(
        child.value::<RequestId>().map(String::as_str),
        Some("req-42")
    );
    assert_eq!(child.value::<User>(), Some(&7));
    assert_eq!(root.value::<User>(), None, "a missing key is None");
    let shadow = child.with_value::<User>(8);
    assert_eq!(shadow.value::<User>(), Some(&8));
}

#[test]
fn cancel_cause_is_kept() {
    #[derive(Debug)]
    struct Shutdown;
    impl std::fmt::Display for Shutdown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("shutting down")
        }
    }
    impl std::error::Error for Shutdown {}
    let (ctx, cancel) = Context::background().with_cancel();
    let child = ctx.with_timeout(Duration::from_secs(60));
    assert!(ctx.cause().is_none());
    cancel.cancel_with_cause(Shutdown);
    assert_eq!(child.cause().unwrap().to_string(), "shutting down");
    assert_eq!(child.err(), Some(ContextError::Canceled));
}

#[test]
fn detached_children_do_not_pile_up() {
    let root = Context::background();
    for _ in 0..10_000 {
        let (c, h) = root.with_cancel();
        let d = c.with_timeout(Duration::from_secs(600));
        drop((c, h, d));
    }
    assert_eq!(root.child_count(), 0);
    let (keep, _h) = root.with_cancel();
    assert_eq!(root.child_count(), 1);
    drop(keep);
    assert_eq!(root.child_count(), 1, "the cancel handle keeps the child");
}

#[derive(Default)]
struct Counting(AtomicUsize);
impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A tree of depth 100 and width 10,000, cancelled from the root: a few hundred blocked
/// threads and thousands of async waiters all wake.
#[test]
fn cancel_wide_deep_tree_wakes_everyone() {
    let _w = Watchdog::new("cancel_wide_deep_tree_wakes_everyone", 120);
    let (root, cancel) = Context::background().with_cancel();
    let mut chain = vec![root.clone()];
    for _ in 0..100 {
        let next = chain.last().unwrap().with_cancel().0;
        chain.push(next);
    }
    let leaves: Vec<Context> = (0..10_000)
        .map(|i| chain[i % chain.len()].with_cancel().0)
        .collect();
    let counting = Arc::new(Counting::default());
    let waker = Waker::from(counting.clone());
    let mut futures: Vec<_> = leaves.iter().map(|l| Box::pin(l.done_async())).collect();
    for f in futures.iter_mut() {
        assert!(f
            .as_mut()
            .poll(&mut TaskContext::from_waker(&waker))
            .is_pending());
    }
    thread::scope(|s| {
        let blocked: Vec<_> = (0..200)
            .map(|i| {
                let leaf = &leaves[i * 37 % leaves.len()];
                s.spawn(move || leaf.done())
            })
            .collect();
        thread::sleep(Duration::from_millis(50));
        cancel.cancel();
        for b in blocked {
            assert_eq!(b.join().unwrap(), ContextError::Canceled);
        }
    });
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        futures.len(),
        "an async waiter slept on"
    );
    for f in futures.iter_mut() {
        assert!(f
            .as_mut()
            .poll(&mut TaskContext::from_waker(&waker))
            .is_ready());
    }
}

/// Cancels racing child creation on other threads: every child ends up cancelled.
#[test]
fn cancel_racing_child_creation() {
    let _w = Watchdog::new("cancel_racing_child_creation", 60);
    for _ in 0..200 {
        let (root, cancel) = Context::background().with_cancel();
        thread::scope(|s| {
            let makers: Vec<_> = (0..3)
                .map(|_| {
                    let root = &root;
                    s.spawn(move || (0..20).map(|_| root.with_cancel().0).collect::<Vec<_>>())
                })
                .collect();
            cancel.cancel();
            for m in makers {
                for c in m.join().unwrap() {
                    assert_eq!(c.err(), Some(ContextError::Canceled), "a child escaped");
                }
            }
        });
    }
}

/// Dropping a very deep chain releases its ancestors iteratively: no stack overflow.
#[test]
fn deep_chain_drops_without_recursion() {
    let _w = Watchdog::new("deep_chain_drops_without_recursion", 60);
    thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let root = Context::background();
            let mut c = root.clone();
            for i in 0..100_000u32 {
                c = c.with_value::<User>(i);
            }
            assert_eq!(c.value::<User>(), Some(&99_999));
            drop(c);
            assert_eq!(root.child_count(), 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A waker that panics while a cancel wakes the parent's waiters: the subtree is still
/// cancelled and its waiters still woken.
#[test]
fn panicking_waker_during_cancel_leaves_nothing_live() {
    struct Bomb;
    impl Wake for Bomb {
        fn wake(self: Arc<Self>) {
            panic!("waker bomb");
        }
    }
    let (parent, cancel) = Context::background().with_cancel();
    let (child, _h) = parent.with_cancel();
    let bomb = Waker::from(Arc::new(Bomb));
    let counting = Arc::new(Counting::default());
    let waker = Waker::from(counting.clone());
    let mut on_parent = Box::pin(parent.done_async());
    let mut on_child = Box::pin(child.done_async());
    assert!(on_parent
        .as_mut()
        .poll(&mut TaskContext::from_waker(&bomb))
        .is_pending());
    assert!(on_child
        .as_mut()
        .poll(&mut TaskContext::from_waker(&waker))
        .is_pending());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cancel.cancel()));
    assert!(r.is_err(), "the waker's panic reaches the canceller");
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        1,
        "the child's waiter was woken"
    );
}

/// Go's TestCancelRemoves: a child cancelled by its own handle leaves its parent at once,
/// while its handles are still held, so a long-lived parent with one child per request does
/// not keep them all.
#[test]
fn a_cancelled_child_leaves_its_parent() {
    let root = Context::background();
    let children: Vec<_> = (0..100).map(|_| root.with_cancel()).collect();
    assert_eq!(root.child_count(), 100);
    for (c, h) in &children {
        h.cancel();
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }
    assert_eq!(
        root.child_count(),
        0,
        "cancelled children stayed in the parent"
    );
    // The parent and its other children are untouched, and new children still register.
    assert!(root.err().is_none());
    let (_c, _h) = root.with_cancel();
    assert_eq!(root.child_count(), 1);
    drop(children);
    assert_eq!(root.child_count(), 1);
}

/// A child whose deadline passes leaves its parent when the timer fires, with its handle
/// still held and nobody looking at the child.
#[test]
fn an_expired_child_leaves_its_parent() {
    let _w = Watchdog::new("an_expired_child_leaves_its_parent", 60);
    let (root, _cancel) = Context::background().with_cancel();
    let child = root.with_timeout(Duration::from_millis(10));
    let grandchild = child.with_cancel();
    assert_eq!(root.child_count(), 1);
    let start = Instant::now();
    while root.child_count() != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "an expired child stayed in its parent"
        );
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(grandchild.0.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(child.child_count(), 0);
    assert!(root.err().is_none());
}

/// A parent's cancel racing its children's own cancels on other threads: every child ends
/// cancelled and none is left in the parent.
#[test]
fn parent_cancel_racing_child_cancels() {
    let _w = Watchdog::new("parent_cancel_racing_child_cancels", 120);
    for round in 0..200 {
        let (root, cancel) = Context::background().with_cancel();
        let children: Vec<_> = (0..24).map(|_| root.with_cancel()).collect();
        thread::scope(|s| {
            for part in children.chunks(8) {
                s.spawn(move || {
                    for (_, h) in part {
                        h.cancel();
                    }
                });
            }
            if round % 2 == 0 {
                cancel.cancel();
            }
        });
        for (c, _) in &children {
            assert_eq!(c.err(), Some(ContextError::Canceled), "a child escaped");
        }
        assert_eq!(root.child_count(), 0, "round {round}: children left");
    }
}
