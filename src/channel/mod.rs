//! Bounded multi-producer multi-consumer channels, blocking and async: Go's `chan T`.
//!
//! [`bounded(cap)`](bounded) with `cap > 0` is a buffered channel on a lock-free
//! [`RingQueue`](crate::queue::RingQueue); `bounded(0)` is a rendezvous channel like Go's
//! unbuffered `make(chan T)`: a send returns only once a receiver has taken the value.
//! Blocking calls wait the crate's one way (see [`crate::WaitPolicy`]): spin
//! briefly, then park, so idle threads burn no CPU; the async forms ([`Sender::send_async`], [`Receiver::recv_async`]) register in the
//! same wait lists and are cancel-safe (dropping one holds nothing and loses nothing).
//!
//! Disconnection follows std and crossbeam: once every receiver is gone, sends fail and hand
//! the value back; once every sender is gone, receivers drain what is left, then fail.
//!
//! # Examples
//!
//! The pipeline of the Go concurrency patterns tutorial, generator → square → filter:
//!
//! ```
//! use lockgate::channel::{bounded, Receiver};
//! use std::thread;
//!
//! fn generator(nums: Vec<i64>) -> Receiver<i64> {
//!     let (tx, rx) = bounded(0);
//!     thread::spawn(move || {
//!         for n in nums {
//!             if tx.send(n).is_err() {
//!                 return; // the consumer is gone: stop
//!             }
//!         }
//!     });
//!     rx
//! }
//!
//! fn stage(input: Receiver<i64>, f: impl Fn(i64) -> Option<i64> + Send + 'static) -> Receiver<i64> {
//!     let (tx, rx) = bounded(0);
//!     thread::spawn(move || {
//!         for n in input {
//!             if let Some(out) = f(n) {
//!                 if tx.send(out).is_err() {
//!                     return;
//!                 }
//!             }
//!         }
//!     });
//!     rx
//! }
//!
//! let squares = stage(generator((1..=10).collect()), |n| Some(n * n));
//! let even = stage(squares, |n| (n % 2 == 0).then_some(n));
//! assert_eq!(even.iter().collect::<Vec<_>>(), [4, 16, 36, 64, 100]);
//! ```

mod array;
mod error;
mod future;
pub(crate) mod select;
#[cfg(feature = "futures")]
mod stream;
mod unbounded;
mod zero;

use core::fmt;
use std::time::{Duration, Instant};

pub use error::{
    RecvCtxError, RecvError, RecvTimeoutError, SendCtxError, SendError, SendTimeoutError,
    TryRecvError, TrySendError,
};
pub use future::{RecvFuture, SendFuture};
#[cfg(feature = "futures")]
pub use stream::{RecvStream, SendSink};

use crate::context::Context;
use crate::sync::{Arc, AtomicUsize, Ordering};
use crate::wait::{deadline_after, Until, WaitPolicy};
use array::Array;
use unbounded::List;
use zero::Zero;

// One per channel, allocated once inside its `Arc`: boxing the big variant would only add a
// pointer chase to every operation.
#[allow(clippy::large_enum_variant)]
enum Flavor<T> {
    Array(Array<T>),
    List(List<T>),
    Zero(Zero<T>),
}

struct Shared<T> {
    flavor: Flavor<T>,
    /// Live `Sender` handles, plus one held by no handle for a channel that must never be
    /// disconnected by its senders going (`Sender::never_disconnect`). The handle that takes
    /// it to zero disconnects the senders' side.
    senders: AtomicUsize,
    /// Live `Receiver` handles, likewise.
    receivers: AtomicUsize,
}

/// Dispatches to the flavour.
macro_rules! flavor {
    ($shared:expr, $c:ident => $e:expr) => {
        match &$shared.flavor {
            Flavor::Array($c) => $e,
            Flavor::List($c) => $e,
            Flavor::Zero($c) => $e,
        }
    };
}
use flavor;

