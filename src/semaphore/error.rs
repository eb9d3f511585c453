//! Semaphore errors.

use core::fmt;

use super::MAX_PERMITS;
use crate::context::ContextError;

/// Why a blocking or async acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireError {
    /// The semaphore was closed before the permits were granted.
    Closed,
    /// More permits were asked for than a semaphore can ever hold ([`MAX_PERMITS`]); waiting
    /// could never succeed, so the call fails at once.
    TooMany(usize),
}

/// Why [`Semaphore::try_acquire`](super::Semaphore::try_acquire) (or `try_acquire_many`)
/// failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are free (or the free ones are reserved for parked waiters).
    NoPermits,
    /// More permits were asked for than [`MAX_PERMITS`].
    TooMany(usize),
}

/// Why a timed acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireTimeoutError {
    /// The semaphore was closed before the permits were granted.
    Closed,
    /// The deadline passed first. The caller holds nothing.
    Timeout,
    /// More permits were asked for than [`MAX_PERMITS`].
    TooMany(usize),
}

/// Why an acquire bounded by a context (`acquire_ctx`, ...) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcquireCtxError {
    /// The semaphore was closed before the permits were granted.
    Closed,
    /// The context was done (cancelled, or past its deadline) first. The caller holds
    /// nothing, and no permit was lost.
    Done(ContextError),
    /// More permits were asked for than [`MAX_PERMITS`].
    TooMany(usize),
}

impl fmt::Display for AcquireCtxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireCtxError::Closed => f.write_str("semaphore closed"),
            AcquireCtxError::Done(e) => write!(f, "acquire abandoned: {e}"),
            AcquireCtxError::TooMany(n) => too_many(f, *n),
        }
    }
}

impl std::error::Error for AcquireCtxError {}

impl From<AcquireError> for AcquireCtxError {
    fn from(e: AcquireError) -> Self {
        match e {
            AcquireError::Closed => AcquireCtxError::Closed,
            AcquireError::TooMany(n) => AcquireCtxError::TooMany(n),
        }
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireError::Closed => f.write_str("semaphore closed"),
            AcquireError::TooMany(n) => too_many(f, *n),
        }
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
            TryAcquireError::TooMany(n) => too_many(f, *n),
        }
    }
}

impl fmt::Display for AcquireTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcquireTimeoutError::Closed => f.write_str("semaphore closed"),
            AcquireTimeoutError::Timeout => f.write_str("timed out waiting for permits"),
            AcquireTimeoutError::TooMany(n) => too_many(f, *n),
        }
    }
}

fn too_many(f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
    write!(
        f,
        "asked for {n} permits, more than a semaphore can hold (MAX_PERMITS = {MAX_PERMITS})"
    )
}

impl std::error::Error for AcquireError {}
impl std::error::Error for TryAcquireError {}
impl std::error::Error for AcquireTimeoutError {}

impl From<AcquireError> for AcquireTimeoutError {
    fn from(e: AcquireError) -> Self {
        match e {
            AcquireError::Closed => AcquireTimeoutError::Closed,
            AcquireError::TooMany(n) => AcquireTimeoutError::TooMany(n),
        }
    }
}
