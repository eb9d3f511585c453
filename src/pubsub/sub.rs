//! One subscriber's queue: a bounded ring, a wait list for the subscriber, one for
//! publishers blocked on it (the `Block` policy), a lost-message counter, a closed flag and a
//! count of the deliveries in flight.
//!
//! The end is exact: a subscriber reports `Closed` only once the queue is closed, every
//! delivery that entered before the close has left, and nothing is queued. A delivery counts
//! itself in (an RMW), then reads the flag; the subscriber reads the flag, then the count
//! with an RMW too (`is_ended`), so the two RMWs are ordered on the count and either the
//! delivery sees the close and queues nothing, or the subscriber sees it inside and waits;
//! the last delivery to leave a closed queue wakes the subscriber. Hence no message a publish counts is lost to the close. The count sits on a
//! line of its own that only publishers write, and the subscriber's hot path reads only the
//! flag, which changes once: a delivery adds two uncontended read-modify-writes and no line
//! moves to the subscriber for it.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::error::{RecvCtxError, RecvError, RecvTimeoutError, TryRecvError};
use super::{Overflow, Shared};
use crate::context::Context;
use crate::queue::RingQueue;
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Ordering, StdArc};
use crate::wait::{self, deadline_after, Until, WaitList, WaitPolicy, Waiter, CLOSED};

pub(super) struct SubQueue<T> {
    queue: RingQueue<T>,
    /// The subscriber waiting for a message. Padded: publishers read its waiter count on
    /// every delivery.
    readers: CachePadded<WaitList<()>>,
    /// Publishers waiting for room (`Overflow::Block`).
    writers: CachePadded<WaitList<()>>,
    /// Messages for this subscriber lost to overflow. Relaxed: a statistic, and the lag
    /// report it feeds promises nothing about order.
    lost: AtomicU64,
    /// Set once, by unsubscribe or close. SeqCst: it is the condition write both wait lists'
    /// waiters re-check (see `WaitList::has_waiters`); read by a delivery after it counted
    /// itself into `inside`, and by the subscriber before it looks at `inside`.
    closed: AtomicBool,
    /// Deliveries inside `deliver`: each counts itself in before it reads `closed`. Only
    /// read-modify-writes touch it (SeqCst; the subscriber's look adds zero, see
    /// `is_ended`), so every pair of them is ordered by what reads from what. Padded:
    /// publishers write it on every delivery; the subscriber touches it only once it has
    /// seen `closed`.
    inside: CachePadded<AtomicUsize>,
    /// Set once, when the subscription is dropped: nobody will read, so whatever is queued
    /// is dropped at once rather than when the epoch collector frees the old topic maps that
    /// still point here. SeqCst, for the drain hand-shake in `deliver` and `leave`.
    gone: AtomicBool,
}

