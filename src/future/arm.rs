//! The promise's arm of [`select!`](crate::select!): `get(promise) -> r`.

use core::fmt;

use super::{trampoline, Promise, PromiseError};
use crate::wait::select::{Arm, WokenNode};

/// The promise's arm of [`select!`](crate::select!): `get(promise) -> r => ...` fires once
/// the result is in, and takes it: the promise is spent afterwards (reading it again
/// panics, as polling a finished future does). An arm that does not fire leaves the promise
/// untouched. The node sits in the promise's wait list, which resolving wakes entirely.
#[doc(hidden)]
pub struct GetArm<'a, T> {
    promise: &'a mut Promise<T>,
    node: WokenNode,
    out: Option<Result<T, PromiseError>>,
}

impl<'a, T> GetArm<'a, T> {
    /// An arm waiting for `promise`'s result.
    pub fn new(promise: &'a mut Promise<T>) -> Self {
        GetArm {
            promise,
            node: WokenNode::new(),
            out: None,
        }
    }

    /// The result (the arm fired).
    ///
    /// # Panics
    /// If the arm did not fire.
    pub fn take(&mut self) -> Result<T, PromiseError> {
        self.out
            .take()
            .expect("select: outcome of an arm that did not fire")
    }
}

impl<T> Arm for GetArm<'_, T> {
    fn attempt(&mut self) -> bool {
        let cell = &self.promise.cell;
        // As in a blocking `get`: continuations queued on this thread's trampoline may be
        // the ones that resolve this promise; run them before waiting.
        while !cell.is_done() && trampoline::run_one_queued() {}
        // SAFETY: `Promise` is the cell's unique reader (field invariant), borrowed mutably.
        self.out = unsafe { cell.take() };
        self.out.is_some()
    }

    unsafe fn link(
        &mut self,
        _token: &crate::sync::AtomicUsize,
        _index: usize,
        wake: crate::wait::Wake,
    ) {
        // SAFETY: the arm (and its node) stays put until `unlink` (the caller's contract),
        // which unlinks from the same list, the promise cell's, alive as long as the
        // borrowed promise.
        unsafe { self.node.link(self.promise.cell.waiters(), wake) };
    }

    fn woken(&self) -> bool {
        self.node.woken()
    }

    fn unlink(&mut self, _claimed: bool) {
        // SAFETY: only ever linked in the promise cell's list (`link`).
        unsafe { self.node.unlink(self.promise.cell.waiters()) };
    }
}

impl<T> Drop for GetArm<'_, T> {
    fn drop(&mut self) {
        Arm::unlink(self, false); // backstop for a select left by a panic
    }
}

impl<T> fmt::Debug for GetArm<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetArm")
            .field("linked", &self.node.is_linked())
            .finish()
    }
}
