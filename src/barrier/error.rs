//! Barrier errors.

use core::fmt;

use crate::context::ContextError;

/// The round broke: a waiter timed out, [`reset`](super::CyclicBarrier::reset) was called
/// while threads waited, or the trip action panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier;

/// Why a timed [`CyclicBarrier`](super::CyclicBarrier) wait failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitTimeoutError {
    /// This thread's deadline passed before the round was complete; the round is now broken
    /// for everyone else.
    Timeout,
    /// The round broke for another reason (see [`BrokenBarrier`]).
    Broken,
}

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier broken")
    }
}

impl fmt::Display for WaitTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitTimeoutError::Timeout => f.write_str("timed out waiting at the barrier"),
            WaitTimeoutError::Broken => f.write_str("barrier broken"),
        }
    }
}

impl std::error::Error for BrokenBarrier {}
impl std::error::Error for WaitTimeoutError {}

/// Why [`CyclicBarrier::wait_ctx`](super::CyclicBarrier::wait_ctx) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarrierCtxError {
    /// The context was done (cancelled, or past its deadline) before the round was complete;
    /// the round is now broken for everyone else, as a timeout breaks it.
    Done(ContextError),
    /// The round broke for another reason (see [`BrokenBarrier`]).
    Broken,
}

impl fmt::Display for BarrierCtxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierCtxError::Done(e) => write!(f, "barrier wait abandoned: {e}"),
            BarrierCtxError::Broken => f.write_str("barrier broken"),
        }
    }
}

impl std::error::Error for BarrierCtxError {}