impl<T> SubQueue<T> {
    pub(super) fn new(capacity: usize) -> Self {
        SubQueue {
            queue: RingQueue::new(capacity),
            readers: CachePadded::new(WaitList::new()),
            writers: CachePadded::new(WaitList::new()),
            lost: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            inside: CachePadded::new(AtomicUsize::new(0)),
            gone: AtomicBool::new(false),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Closed, and no delivery that entered before the close is still inside: whatever
    /// will ever be queued is queued. Flag first, then the count, read with a read-modify-
    /// write (adding zero), not a load: a delivery's count-in that comes later in the
    /// count's modification order reads from ours, so our read of the flag (and the close it
    /// saw) happens before that delivery's look at the flag, which therefore sees the close.
    /// Only release/acquire chains, no reliance on SeqCst's total order of loads (which loom
    /// does not model). Costs a line transfer only on this closed path.
    fn is_ended(&self) -> bool {
        self.is_closed() && self.inside.fetch_add(0, Ordering::SeqCst) == 0
    }

    /// Ends the subscription: the subscriber drains what is queued (and what deliveries
    /// already inside still queue), then sees `Closed`; blocked publishers give up on it.
    pub(super) fn close(&self) {
        self.closed.swap(true, Ordering::SeqCst);
        self.readers.notify_all(CLOSED);
        self.writers.notify_all(CLOSED);
    }

    /// The subscriber leaves: close, then drop what is queued. A publisher whose push lands
    /// after this drain sees `gone` (its check follows its push in the SeqCst order, or the
    /// drain saw the push) and drains too, so no message outlives the subscription.
    fn leave(&self) {
        self.gone.swap(true, Ordering::SeqCst);
        self.close();
        self.drain();
    }

    fn drain(&self) {
        while let Some(m) = self.queue.pop() {
            drop(m);
        }
    }

    fn lose(&self) {
        self.lost.fetch_add(1, Ordering::Relaxed);
    }

    /// Delivers one message per `policy`; true if it was queued for the subscriber, who
    /// will then receive it (or dropped because the subscriber left meanwhile).
    pub(super) fn deliver(
        &self,
        msg: T,
        policy: Overflow,
        wait: WaitPolicy,
        until: Until<'_>,
    ) -> bool {
        // Counted in first, then the flag (module docs). The guard leaves on every path
        // out, a panicking drop of an evicted message included, so a closed subscriber never
        // waits for a delivery that is gone.
        self.inside.fetch_add(1, Ordering::SeqCst);
        struct Inside<'a, T>(&'a SubQueue<T>);
        impl<T> Drop for Inside<'_, T> {
            fn drop(&mut self) {
                self.0.leave_delivery();
            }
        }
        let _inside = Inside(self);
        if self.is_closed() {
            return false;
        }
        crate::wait::pause_point!(DeliveryInside);
        let queued = match policy {
            Overflow::DropNewest => match self.queue.push(msg) {
                Ok(()) => true,
                Err(_msg) => {
                    self.lose();
                    false
                }
            },
            Overflow::DropOldest => {
                if let Some(_evicted) = self.queue.force_push(msg) {
                    self.lose();
                }
                true
            }
            Overflow::Block => 'block: {
                // Fast path: room right away, no waiting machinery.
                let msg = match self.queue.push(msg) {
                    Ok(()) => break 'block true,
                    Err(m) => m,
                };
                let mut slot = Some(msg);
                let r = wait::wait_blocking(&self.writers, wait, until, || {
                    if self.is_closed() {
                        return Some(false);
                    }
                    match self.queue.push(slot.take().expect("message kept")) {
                        Ok(()) => Some(true),
                        Err(m) => {
                            slot = Some(m);
                            None
                        }
                    }
                });
                match r {
                    Some(queued) => queued,
                    None => {
                        self.lose(); // timed out or cancelled: counted, never silent
                        false
                    }
                }
            }
        };
        if queued {
            return self.queued();
        }
        false
    }

    /// A delivery leaves; the last one to leave a closed queue wakes the subscriber, who
    /// may be waiting for it to see the end.
    fn leave_delivery(&self) {
        // A subscriber that saw the flag and then this delivery inside is waiting; if our
        // decrement comes after its look at the count (an RMW we read from), its read of
        // the flag happens before ours, so we see the close and wake it.
        if self.inside.fetch_sub(1, Ordering::SeqCst) == 1 && self.is_closed() {
            self.readers.notify_all(CLOSED);
        }
    }

    /// After a message was queued: wakes the subscriber, or drains if it left meanwhile.
    /// Counts as queued either way: the subscriber may have received the message and left
    /// before this check (a spinning receiver is that fast), and a publish racing an
    /// unsubscribe may count it or not.
    #[inline]
    fn queued(&self) -> bool {
        if self.gone.load(Ordering::SeqCst) {
            self.drain(); // the subscriber left meanwhile (see `leave`)
        } else {
            self.readers.notify_one();
        }
        true
    }

    fn pop(&self) -> Option<T> {
        let v = self.queue.pop()?;
        self.writers.notify_one();
        Some(v)
    }
}

/// A subscription to one topic of a [`PubSub`](super::PubSub). Receives every message
/// published to the topic after `subscribe` returned, until it is dropped (or
/// [`unsubscribe`](Subscription::unsubscribe)d) or the PubSub closes; then it drains what is
/// queued and ends.
pub struct Subscription<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    pub(super) queue: StdArc<SubQueue<T>>,
    pub(super) shared: StdArc<Shared<K, T>>,
    pub(super) topic: K,
    /// `queue.lost` when the last lag was reported. Relaxed, as `lost`.
    pub(super) seen_lost: AtomicU64,
    pub(super) wait: WaitPolicy,
}

