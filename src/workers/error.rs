//! Worker pool errors. A job that is not accepted always comes back to the caller.

use core::fmt;

use crate::context::ContextError;

/// A job the pool did not accept, handed back.
#[derive(PartialEq, Eq)]
pub enum Rejected<F> {
    /// The queue is full ([`WorkerPool::try_submit`](super::WorkerPool::try_submit) only).
    Full(F),
    /// The pool is shutting down or shut down.
    Shutdown(F),
}

impl<F> Rejected<F> {
    /// The job that was not accepted.
    pub fn into_inner(self) -> F {
        match self {
            Rejected::Full(f) | Rejected::Shutdown(f) => f,
        }
    }
}

/// Why [`WorkerPool::submit_ctx`](super::WorkerPool::submit_ctx) did not accept a job; the
/// job comes back.
#[derive(PartialEq, Eq)]
pub enum SubmitCtxError<F> {
    /// The context was done (cancelled or past its deadline) before the queue had room.
    Done(F, ContextError),
    /// The pool is shutting down or shut down.
    Shutdown(F),
}

impl<F> SubmitCtxError<F> {
    /// The job that was not accepted.
    pub fn into_inner(self) -> F {
        match self {
            SubmitCtxError::Done(f, _) | SubmitCtxError::Shutdown(f) => f,
        }
    }
}

impl<F> fmt::Debug for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Full(_) => f.write_str("Full(..)"),
            Rejected::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejected::Full(_) => f.write_str("worker pool queue full"),
            Rejected::Shutdown(_) => f.write_str("worker pool shut down"),
        }
    }
}

impl<F> fmt::Debug for SubmitCtxError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitCtxError::Done(_, e) => write!(f, "Done(.., {e:?})"),
            SubmitCtxError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for SubmitCtxError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitCtxError::Done(_, e) => write!(f, "submit abandoned: {e}"),
            SubmitCtxError::Shutdown(_) => f.write_str("worker pool shut down"),
        }
    }
}

impl<F> std::error::Error for Rejected<F> {}
impl<F> std::error::Error for SubmitCtxError<F> {}
