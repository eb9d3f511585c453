//! Pub-sub errors.

use core::fmt;

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
