//! The async acquire.
//!
//! The future embeds its wait node, so waiting allocates nothing (and the future is `!Unpin`;
//! `.await` pins it). Dropping it before completion unlinks the node and gives back permits
//! that a release had already handed to it: a cancelled acquire holds nothing.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::raw::Outcome;
use super::{check, AcquireError, Permit, Semaphore};
use crate::wait::Waiter;

/// The future of [`Semaphore::acquire_async`] and [`Semaphore::acquire_many_async`].
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    permits: usize,
    /// Pinned wait node; its payload is `permits`. Settled in `Drop` unless `done`.
    node: Waiter<usize>,
    done: bool,
}

impl<'a> Acquire<'a> {
    pub(super) fn new(sem: &'a Semaphore, permits: usize) -> Self {
        Acquire {
            sem,
            permits,
            node: Waiter::new(permits),
            done: false,
        }
    }
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<Permit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned: it is never moved out of `self`; the other
        // fields are plain data read or written in place.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "Acquire polled after completion");
        if let Err(e) = check(this.permits) {
            this.done = true;
            return Poll::Ready(Err(e));
        }
        // SAFETY: `node` is pinned, only ever linked into `sem`'s queue, and `Drop` settles it
        // unless it completed (`done`).
        let r = unsafe { this.sem.raw.poll_acquire(&this.node, this.permits, cx) };
        match r {
            Poll::Ready(outcome) => {
                this.done = true;
                Poll::Ready(match outcome {
                    Outcome::Acquired => Ok(Permit::new(this.sem, this.permits)),
                    _ => Err(AcquireError::Closed),
                })
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.done {
            return; // completed: the node is unlinked and its permits, if any, are a Permit
        }
        // SAFETY: as in `poll`.
        unsafe { self.sem.raw.drop_async(&self.node, self.permits) };
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.permits)
            .field("done", &self.done)
            .finish()
    }
}
