//! Topic pub-sub: publishers never lock; subscriber lists are copy-on-write and reclaimed by
//! epochs.
//!
//! Serves the Go concurrency patterns tutorial's "Pub/Sub" section (topics, subscribe,
//! unsubscribe, publish to every subscriber of a topic without blocking on a slow one, close).
//! Each subscriber owns a bounded [`RingQueue`](crate::queue::RingQueue); a publish copies the
//! message into the queue of every subscriber of its topic, applying the [`Overflow`] policy
//! where a queue is full.
//!
//! Algorithm: the topic map (topic → subscriber list) lives behind one
//! `crossbeam_epoch::Atomic` pointer. A publish pins the epoch, loads the map and walks the
//! topic's list: no lock, no reference count. Subscribe and unsubscribe, serialized by a
//! mutex that publishers never touch, copy the map with the change, swap it in, and hand the
//! old one to the epoch collector, which frees it only once every publisher that could still
//! read it has unpinned (Fraser's epoch-based reclamation, as crossbeam implements it). So a
//! publisher racing an unsubscribe never touches freed memory, and a publish that starts
//! after `subscribe` returned loads the map that contains the new subscriber.
//!
//! Why one ring per subscriber rather than one shared ring with a cursor each (the
//! Disruptor's multicast): a shared ring writes each message once, but the slowest cursor
//! then holds back every publisher, or the policy has to act on all subscribers at once; with
//! a ring each, `DropNewest`, `DropOldest` and `Block` act per subscriber, and a slow one costs
//! only itself. The cost is a clone per subscriber, which for `u64` or `Arc` payloads is a
//! copy or one reference-count increment.

mod error;
mod sub;

use core::borrow::Borrow;
use core::fmt;
use core::hash::Hash;
use std::collections::HashMap;
use std::time::Duration;

use crossbeam_epoch::{self as epoch, Atomic, Owned};

use crate::context::Context;
use crate::sync::{AtomicBool, AtomicUsize, Mutex, Ordering, StdArc};
use crate::wait::{deadline_after, Until, WaitPolicy};
use sub::SubQueue;

pub use error::{Closed, PublishCtxError, RecvCtxError, RecvError, RecvTimeoutError, TryRecvError};
#[cfg(feature = "futures")]
pub use sub::SubStream;
pub use sub::{RecvFuture, Subscription};

/// What a publish does for a subscriber whose queue is full. Every loss is counted
/// ([`Subscription::lost`]) and reported to the subscriber as [`RecvError::Lagged`]. (A
/// message not queued because the subscription ended meanwhile is not a loss: nobody is
/// there to lose it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Skip that subscriber (the tutorial's behaviour).
    #[default]
    DropNewest,
    /// Evict that subscriber's oldest message to make room (tokio broadcast's `Lagged`).
    DropOldest,
    /// Wait for room: back-pressure on the publisher, bounded by
    /// [`PubSub::publish_timeout`].
    Block,
}

/// One topic's subscribers.
type Subscribers<T> = StdArc<[StdArc<SubQueue<T>>]>;
type TopicMap<K, T> = HashMap<K, Subscribers<T>>;

struct Shared<K, T> {
    /// Never null. Swapped only under `writer`; the old map is freed through the epoch
    /// collector. SeqCst on load and swap, so "after `subscribe` returned" in any thread's
    /// sense is also after in the map's.
    topics: Atomic<TopicMap<K, T>>,
    /// Serializes map writers (subscribe, unsubscribe, close); publishers never take it.
    writer: Mutex<()>,
    /// Set once, under `writer`.
    closed: AtomicBool,
    /// `PubSub` handles alive; the last one to drop closes.
    handles: AtomicUsize,
    capacity: usize,
    overflow: Overflow,
    wait: WaitPolicy,
}