/// Creates a channel holding at most `cap` values; `cap == 0` makes a rendezvous channel.
/// Waits with the default [`WaitPolicy::Adaptive`].
///
/// # Panics
///
/// Panics if `cap` exceeds [`RingQueue::MAX_CAPACITY`](crate::queue::RingQueue::MAX_CAPACITY).
///
/// # Examples
///
/// ```
/// let (tx, rx) = lockgate::channel::bounded(1);
/// tx.send(7).unwrap();
/// assert!(tx.try_send(8).unwrap_err().is_full());
/// assert_eq!(rx.recv(), Ok(7));
/// drop(tx);
/// assert!(rx.recv().is_err()); // empty and every sender gone
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    bounded_with(cap, WaitPolicy::default())
}

/// Like [`bounded`], with the given [`WaitPolicy`] for its blocking calls. The rendezvous
/// flavour (`cap == 0`) always parks at once, since its partner must be woken anyway.
pub fn bounded_with<T>(cap: usize, policy: WaitPolicy) -> (Sender<T>, Receiver<T>) {
    let flavor = if cap == 0 {
        Flavor::Zero(Zero::new())
    } else {
        Flavor::Array(Array::new(cap, policy))
    };
    make(flavor)
}

/// Creates a channel with no bound: a send never waits (Go has no such channel; crossbeam's
/// `unbounded` and std's `channel` are the model). Waits with the default
/// [`WaitPolicy::Adaptive`] on the receiving side.
///
/// The buffer is a lock-free segmented queue of 31-slot blocks: a send or receive is one
/// CAS and one atomic store on its own counter, and a block is allocated only when the
/// stream outgrows the blocks in use and the one spare kept for reuse. [`Sender::capacity`]
/// is `usize::MAX` and [`Sender::is_full`] always false.
///
/// # Examples
///
/// ```
/// let (tx, rx) = lockgate::channel::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap(); // never blocks
/// }
/// drop(tx);
/// assert_eq!(rx.iter().sum::<i32>(), 499_500);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    unbounded_with(WaitPolicy::default())
}

/// Like [`unbounded`], with the given [`WaitPolicy`] for blocking receives.
pub fn unbounded_with<T>(policy: WaitPolicy) -> (Sender<T>, Receiver<T>) {
    make(Flavor::List(List::new(policy)))
}

