//! The buffered flavour of the channel: a [`RingQueue`] plus two wait lists.
//!
//! Senders wait on `senders` for room, receivers on `receivers` for a value. Every successful
//! push notifies one receiver and every successful pop notifies one sender; a notification
//! costs one load when nobody waits (see `WaitList::has_waiters`). Disconnection sets a bit in
//! `disconnected` and closes the opposite wait list, whose waiters then re-check and see it.

use core::task::{Context, Poll};

use crossbeam_utils::CachePadded;

use super::error::{SendTimeoutError, TryRecvError, TrySendError};
use crate::queue::{Busy, RingQueue};
use crate::sync::{AtomicUsize, Ordering};
use crate::wait::{self, Until, WaitList, WaitPolicy, Waiter, CLOSED};

/// What a blocking or async attempt does when its slot's other-side operation is in flight
/// (a value being copied in or out, for a few nanoseconds).
///
/// Normal builds wait for it by spinning, as crossbeam-channel does (the spin yields after a
/// few rounds, but ignores the call's deadline while the other side is mid-copy). That is what lets a
/// notifier skip any fence: its condition write is the ticket CAS, a SeqCst RMW that a waiter's
/// re-check sees (see `WaitList::has_waiters`), and a waiter that sees a ticket taken never
/// parks on it. Under loom, spinning on another thread's progress makes the exploration
/// unbounded, so loom builds park on an in-flight slot instead and the list's notifier pairs
/// with a fence; that is the protocol the loom models check. Shuttle builds keep the normal
/// protocol: shuttle's schedules are sampled, not enumerated, so a spin costs them only
/// length, and every atomic is SeqCst under shuttle, which is what the fence-free argument
/// needs; so the shuttle models check the protocol that normal builds run.
const SPIN_ON_IN_FLIGHT: bool = !cfg!(lockgate_loom);

/// Bit set in `disconnected` once the last sender is gone.
const SENDERS_GONE: usize = 1;
/// Bit set in `disconnected` once the last receiver is gone.
const RECEIVERS_GONE: usize = 2;

pub(super) struct Array<T> {
    queue: RingQueue<T>,
    /// Senders waiting for room. Padded: every receive reads its waiter count, and its lock
    /// word is written whenever senders park, which must not disturb the receivers' list.
    senders: CachePadded<WaitList<Option<T>>>,
    /// Receivers waiting for a value. Padded, likewise.
    receivers: CachePadded<WaitList<Option<T>>>,
    /// `SENDERS_GONE | RECEIVERS_GONE` bits; only ever set. SeqCst (set and read) so that a
    /// waiter's re-check after its registration fence cannot miss it.
    disconnected: AtomicUsize,
    policy: WaitPolicy,
}

impl<T> Array<T> {
    pub(super) fn new(cap: usize, policy: WaitPolicy) -> Self {
        Array {
            queue: RingQueue::new(cap),
            senders: CachePadded::new(WaitList::new()),
            receivers: CachePadded::new(WaitList::new()),
            disconnected: AtomicUsize::new(0),
            policy,
        }
    }

