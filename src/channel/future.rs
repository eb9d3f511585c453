//! The async forms of send and receive.
//!
//! Each future embeds its wait node, so waiting allocates nothing; the node is why the futures
//! are `!Unpin` (`.await` pins them). Dropping a future unlinks its node and passes on any
//! notification or value it had been handed, which makes both futures cancel-safe.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use super::{flavor, Flavor, Receiver, RecvError, SendError, Sender};
use crate::wait::Waiter;

/// The future of [`Sender::send_async`].
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    sender: &'a Sender<T>,
    /// The value while it is not in `node` (buffered flavour: always here until sent).
    value: Option<T>,
    /// Pinned wait node; unlinked in `Drop`.
    node: Waiter<Option<T>>,
    done: bool,
}

/// The future of [`Receiver::recv_async`].
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    receiver: &'a Receiver<T>,
    /// Pinned wait node; unlinked in `Drop`.
    node: Waiter<Option<T>>,
    done: bool,
}

impl<'a, T> SendFuture<'a, T> {
    pub(super) fn new(sender: &'a Sender<T>, value: T) -> Self {
        SendFuture {
            sender,
            value: Some(value),
            node: Waiter::new(None),
            done: false,
        }
    }
}

impl<'a, T> RecvFuture<'a, T> {
    pub(super) fn new(receiver: &'a Receiver<T>) -> Self {
        RecvFuture {
            receiver,
            node: Waiter::new(None),
            done: false,
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned: we never move it out of `self`; `value` and
        // `done` are not pinned and are only read or replaced in place.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "SendFuture polled after completion");
        let r = flavor!(this.sender.shared, c => c.poll_send(&this.node, &mut this.value, cx));
        match r {
            Poll::Ready(r) => {
                this.done = true;
                Poll::Ready(r.map_err(SendError))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: as in `SendFuture::poll`: `node` never moves.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "RecvFuture polled after completion");
        let r = flavor!(this.receiver.shared, c => c.poll_recv(&this.node, cx));
        match r {
            Poll::Ready(r) => {
                this.done = true;
                Poll::Ready(r.map_err(|()| RecvError))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if self.done {
            return; // a completed future's node is unlinked and empty
        }
        flavor!(self.sender.shared, c => c.cancel_send(&self.node));
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        if self.done {
            return; // a completed future's node is unlinked and empty
        }
        flavor!(self.receiver.shared, c => c.cancel_recv(&self.node));
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("done", &self.done)
            .finish()
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("done", &self.done)
            .finish()
    }
}
