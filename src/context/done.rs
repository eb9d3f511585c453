//! Waiting for a context's end without blocking a thread: the future of
//! [`Context::done_async`](super::Context::done_async) and the arm of `done(ctx)` in
//! [`select!`](crate::select!).

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::Instant;

use super::{Context, ContextError};
use crate::sync::AtomicUsize;
use crate::wait::select::{Arm, WokenNode};
use crate::wait::{self, Waiter};

/// The future of [`Context::done_async`]; embeds its wait node (`!Unpin`).
#[must_use = "futures do nothing unless polled"]
pub struct Done<'a> {
    pub(super) ctx: &'a Context,
    pub(super) node: Waiter<()>,
    pub(super) done: bool,
}

impl Future for Done<'_> {
    type Output = ContextError;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<ContextError> {
        // SAFETY: `node` is structurally pinned: never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "Done polled after completion");
        let ctx = this.ctx;
        // SAFETY: `node` is pinned, only ever registered in this context's list, and `Drop`
        // calls `cancel_wait` unless the future completed.
        let r = unsafe { wait::poll_wait(&ctx.node.waiters, &this.node, cx, || ctx.err()) };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: the node was only ever registered in this context's list.
            unsafe { wait::cancel_wait(&self.ctx.node.waiters, &self.node) };
        }
    }
}

impl fmt::Debug for Done<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done").field("done", &self.done).finish()
    }
}

/// The context's arm of [`select!`](crate::select!): `done(ctx) -> err => ...` fires once the
/// context is done, with why. Its node sits in the context's wait list, which cancellation
/// wakes entirely (`notify_all`), so no notification needs passing on.
#[doc(hidden)]
pub struct DoneArm<'a> {
    ctx: &'a Context,
    node: WokenNode,
    out: Option<ContextError>,
}

impl<'a> DoneArm<'a> {
    /// An arm waiting for `ctx` to end.
    pub fn new(ctx: &'a Context) -> Self {
        DoneArm {
            ctx,
            node: WokenNode::new(),
            out: None,
        }
    }

    /// Why the context ended (the arm fired).
    ///
    /// # Panics
    /// If the arm did not fire.
    pub fn take(&mut self) -> ContextError {
        self.out
            .take()
            .expect("select: outcome of an arm that did not fire")
    }
}

impl Arm for DoneArm<'_> {
    fn attempt(&mut self) -> bool {
        self.out = self.ctx.err();
        self.out.is_some()
    }

    unsafe fn link(&mut self, _token: &AtomicUsize, _index: usize, wake: wait::Wake) {
        // SAFETY: the arm (and its node) stays put until `unlink` (the caller's contract),
        // which unlinks from the same list, the context's, alive as long as `self.ctx`.
        unsafe { self.node.link(&self.ctx.node.waiters, wake) };
    }

    fn woken(&self) -> bool {
        self.node.woken()
    }

    fn unlink(&mut self, _claimed: bool) {
        // SAFETY: only ever linked in the context's list (`link`).
        unsafe { self.node.unlink(&self.ctx.node.waiters) };
    }

    fn deadline(&self) -> Option<Instant> {
        self.ctx.node.deadline
    }
}

impl Drop for DoneArm<'_> {
    fn drop(&mut self) {
        Arm::unlink(self, false); // backstop for a select left by a panic
    }
}

impl fmt::Debug for DoneArm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneArm")
            .field("linked", &self.node.is_linked())
            .finish()
    }
}