    fn gone(&self, bit: usize) -> bool {
        self.disconnected.load(Ordering::SeqCst) & bit != 0
    }

    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // With `spin == true` nothing is reported in flight.
        self.send_once(value, true).map_err(|e| match e {
            Busy::No(e) | Busy::InFlight(e) => e,
        })
    }

    /// One send attempt. With `spin == false` (loom builds, see `SPIN_ON_IN_FLIGHT`) a slot
    /// still being emptied by an in-flight receive is reported as `InFlight` rather than
    /// waited for: the caller parks, and the receive notifies it when it is done.
    fn send_once(&self, value: T, spin: bool) -> Result<(), Busy<TrySendError<T>>> {
        if self.gone(RECEIVERS_GONE) {
            return Err(Busy::No(TrySendError::Disconnected(value)));
        }
        match self.queue.push_inner(value, spin) {
            Ok(()) => {
                self.receivers.notify_one();
                Ok(())
            }
            // A closed ring refuses pushes as if full; `close` marks the ring before it sets
            // the bits, so a push refused that way may not see the bits yet.
            Err(Busy::No(v)) if self.queue.is_closed() => {
                Err(Busy::No(TrySendError::Disconnected(v)))
            }
            Err(Busy::No(v)) => Err(Busy::No(TrySendError::Full(v))),
            Err(Busy::InFlight(v)) => Err(Busy::InFlight(TrySendError::Full(v))),
        }
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        self.recv_once(true).map_err(|e| match e {
            Busy::No(e) | Busy::InFlight(e) => e,
        })
    }

    /// One receive attempt; `spin` as in `send_once`.
    fn recv_once(&self, spin: bool) -> Result<T, Busy<TryRecvError>> {
        match self.queue.pop_inner(spin) {
            Ok(v) => {
                self.senders.notify_one();
                return Ok(v);
            }
            Err(Busy::InFlight(())) => return Err(Busy::InFlight(TryRecvError::Empty)),
            Err(Busy::No(())) => {}
        }
        if !self.gone(SENDERS_GONE) {
            return Err(Busy::No(TryRecvError::Empty));
        }
        // Every push happened before the last sender left, which happened before we saw the
        // bit, and no push is in flight any more: one more pop sees anything that is left.
        // After a `close` pushes may still be in flight, but only ones that took their ticket
        // before the ring's closed mark, which precedes the bit: this pop waits for them.
        match self.queue.pop() {
            Some(v) => Ok(v),
            None => Err(Busy::No(TryRecvError::Disconnected)),
        }
    }

    /// One attempt of a send, in the shape `wait_blocking` and `poll_wait` want: `Some` when
    /// done, `None` (value back in `slot`) when the caller must wait.
    pub(super) fn attempt_send(&self, slot: &mut Option<T>) -> Option<Result<(), T>> {
        let value = slot.take().expect("send attempted twice");
        match self.send_once(value, SPIN_ON_IN_FLIGHT) {
            Ok(()) => Some(Ok(())),
            Err(Busy::No(TrySendError::Disconnected(v))) => Some(Err(v)),
            Err(Busy::No(TrySendError::Full(v)) | Busy::InFlight(TrySendError::Full(v))) => {
                *slot = Some(v);
                None
            }
            Err(Busy::InFlight(TrySendError::Disconnected(v))) => Some(Err(v)),
        }
    }

    pub(super) fn attempt_recv(&self) -> Option<Result<T, ()>> {
        match self.recv_once(SPIN_ON_IN_FLIGHT) {
            Ok(v) => Some(Ok(v)),
            Err(Busy::No(TryRecvError::Disconnected)) => Some(Err(())),
            Err(_) => None,
        }
    }

    pub(super) fn send(&self, value: T, until: Until<'_>) -> Result<(), SendTimeoutError<T>> {
        let mut slot = Some(value);
        match wait::wait_blocking(&self.senders, self.policy, until, || {
            self.attempt_send(&mut slot)
        }) {
            Some(Ok(())) => Ok(()),
            Some(Err(v)) => Err(SendTimeoutError::Disconnected(v)),
            None => Err(SendTimeoutError::Timeout(
                slot.take().expect("value kept on timeout"),
            )),
        }
    }

    pub(super) fn recv(&self, until: Until<'_>) -> Option<Result<T, ()>> {
        wait::wait_blocking(&self.receivers, self.policy, until, || self.attempt_recv())
    }

    pub(super) fn poll_send(
        &self,
        node: &Waiter<Option<T>>,
        slot: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        // SAFETY: `node` is pinned inside the send future, which unregisters it on drop.
        unsafe { wait::poll_wait(&self.senders, node, cx, || self.attempt_send(slot)) }
    }

    pub(super) fn poll_recv(
        &self,
        node: &Waiter<Option<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ()>> {
        // SAFETY: `node` is pinned inside the receive future, which unregisters it on drop.
        unsafe { wait::poll_wait(&self.receivers, node, cx, || self.attempt_recv()) }
    }

    /// Called when a send future is dropped. The value, if still unsent, drops with the future.
    pub(super) fn cancel_send(&self, node: &Waiter<Option<T>>) {
        // SAFETY: `node` was registered (if at all) in `senders`.
        unsafe { wait::cancel_wait(&self.senders, node) }
    }

    pub(super) fn cancel_recv(&self, node: &Waiter<Option<T>>) {
        // SAFETY: `node` was registered (if at all) in `receivers`.
        unsafe { wait::cancel_wait(&self.receivers, node) }
    }

    /// The list a select's send arm links its node in.
    pub(super) fn send_waiters(&self) -> &WaitList<Option<T>> {
        &self.senders
    }

    /// The list a select's receive arm links its node in.
    pub(super) fn recv_waiters(&self) -> &WaitList<Option<T>> {
        &self.receivers
    }

    pub(super) fn disconnect_senders(&self) {
        self.disconnected.fetch_or(SENDERS_GONE, Ordering::SeqCst);
        self.receivers.notify_all(CLOSED);
    }

    pub(super) fn disconnect_receivers(&self) {
        self.disconnected.fetch_or(RECEIVERS_GONE, Ordering::SeqCst);
        self.senders.notify_all(CLOSED);
    }

    /// Go's `close(ch)`: sends fail from now on, receivers drain what is queued, then see the
    /// end. Safe against sends in flight on other handles: the ring's closed mark decides which
    /// pushes came first (those land, and a receive waits for them), and every later push
    /// fails. Only then are the bits set that receivers read (see `recv_once`).
    pub(super) fn close(&self) {
        self.queue.close();
        self.disconnected
            .fetch_or(SENDERS_GONE | RECEIVERS_GONE, Ordering::SeqCst);
        self.receivers.notify_all(CLOSED);
        self.senders.notify_all(CLOSED);
    }

    /// True once no value can be sent: every receiver is gone, or `close` ran.
    pub(super) fn is_closed_for_send(&self) -> bool {
        self.gone(RECEIVERS_GONE)
    }

    /// True once no new value can arrive: every sender is gone, or `close` ran.
    pub(super) fn is_closed_for_recv(&self) -> bool {
        self.gone(SENDERS_GONE)
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}
