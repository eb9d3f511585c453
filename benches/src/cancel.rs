//! Cancellation trees: lockgate's `Context` against tokio-util's `CancellationToken`. One
//! operation is: make a child of a shared parent, check it, drop it; every 64 operations the
//! parent is cancelled (waking nothing) and replaced, and its children checked as cancelled.
//! Each thread has its own parent (a cancel must not reach another thread's children), so
//! this times the per-request cost, not contention on one root.

use std::time::Duration;

use crate::{share, timed_threads};

/// A cancellation tree under test.
pub trait Tree: Send + Sync + Clone + 'static {
    type Handle;
    fn root() -> (Self, Self::Handle);
    fn child(&self) -> (Self, Self::Handle);
    fn cancel(h: &Self::Handle);
    fn is_cancelled(&self) -> bool;
}

impl Tree for lockgate::context::Context {
    type Handle = lockgate::context::CancelHandle;
    fn root() -> (Self, Self::Handle) {
        lockgate::context::Context::background().with_cancel()
    }
    fn child(&self) -> (Self, Self::Handle) {
        self.with_cancel()
    }
    fn cancel(h: &Self::Handle) {
        h.cancel();
    }
    fn is_cancelled(&self) -> bool {
        self.is_done()
    }
}

impl Tree for tokio_util::sync::CancellationToken {
    type Handle = tokio_util::sync::CancellationToken;
    fn root() -> (Self, Self::Handle) {
        let t = tokio_util::sync::CancellationToken::new();
        (t.clone(), t)
    }
    fn child(&self) -> (Self, Self::Handle) {
        let c = self.child_token();
        (c.clone(), c)
    }
    fn cancel(h: &Self::Handle) {
        h.cancel();
    }
    fn is_cancelled(&self) -> bool {
        tokio_util::sync::CancellationToken::is_cancelled(self)
    }
}

/// `threads` threads, `ops` child create/check/drop operations in all.
pub fn tree_ops<T: Tree>(threads: usize, ops: u64) -> Duration {
    timed_threads(threads, |i| {
        let (mut parent, mut handle) = T::root();
        let mut kept = Vec::with_capacity(64);
        for k in 0..share(ops, threads, i) {
            let (c, _h) = parent.child();
            assert!(!c.is_cancelled());
            if k % 8 == 0 {
                kept.push(c);
            }
            if k % 64 == 63 {
                T::cancel(&handle);
                assert!(
                    kept.iter().all(T::is_cancelled),
                    "a child escaped the cancel"
                );
                kept.clear();
                (parent, handle) = T::root();
            }
        }
    })
}
