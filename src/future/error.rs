//! Promise errors.

use core::fmt;

use super::Promise;
use crate::context::ContextError;

/// Why a promise completed without a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromiseError {
    /// The closure computing the value panicked; the panic's message, if it had one.
    Panicked(String),
    /// The [`Resolver`](super::Resolver) was dropped without a value (or the job that held
    /// it was dropped unrun, as a pool that shuts down drops its queue).
    Abandoned,
    /// [`when_any`](super::when_any) or [`try_when_any`](super::try_when_any) over no
    /// promises: no input can ever succeed.
    NoInputs,
}

impl PromiseError {
    /// The error for a caught panic payload.
    pub(crate) fn from_panic(payload: Box<dyn core::any::Any + Send>) -> Self {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            String::from("a panic with a non-string payload")
        };
        PromiseError::Panicked(msg)
    }
}

impl fmt::Display for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::Panicked(m) => write!(f, "the promised computation panicked: {m}"),
            PromiseError::Abandoned => f.write_str("the promise was abandoned by its resolver"),
            PromiseError::NoInputs => f.write_str("when_any over no promises"),
        }
    }
}

impl std::error::Error for PromiseError {}

/// Why [`Promise::get_timeout`] returned no value. A timeout hands the promise back, so it
/// can be waited on again.
pub enum GetTimeoutError<T> {
    /// Not resolved in time; here is the promise.
    Timeout(Promise<T>),
    /// Resolved without a value.
    Failed(PromiseError),
}

/// Why [`Promise::get_ctx`] returned no value. A done context hands the promise back.
pub enum GetCtxError<T> {
    /// The context was done (cancelled or past its deadline) first; here is the promise.
    Done(Promise<T>, ContextError),
    /// Resolved without a value.
    Failed(PromiseError),
}

impl<T> fmt::Debug for GetTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            GetTimeoutError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for GetTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetTimeoutError::Timeout(_) => f.write_str("timed out waiting for a promise"),
            GetTimeoutError::Failed(e) => e.fmt(f),
        }
    }
}

impl<T> fmt::Debug for GetCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetCtxError::Done(_, e) => write!(f, "Done(.., {e:?})"),
            GetCtxError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for GetCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetCtxError::Done(_, e) => write!(f, "wait for a promise abandoned: {e}"),
            GetCtxError::Failed(e) => e.fmt(f),
        }
    }
}

impl<T> std::error::Error for GetTimeoutError<T> {}
impl<T> std::error::Error for GetCtxError<T> {}