fn make<T>(flavor: Flavor<T>) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        flavor,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Shared<T> {
    fn len(&self) -> usize {
        match &self.flavor {
            Flavor::Array(a) => a.len(),
            Flavor::List(l) => l.len(),
            Flavor::Zero(_) => 0,
        }
    }

    fn capacity(&self) -> usize {
        match &self.flavor {
            Flavor::Array(a) => a.capacity(),
            Flavor::List(_) => usize::MAX,
            Flavor::Zero(_) => 0,
        }
    }

    fn send(&self, value: T, until: Until<'_>) -> Result<(), SendTimeoutError<T>> {
        flavor!(self, c => c.send(value, until))
    }

    fn recv(&self, until: Until<'_>) -> Result<T, RecvTimeoutError> {
        match flavor!(self, c => c.recv(until)) {
            Some(Ok(v)) => Ok(v),
            Some(Err(())) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }
}

/// The sending half of a channel. Clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half of a channel. Clone it for more consumers; each value goes to one.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, blocking while the channel is full (for `bounded(0)`: until a receiver
    /// takes it). Fails, handing the value back, once every receiver is gone.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.shared
            .send(value, Until::FOREVER)
            .map_err(|e| SendError(e.into_inner()))
    }

    /// Sends `value` if that can be done at once. Lock-free for buffered channels.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        flavor!(self.shared, c => c.try_send(value))
    }

    /// Like [`Sender::send`], giving up after `timeout`. Never returns `Timeout` early.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.shared.send(value, deadline_after(timeout).into())
    }

    /// Like [`Sender::send`], giving up at `deadline`.
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.shared.send(value, Some(deadline).into())
    }

    /// Like [`Sender::send`], giving up once `ctx` is done (cancelled or past its deadline),
    /// with the value handed back. A context that is already done fails the call before it
    /// looks at the channel (one load); a cancellation during the wait wakes it at once.
    ///
    /// ```
    /// use lockgate::channel::{bounded, SendCtxError};
    /// use lockgate::context::{Context, ContextError};
    ///
    /// let (tx, _rx) = bounded(1);
    /// tx.send(1).unwrap(); // now full
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// std::thread::spawn(move || cancel.cancel());
    /// match tx.send_ctx(2, &ctx) {
    ///     Err(SendCtxError::Done(v, ContextError::Canceled)) => assert_eq!(v, 2),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn send_ctx(&self, value: T, ctx: &Context) -> Result<(), SendCtxError<T>> {
        if let Some(e) = ctx.err() {
            return Err(SendCtxError::Done(value, e));
        }
        self.shared.send(value, ctx.until()).map_err(|e| match e {
            SendTimeoutError::Timeout(v) => SendCtxError::Done(v, ctx.err_after_wait()),
            SendTimeoutError::Disconnected(v) => SendCtxError::Disconnected(v),
        })
    }

    /// Sends asynchronously. Dropping the future before it completes never leaves a
    /// half-finished send behind: either the value was not sent and drops with the future, or
    /// (on a rendezvous channel) a receiver had already taken it, exactly as if the future had
    /// been polled once more.
    pub fn send_async(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(self, value)
    }

    /// Receivers alive now (for the timer, which drops a timer channel nobody reads).
    #[cfg_attr(any(lockgate_loom, lockgate_shuttle), allow(dead_code))] // no timer under a model checker
    pub(crate) fn receiver_count(&self) -> usize {
        // Relaxed: a hint for sweeping; a wrong answer costs one more firing.
        self.shared.receivers.load(Ordering::Relaxed)
    }

    /// Adds one to the sender count with no handle to take it off again: from now on the
    /// senders' side is never disconnected by handles going away (Go's channels are never
    /// closed by their writers vanishing; the timer channels use this to stay open after their
    /// last firing). Only a count: it owns nothing, so the channel is still freed with its
    /// last handle, and no handle is kept anywhere. An explicit `close` still closes.
    // `after` and `tick` (the `time` module) are left out of model builds.
    #[cfg_attr(any(lockgate_loom, lockgate_shuttle), allow(dead_code))]
    pub(crate) fn never_disconnect(&self) {
        // Relaxed: as in `Sender::clone`, made from a live handle, and nothing to publish.
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// `send` bounded by `until` (a deadline, a context, both or neither), for the crate's
    /// own bounded calls.
    pub(crate) fn send_bounded(
        &self,
        value: T,
        until: Until<'_>,
    ) -> Result<(), SendTimeoutError<T>> {
        self.shared.send(value, until)
    }

    /// Values in the channel right now (always 0 for `bounded(0)`).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True if the channel holds no value right now.
    pub fn is_empty(&self) -> bool {
        self.shared.len() == 0
    }

    /// True if a `try_send` would find no room right now (always true for `bounded(0)`).
    pub fn is_full(&self) -> bool {
        self.shared.len() == self.shared.capacity()
    }

    /// The channel's capacity (0 for a rendezvous channel).
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Closes the channel, Go's `close(ch)`: from now on every send on any handle fails and
    /// hands its value back, while receivers drain what is queued and then see the end.
    /// Closing twice is harmless (Go panics; here the second close does nothing).
    ///
    /// Safe against sends in flight on other clones: each send either lands before the close
    /// (and will be received) or fails; none is lost between the two. A sender parked on a
    /// full channel wakes and fails. For a rendezvous channel, a sender parked with its value
    /// gets it back.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = lockgate::channel::bounded(4);
    /// let tx2 = tx.clone();
    /// tx.send(1).unwrap();
    /// tx.close();
    /// assert!(tx2.send(2).is_err()); // every handle is closed
    /// assert!(tx2.is_closed() && rx.is_closed());
    /// assert_eq!(rx.recv(), Ok(1)); // what was queued still comes out
    /// assert!(rx.recv().is_err()); // then the end
    /// ```
    pub fn close(&self) {
        flavor!(self.shared, c => c.close());
    }

    /// True once a send can no longer succeed: the channel was closed, or every receiver is
    /// gone.
    pub fn is_closed(&self) -> bool {
        flavor!(self.shared, c => c.is_closed_for_send())
    }
}

impl<T> Receiver<T> {
    /// For the crate's unit tests: a probe that says whether the channel's memory is still
    /// allocated (some handle, or a timer entry's, still holds it), to prove nothing leaks.
    #[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
    pub(crate) fn allocation_probe(&self) -> impl Fn() -> bool {
        let weak = Arc::downgrade(&self.shared);
        move || weak.strong_count() > 0
    }

