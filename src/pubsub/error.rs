//! Pub-sub errors.

use core::fmt;

use crate::context::ContextError;

/// The [`PubSub`](super::PubSub) is closed: nothing is delivered and no one may subscribe.
/// Carries the message back when it comes from a publish.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct Closed<T = ()>(pub T);

/// Why [`Subscription::recv`](super::Subscription::recv) returned no message.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvError {
    /// The subscription ended (unsubscribed, or the PubSub closed) and every message it had
    /// was received.
    Closed,
    /// This many messages for this subscriber were lost to overflow since the last report.
    /// The next receive goes on with what is queued.
    Lagged(u64),
}

/// Why [`Subscription::try_recv`](super::Subscription::try_recv) returned no message.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing queued right now.
    Empty,
    /// As [`RecvError::Closed`].
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

/// Why a timed receive returned no message.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvTimeoutError {
    /// The deadline passed with nothing queued.
    Timeout,
    /// As [`RecvError::Closed`].
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

impl<T> Closed<T> {
    /// The message that was not published.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Closed(..)")
    }
}

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pub-sub closed")
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("subscription closed"),
            RecvError::Lagged(n) => write!(f, "subscriber lagged: {n} messages lost"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no message queued"),
            TryRecvError::Closed => f.write_str("subscription closed"),
            TryRecvError::Lagged(n) => write!(f, "subscriber lagged: {n} messages lost"),
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting for a message"),
            RecvTimeoutError::Closed => f.write_str("subscription closed"),
            RecvTimeoutError::Lagged(n) => write!(f, "subscriber lagged: {n} messages lost"),
        }
    }
}

impl<T> std::error::Error for Closed<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}

/// Why [`Subscription::recv_ctx`](super::Subscription::recv_ctx) returned no message.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum RecvCtxError {
    /// The context was done (cancelled, or past its deadline) with nothing queued. Nothing
    /// was taken from the subscription.
    Done(ContextError),
    /// As [`RecvError::Closed`].
    Closed,
    /// As [`RecvError::Lagged`].
    Lagged(u64),
}

/// Why [`PubSub::publish_ctx`](super::PubSub::publish_ctx) published nothing. Carries the
/// message back.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum PublishCtxError<T> {
    /// The hub is closed.
    Closed(T),
    /// The context was already done when the call began.
    Done(T, ContextError),
}

impl<T> PublishCtxError<T> {
    /// The message that was not published.
    pub fn into_inner(self) -> T {
        match self {
            PublishCtxError::Closed(m) | PublishCtxError::Done(m, _) => m,
        }
    }
}

impl fmt::Display for RecvCtxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvCtxError::Done(e) => write!(f, "receive abandoned: {e}"),
            RecvCtxError::Closed => f.write_str("subscription closed"),
            RecvCtxError::Lagged(n) => write!(f, "subscriber lagged: {n} messages lost"),
        }
    }
}

impl<T> fmt::Debug for PublishCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishCtxError::Closed(_) => f.write_str("Closed(..)"),
            PublishCtxError::Done(_, e) => write!(f, "Done(.., {e:?})"),
        }
    }
}

impl<T> fmt::Display for PublishCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishCtxError::Closed(_) => f.write_str("pub-sub closed"),
            PublishCtxError::Done(_, e) => write!(f, "publish abandoned: {e}"),
        }
    }
}

impl std::error::Error for RecvCtxError {}
impl<T> std::error::Error for PublishCtxError<T> {}