impl<K, T> Shared<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn lock(&self) -> crate::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Under `writer`: replaces the map by `f(old map)`.
    fn rewrite(&self, f: impl FnOnce(&TopicMap<K, T>) -> TopicMap<K, T>) {
        let guard = epoch::pin();
        let cur = self.topics.load(Ordering::SeqCst, &guard);
        // SAFETY: the map is never null, and `guard` keeps it alive while we read it.
        let next = f(unsafe { cur.deref() });
        let old = self.topics.swap(Owned::new(next), Ordering::SeqCst, &guard);
        // SAFETY: `old` is unreachable from `topics` now; publishers that loaded it are
        // pinned, and the collector frees it only after they unpin (possibly on another
        // thread, hence `K: Send + Sync` and `T: Send`).
        unsafe { guard.defer_destroy(old) };
    }

    /// Removes `queue` from `topic`'s subscribers (unsubscribe).
    fn remove<Q>(&self, topic: &Q, queue: &StdArc<SubQueue<T>>)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let _w = self.lock();
        self.rewrite(|map| {
            let mut map = map.clone();
            if let Some(subs) = map.get(topic) {
                let left: Vec<_> = subs
                    .iter()
                    .filter(|s| !StdArc::ptr_eq(s, queue))
                    .cloned()
                    .collect();
                if left.is_empty() {
                    map.retain(|k, _| k.borrow() != topic);
                } else if let Some(v) = map.iter_mut().find(|(k, _)| (*k).borrow() == topic) {
                    *v.1 = left.into();
                }
            }
            map
        });
    }
}

impl<K, T> Drop for Shared<K, T> {
    fn drop(&mut self) {
        // SAFETY: the last reference is gone, so no one is pinned on this map any more.
        unsafe {
            // Relaxed: `&mut self`; dropping the last `Arc` already synchronized with every
            // other user.
            let map = self.topics.load(Ordering::Relaxed, epoch::unprotected());
            drop(map.into_owned());
        }
    }
}

/// A topic pub-sub hub. Cloning it gives another handle to the same hub; when the last handle
/// drops, the hub closes (subscribers drain, then end).
///
/// # Example
///
/// ```
/// use lockgate::pubsub::PubSub;
///
/// let hub: PubSub<String, String> = PubSub::new(16);
/// let weather = hub.subscribe("weather").unwrap();
/// assert_eq!(hub.publish("weather", "sunny".to_string()).unwrap(), 1);
/// assert_eq!(hub.publish("sports", "goal".to_string()).unwrap(), 0); // nobody listens
/// assert_eq!(weather.recv().unwrap(), "sunny");
/// hub.close();
/// assert!(weather.recv().is_err()); // drained, then the end
/// ```
pub struct PubSub<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    shared: StdArc<Shared<K, T>>,
}