    /// Receives a value, blocking while the channel is empty. Fails once the channel is empty
    /// and every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.shared.recv(Until::FOREVER).map_err(|_| RecvError)
    }

    /// Receives a value if one is ready. Lock-free for buffered channels.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        flavor!(self.shared, c => c.try_recv())
    }

    /// Like [`Receiver::recv`], giving up after `timeout`. Never returns `Timeout` early.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.shared.recv(deadline_after(timeout).into())
    }

    /// Like [`Receiver::recv`], giving up at `deadline`.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.shared.recv(Some(deadline).into())
    }

    /// Like [`Receiver::recv`], giving up once `ctx` is done (cancelled or past its deadline).
    /// Nothing is taken from the channel then: a value that arrives as the context ends is
    /// either returned or left for the next receive. A context that is already done fails the
    /// call before it looks at the channel.
    ///
    /// ```
    /// use std::time::Duration;
    /// use lockgate::channel::{bounded, RecvCtxError};
    /// use lockgate::context::{Context, ContextError};
    ///
    /// let (_tx, rx) = bounded::<u32>(1);
    /// let ctx = Context::background().with_timeout(Duration::from_millis(10));
    /// assert_eq!(rx.recv_ctx(&ctx), Err(RecvCtxError::Done(ContextError::DeadlineExceeded)));
    /// ```
    pub fn recv_ctx(&self, ctx: &Context) -> Result<T, RecvCtxError> {
        if let Some(e) = ctx.err() {
            return Err(RecvCtxError::Done(e));
        }
        self.shared.recv(ctx.until()).map_err(|e| match e {
            RecvTimeoutError::Timeout => RecvCtxError::Done(ctx.err_after_wait()),
            RecvTimeoutError::Disconnected => RecvCtxError::Disconnected,
        })
    }

    /// `recv` bounded by `until` (a deadline, a cancellation source, both or neither), for
    /// the crate's own bounded calls.
    pub(crate) fn recv_until(&self, until: Until<'_>) -> Result<T, RecvTimeoutError> {
        self.shared.recv(until)
    }

    /// Receives asynchronously. Cancel-safe: dropping the future takes nothing from the
    /// channel (a value already handed to it goes to the next receiver).
    pub fn recv_async(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(self)
    }

    /// A blocking iterator that ends when the channel is empty and every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values ready now; never blocks.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Values in the channel right now (always 0 for `bounded(0)`).
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// True if the channel holds no value right now.
    pub fn is_empty(&self) -> bool {
        self.shared.len() == 0
    }

    /// True if the channel has no free slot right now.
    pub fn is_full(&self) -> bool {
        self.shared.len() == self.shared.capacity()
    }

    /// The channel's capacity (0 for a rendezvous channel).
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Closes the channel from the receiving side (tokio's `Receiver::close`): sends fail from
    /// now on, and what is already queued can still be received. The same operation as
    /// [`Sender::close`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = lockgate::channel::bounded(2);
    /// tx.send("queued").unwrap();
    /// rx.close();
    /// assert_eq!(tx.send("late").unwrap_err().into_inner(), "late");
    /// assert_eq!(rx.recv(), Ok("queued"));
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) {
        flavor!(self.shared, c => c.close());
    }

    /// True once no new value can arrive: the channel was closed, or every sender is gone.
    /// Values still queued can be received.
    pub fn is_closed(&self) -> bool {
        flavor!(self.shared, c => c.is_closed_for_recv())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: a new handle is made from a live one, so the count cannot be zero and
        // nothing is published by the increment (the same reasoning as `Arc::clone`).
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        // Relaxed: as in `Sender::clone`.
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last handle sees every other handle's sends before it disconnects.
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            flavor!(self.shared, c => c.disconnect_senders());
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // AcqRel: as in `Sender::drop`.
        if self.shared.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            flavor!(self.shared, c => c.disconnect_receivers());
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// Blocking iterator over a [`Receiver`], from [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator over a [`Receiver`], from [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning blocking iterator over a [`Receiver`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