impl<K, T> Subscription<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    /// The topic subscribed to.
    pub fn topic(&self) -> &K {
        &self.topic
    }

    /// Messages for this subscription lost to overflow so far.
    pub fn lost(&self) -> u64 {
        self.queue.lost.load(Ordering::Relaxed)
    }

    /// Reports losses not yet reported, once. Two loads when there is nothing to report.
    #[inline]
    fn lag(&self) -> Option<u64> {
        let lost = self.queue.lost.load(Ordering::Relaxed);
        if lost == self.seen_lost.load(Ordering::Relaxed) {
            return None;
        }
        // `fetch_max`: two receiving threads never move it backwards (no loss told twice).
        let seen = self.seen_lost.fetch_max(lost, Ordering::Relaxed);
        (lost > seen).then(|| lost - seen)
    }

    fn attempt(&self) -> Option<Result<T, RecvError>> {
        if let Some(n) = self.lag() {
            return Some(Err(RecvError::Lagged(n)));
        }
        if let Some(v) = self.queue.pop() {
            return Some(Ok(v));
        }
        if !self.queue.is_closed() {
            return None;
        }
        // Closed, but a delivery that entered before the close may still be queueing: wait
        // for the last one to leave (it wakes us).
        if !self.queue.is_ended() {
            return None;
        }
        // Ended: one more look at what deliveries queued before they left.
        if let Some(v) = self.queue.pop() {
            return Some(Ok(v));
        }
        if let Some(n) = self.lag() {
            return Some(Err(RecvError::Lagged(n)));
        }
        Some(Err(RecvError::Closed))
    }

    /// Takes a queued message without waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.attempt() {
            Some(Ok(v)) => Ok(v),
            Some(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
            Some(Err(RecvError::Lagged(n))) => Err(TryRecvError::Lagged(n)),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for a message; idle subscribers park (they burn no CPU).
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(Until::FOREVER).map_err(|e| match e {
            RecvTimeoutError::Lagged(n) => RecvError::Lagged(n),
            _ => RecvError::Closed,
        })
    }

    /// Waits at most `timeout` for a message.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout).into())
    }

    /// Waits until `deadline` at most for a message.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline).into())
    }

    /// Waits for a message until `ctx` is done (cancelled or past its deadline). Nothing is
    /// taken then: a message that arrives as the context ends is returned or left queued. A
    /// context already done fails the call before it looks at the queue.
    pub fn recv_ctx(&self, ctx: &Context) -> Result<T, RecvCtxError> {
        if let Some(e) = ctx.err() {
            return Err(RecvCtxError::Done(e));
        }
        self.recv_until(ctx.until()).map_err(|e| match e {
            RecvTimeoutError::Timeout => RecvCtxError::Done(ctx.err_after_wait()),
            RecvTimeoutError::Closed => RecvCtxError::Closed,
            RecvTimeoutError::Lagged(n) => RecvCtxError::Lagged(n),
        })
    }

    fn recv_until(&self, until: Until<'_>) -> Result<T, RecvTimeoutError> {
        match wait::wait_blocking(&self.queue.readers, self.wait, until, || self.attempt()) {
            Some(Ok(v)) => Ok(v),
            Some(Err(RecvError::Closed)) => Err(RecvTimeoutError::Closed),
            Some(Err(RecvError::Lagged(n))) => Err(RecvTimeoutError::Lagged(n)),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Waits for a message, asynchronously (cancel-safe: a dropped future takes nothing).
    pub fn recv_async(&self) -> RecvFuture<'_, K, T> {
        RecvFuture {
            sub: self,
            node: Waiter::new(()),
            done: false,
        }
    }

    /// A blocking iterator over the messages; skips lag reports (see [`lost`](Self::lost))
    /// and ends when the subscription does.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || loop {
            match self.recv() {
                Ok(v) => return Some(v),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        })
    }

    /// An iterator over the messages queued now; skips lag reports.
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || loop {
            match self.try_recv() {
                Ok(v) => return Some(v),
                Err(TryRecvError::Lagged(_)) => continue,
                Err(_) => return None,
            }
        })
    }

    /// Leaves the topic now (dropping the subscription does the same).
    pub fn unsubscribe(self) {
        drop(self);
    }
}