impl<K, T> PubSub<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    /// A hub whose subscribers each queue up to `capacity` messages; full subscribers are
    /// skipped ([`Overflow::DropNewest`], as in the tutorial).
    ///
    /// # Panics
    /// If `capacity` is 0 or above [`RingQueue`](crate::queue::RingQueue)'s maximum.
    pub fn new(capacity: usize) -> Self {
        Self::with_overflow(capacity, Overflow::DropNewest)
    }

    /// A hub with the given overflow policy.
    ///
    /// # Panics
    /// As [`PubSub::new`].
    pub fn with_overflow(capacity: usize, overflow: Overflow) -> Self {
        assert!(
            capacity > 0,
            "PubSub: a subscriber's capacity must be at least 1"
        );
        PubSub {
            shared: StdArc::new(Shared {
                topics: Atomic::new(HashMap::new()),
                writer: Mutex::new(()),
                closed: AtomicBool::new(false),
                handles: AtomicUsize::new(1),
                capacity,
                overflow,
                wait: WaitPolicy::default(),
            }),
        }
    }

    /// Subscribes to `topic`. Every message published to it after this returns is offered to
    /// the new subscription.
    pub fn subscribe(&self, topic: impl Into<K>) -> Result<Subscription<K, T>, Closed> {
        let topic = topic.into();
        let queue = StdArc::new(SubQueue::new(self.shared.capacity));
        {
            let _w = self.shared.lock();
            if self.shared.closed.load(Ordering::SeqCst) {
                return Err(Closed(()));
            }
            self.shared.rewrite(|map| {
                let mut map = map.clone();
                let mut subs: Vec<_> = map.get(&topic).map(|s| s.to_vec()).unwrap_or_default();
                subs.push(queue.clone());
                map.insert(topic.clone(), subs.into());
                map
            });
        }
        Ok(Subscription {
            queue,
            shared: self.shared.clone(),
            topic,
            seen_lost: crate::sync::AtomicU64::new(0),
            wait: self.shared.wait,
        })
    }

    /// Publishes `msg` to every subscriber of `topic`; returns how many queued it (0 if no
    /// one subscribes). Never takes a lock; with [`Overflow::Block`] it waits for room in full
    /// subscribers' queues. Fails, handing the message back, once the hub is closed.
    pub fn publish<Q>(&self, topic: &Q, msg: T) -> Result<usize, Closed<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.publish_until(topic, msg, Until::FOREVER)
    }

    /// As [`publish`](Self::publish), but a blocking delivery waits at most `timeout` (from
    /// the call) for room; a subscriber still full then loses the message (counted).
    pub fn publish_timeout<Q>(
        &self,
        topic: &Q,
        msg: T,
        timeout: Duration,
    ) -> Result<usize, Closed<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.publish_until(topic, msg, deadline_after(timeout).into())
    }

    /// As [`publish`](Self::publish), but a blocking delivery waits only while `ctx` is live;
    /// a subscriber still full when it ends loses the message (counted, as with
    /// [`publish_timeout`](Self::publish_timeout)). A context already done when the call
    /// begins publishes nothing and hands the message back.
    pub fn publish_ctx<Q>(
        &self,
        topic: &Q,
        msg: T,
        ctx: &Context,
    ) -> Result<usize, PublishCtxError<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(e) = ctx.err() {
            return Err(PublishCtxError::Done(msg, e));
        }
        self.publish_until(topic, msg, ctx.until())
            .map_err(|Closed(m)| PublishCtxError::Closed(m))
    }

    fn publish_until<Q>(&self, topic: &Q, msg: T, until: Until<'_>) -> Result<usize, Closed<T>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = &*self.shared;
        if s.closed.load(Ordering::SeqCst) {
            return Err(Closed(msg));
        }
        let guard = epoch::pin();
        let map = s.topics.load(Ordering::SeqCst, &guard);
        // SAFETY: never null, and `guard` keeps it alive while we read it.
        let Some(subs) = (unsafe { map.deref() }).get(topic) else {
            return Ok(0);
        };
        if s.overflow == Overflow::Block {
            // A blocking delivery may wait long: hold the list, not the epoch.
            let owned = subs.clone();
            drop(guard);
            return Ok(deliver_all(s, &owned, msg, until));
        }
        Ok(deliver_all(s, subs, msg, until))
    }
    /// Subscribers of `topic` now (a snapshot).
    pub fn subscriber_count<Q>(&self, topic: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = epoch::pin();
        let map = self.shared.topics.load(Ordering::SeqCst, &guard);
        // SAFETY: never null, and `guard` keeps it alive while we read it.
        unsafe { map.deref() }.get(topic).map_or(0, |s| s.len())
    }

    /// Closes the hub: every subscription drains what it has, then ends; later publishes and
    /// subscribes fail. A publish already delivering when the close lands finishes: a
    /// subscriber it counts receives the message before it sees the end (the end waits for
    /// deliveries in flight), so no message a publish counts is lost to the close. (A
    /// counted message can still be evicted by a later one under `DropOldest`, reported as
    /// `Lagged`, or dropped with a subscription that leaves.)
    pub fn close(&self) {
        let _w = self.shared.lock();
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut subs = Vec::new();
        self.shared.rewrite(|map| {
            subs.extend(map.values().flat_map(|l| l.iter().cloned()));
            HashMap::new()
        });
        drop(_w);
        for q in subs {
            q.close();
        }
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

/// Offers one message to each subscriber in `list`: clones for all but the last, which gets
/// the message itself. Returns how many queued it.
fn deliver_all<K, T: Clone>(
    s: &Shared<K, T>,
    list: &[StdArc<SubQueue<T>>],
    msg: T,
    until: Until<'_>,
) -> usize {
    let mut msg = Some(msg);
    let mut delivered = 0;
    for (i, q) in list.iter().enumerate() {
        let m = if i + 1 == list.len() {
            msg.take().expect("one message per subscriber")
        } else {
            msg.as_ref().expect("not yet moved").clone()
        };
        if q.deliver(m, s.overflow, s.wait, until) {
            delivered += 1;
        }
    }
    delivered
}

impl<K, T> Clone for PubSub<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn clone(&self) -> Self {
        // Relaxed: a handle count, as `Arc`'s increment.
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        PubSub {
            shared: self.shared.clone(),
        }
    }
}

impl<K, T> Drop for PubSub<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn drop(&mut self) {
        // AcqRel: the last handle's close comes after every other handle's last publish.
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }
}

impl<K, T> fmt::Debug for PubSub<K, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSub")
            .field("capacity", &self.shared.capacity)
            .field("overflow", &self.shared.overflow)
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
mod tests;
