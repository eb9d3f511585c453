//! `futures` integration (feature `futures`): [`RecvStream`] is a `Stream` of a receiver's
//! values and [`SendSink`] a `Sink` into a sender, so channels drop into code written against
//! the `futures` traits (`StreamExt::next`, `SinkExt::send`, `forward`, combinators).
//!
//! Each adapter owns its handle and one wait node on the heap (allocated once, reused for
//! every item), and waits exactly as `recv_async` / `send_async` do; both are cancel-safe
//! in the same way (dropping a pending `next()` takes nothing; dropping the sink with an item
//! in flight drops that item unsent).

use core::pin::Pin;
use core::task::{Context, Poll};

use super::{flavor, Flavor, Receiver, SendError, Sender};
use crate::wait::{Waiter, IDLE, WAITING};

/// Makes a node that its flavour left completed (`NOTIFIED`/`CLOSED`) idle for reuse.
fn settle<T>(node: &Waiter<Option<T>>) {
    let s = node.state();
    if s != IDLE && s != WAITING {
        node.make_idle();
    }
}

/// A [`Stream`](futures_core::Stream) of the values of a [`Receiver`]; ends when the channel
/// does (empty, and every sender gone or closed). Made by [`Receiver::into_stream`].
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
///
/// let (tx, rx) = lockgate::channel::bounded(4);
/// std::thread::spawn(move || (1..=3).for_each(|i| tx.send(i).unwrap()));
/// let sum = futures_executor::block_on(rx.into_stream().fold(0, |a, v| async move { a + v }));
/// assert_eq!(sum, 6);
/// ```
pub struct RecvStream<T> {
    rx: Receiver<T>,
    /// The wait node, boxed so it stays put while the stream moves; linked only while a
    /// `poll_next` is pending.
    node: Box<Waiter<Option<T>>>,
}

impl<T> Receiver<T> {
    /// Turns the receiver into a [`RecvStream`] (feature `futures`).
    pub fn into_stream(self) -> RecvStream<T> {
        RecvStream {
            rx: self,
            node: Box::new(Waiter::new(None)),
        }
    }
}

// Nothing inside is pinned through the adapter: the node is boxed, and items are moved
// freely (never pinned), so the adapter may move whatever `T` is.
impl<T> Unpin for RecvStream<T> {}

impl<T> futures_core::Stream for RecvStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let r = flavor!(this.rx.shared, c => c.poll_recv(&this.node, cx));
        match r {
            Poll::Ready(r) => {
                settle(&this.node);
                Poll::Ready(r.ok())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for RecvStream<T> {
    fn drop(&mut self) {
        // Unlinks a pending node and hands on a value or notification it was given.
        flavor!(self.rx.shared, c => c.cancel_recv(&self.node));
    }
}

impl<T> core::fmt::Debug for RecvStream<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecvStream").field("rx", &self.rx).finish()
    }
}

/// A [`Sink`](futures_sink::Sink) into a [`Sender`]: buffers one item and sends it with the
/// channel's async send; an error hands the item back. Made by [`Sender::into_sink`].
///
/// `poll_close` flushes; it does not close the channel (other senders may be live): drop
/// the sink, or call [`Sender::close`], for that.
///
/// # Examples
///
/// ```
/// use futures_util::{stream, SinkExt, StreamExt};
///
/// let (tx, rx) = lockgate::channel::bounded(1);
/// let sent = std::thread::spawn(move || {
///     let mut sink = tx.into_sink();
///     futures_executor::block_on(sink.send_all(&mut stream::iter(1..=3).map(Ok))).unwrap();
/// });
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2, 3]);
/// sent.join().unwrap();
/// ```
pub struct SendSink<T> {
    tx: Sender<T>,
    /// The wait node, boxed so it stays put while the sink moves.
    node: Box<Waiter<Option<T>>>,
    /// The item being sent, while it is not inside `node` (a rendezvous send waiting).
    pending: Option<T>,
    /// True from `start_send` until that item is sent or refused.
    in_flight: bool,
}

impl<T> Sender<T> {
    /// Turns the sender into a [`SendSink`] (feature `futures`).
    pub fn into_sink(self) -> SendSink<T> {
        SendSink {
            tx: self,
            node: Box::new(Waiter::new(None)),
            pending: None,
            in_flight: false,
        }
    }
}

impl<T> SendSink<T> {
    /// Drives the item in flight, if any, to completion.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        if !self.in_flight {
            return Poll::Ready(Ok(()));
        }
        let r = flavor!(self.tx.shared, c => c.poll_send(&self.node, &mut self.pending, cx));
        match r {
            Poll::Ready(r) => {
                self.in_flight = false;
                settle(&self.node);
                Poll::Ready(r.map_err(SendError))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

// As for `RecvStream`: the node is boxed and the item is never pinned.
impl<T> Unpin for SendSink<T> {}

impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().drive(cx)
    }

    /// # Panics
    /// If called while an item is still in flight (`poll_ready` did not return `Ready(Ok)`).
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), SendError<T>> {
        let this = self.get_mut();
        assert!(!this.in_flight, "SendSink::start_send without poll_ready");
        this.pending = Some(item);
        this.in_flight = true;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().drive(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().drive(cx)
    }
}

impl<T> Drop for SendSink<T> {
    fn drop(&mut self) {
        if self.in_flight {
            // Unlinks a waiting node; its item (in the node or in `pending`) drops unsent.
            flavor!(self.tx.shared, c => c.cancel_send(&self.node));
        }
    }
}

impl<T> core::fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendSink")
            .field("tx", &self.tx)
            .field("in_flight", &self.in_flight)
            .finish()
    }
}