impl<K, T> Drop for Subscription<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn drop(&mut self) {
        // Leave first: blocked publishers are released even if the map update panics (a
        // user `Hash` or `Eq`).
        self.queue.leave();
        self.shared.remove(&self.topic, &self.queue);
    }
}

impl<K, T> fmt::Debug for Subscription<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static + fmt::Debug,
    T: Clone + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("queued", &self.queue.queue.len())
            .field("lost", &self.lost())
            .finish()
    }
}

/// The future of [`Subscription::recv_async`]; embeds its wait node (`!Unpin`).
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    sub: &'a Subscription<K, T>,
    node: Waiter<()>,
    done: bool,
}

impl<K, T> Future for RecvFuture<'_, K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: `node` is structurally pinned: never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "RecvFuture polled after completion");
        let sub = this.sub;
        // SAFETY: `node` is pinned, only ever registered in `sub.queue.readers`, and `Drop`
        // calls `cancel_wait` unless the future completed.
        let r = unsafe { wait::poll_wait(&sub.queue.readers, &this.node, cx, || sub.attempt()) };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl<K, T> Drop for RecvFuture<'_, K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: the node was only ever registered in `readers`.
            unsafe { wait::cancel_wait(&self.sub.queue.readers, &self.node) };
        }
    }
}

impl<K, T> fmt::Debug for RecvFuture<'_, K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("done", &self.done)
            .finish()
    }
}

/// A [`Stream`](futures_core::Stream) of a subscription's messages (feature `futures`): skips
/// lag reports, as [`Subscription::iter`] does (the count stays in
/// [`lost`](Subscription::lost)), and ends when the subscription does. Made by
/// [`Subscription::into_stream`]; dropping it leaves the topic.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use lockgate::pubsub::PubSub;
///
/// let bus = PubSub::<&str, u32>::new(16);
/// let mut news = bus.subscribe("news").unwrap().into_stream();
/// bus.publish(&"news", 7).unwrap();
/// assert_eq!(futures_executor::block_on(news.next()), Some(7));
/// ```
#[cfg(feature = "futures")]
pub struct SubStream<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    sub: Subscription<K, T>,
    /// The wait node, boxed so it stays put while the stream moves.
    node: Box<Waiter<()>>,
}

#[cfg(feature = "futures")]
impl<K, T> Subscription<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    /// Turns the subscription into a [`SubStream`] (feature `futures`).
    pub fn into_stream(self) -> SubStream<K, T> {
        SubStream {
            sub: self,
            node: Box::new(Waiter::new(())),
        }
    }
}

// The node is boxed and messages are never pinned: the adapter may move freely.
#[cfg(feature = "futures")]
impl<K, T> Unpin for SubStream<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
}

#[cfg(feature = "futures")]
impl<K, T> futures_core::Stream for SubStream<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let sub = &this.sub;
        loop {
            // SAFETY: the node is boxed (it never moves), only ever registered in this
            // subscription's `readers`, and `Drop` calls `cancel_wait`.
            let r =
                unsafe { wait::poll_wait(&sub.queue.readers, &this.node, cx, || sub.attempt()) };
            return match r {
                Poll::Ready(Ok(v)) => Poll::Ready(Some(v)),
                Poll::Ready(Err(RecvError::Lagged(_))) => continue,
                Poll::Ready(Err(RecvError::Closed)) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

#[cfg(feature = "futures")]
impl<K, T> Drop for SubStream<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn drop(&mut self) {
        // SAFETY: the node was only ever registered in `readers`.
        unsafe { wait::cancel_wait(&self.sub.queue.readers, &self.node) };
    }
}

#[cfg(feature = "futures")]
impl<K, T> fmt::Debug for SubStream<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static + fmt::Debug,
    T: Clone + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubStream").field("sub", &self.sub).finish()
    }
}
