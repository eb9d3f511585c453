//! The unbounded flavour: a [`ListQueue`] plus one wait list, for receivers.
//!
//! A send never waits: it appends to the segmented queue and notifies one receiver (one load
//! when nobody waits). Receivers wait the crate's one way on `receivers`. Disconnection and
//! `close` work as in the buffered flavour; `close` marks the queue's tail, so a send in
//! flight on another handle either lands before it (and is received) or fails.

use core::task::{Context, Poll};

use crossbeam_utils::CachePadded;

use super::error::{SendTimeoutError, TryRecvError, TrySendError};
use crate::queue::{ListQueue, PopError};
use crate::sync::{AtomicUsize, Ordering};
use crate::wait::{self, Until, WaitList, WaitPolicy, Waiter, CLOSED};

const SENDERS_GONE: usize = 1;
const RECEIVERS_GONE: usize = 2;

pub(super) struct List<T> {
    queue: ListQueue<T>,
    /// Receivers waiting for a value. Padded: its lock word must not share a line with the
    /// queue's counters.
    receivers: CachePadded<WaitList<Option<T>>>,
    /// `SENDERS_GONE | RECEIVERS_GONE` bits; only ever set. SeqCst, as in the buffered
    /// flavour: a waiter's re-check after registering cannot miss it.
    disconnected: AtomicUsize,
    policy: WaitPolicy,
}

impl<T> List<T> {
    pub(super) fn new(policy: WaitPolicy) -> Self {
        List {
            queue: ListQueue::new(),
            receivers: CachePadded::new(WaitList::new()),
            disconnected: AtomicUsize::new(0),
            policy,
        }
    }

    fn gone(&self, bit: usize) -> bool {
        self.disconnected.load(Ordering::SeqCst) & bit != 0
    }

    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.gone(RECEIVERS_GONE) {
            return Err(TrySendError::Disconnected(value));
        }
        match self.queue.push(value) {
            Ok(()) => {
                // The push's position CAS is the SeqCst RMW a waiter's re-check reads.
                self.receivers.notify_one();
                Ok(())
            }
            Err(v) => Err(TrySendError::Disconnected(v)), // closed
        }
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.queue.pop() {
            Ok(v) => Ok(v),
            Err(PopError::Closed) => Err(TryRecvError::Disconnected),
            Err(PopError::Empty) if self.gone(SENDERS_GONE) => {
                // Every push happened before the last sender left, which happened before we
                // saw the bit: one more pop sees anything left.
                self.queue.pop().map_err(|_| TryRecvError::Disconnected)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
        }
    }

    /// One receive attempt for the waiting paths: `Some` when done, `None` to wait.
    pub(super) fn attempt_recv(&self) -> Option<Result<T, ()>> {
        match self.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(TryRecvError::Disconnected) => Some(Err(())),
            Err(TryRecvError::Empty) => None,
        }
    }

    /// An unbounded send never waits; `until` is irrelevant.
    pub(super) fn send(&self, value: T, _until: Until<'_>) -> Result<(), SendTimeoutError<T>> {
        self.try_send(value).map_err(|e| match e {
            TrySendError::Disconnected(v) | TrySendError::Full(v) => {
                SendTimeoutError::Disconnected(v)
            }
        })
    }

    pub(super) fn recv(&self, until: Until<'_>) -> Option<Result<T, ()>> {
        wait::wait_blocking(&self.receivers, self.policy, until, || self.attempt_recv())
    }

    pub(super) fn poll_send(
        &self,
        _node: &Waiter<Option<T>>,
        slot: &mut Option<T>,
        _cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let value = slot.take().expect("send future polled after completion");
        Poll::Ready(self.try_send(value).map_err(|e| match e {
            TrySendError::Disconnected(v) | TrySendError::Full(v) => v,
        }))
    }

    pub(super) fn poll_recv(
        &self,
        node: &Waiter<Option<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ()>> {
        // SAFETY: `node` is pinned inside the receive future, which unregisters it on drop.
        unsafe { wait::poll_wait(&self.receivers, node, cx, || self.attempt_recv()) }
    }

    /// A send future never links its node: nothing to undo.
    pub(super) fn cancel_send(&self, _node: &Waiter<Option<T>>) {}

    pub(super) fn cancel_recv(&self, node: &Waiter<Option<T>>) {
        // SAFETY: `node` was registered (if at all) in `receivers`.
        unsafe { wait::cancel_wait(&self.receivers, node) }
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
    }

    /// Go's `close(ch)`; see `Array::close`. The queue's mark comes first, then the bits.
    pub(super) fn close(&self) {
        self.queue.close();
        self.disconnected
            .fetch_or(SENDERS_GONE | RECEIVERS_GONE, Ordering::SeqCst);
        self.receivers.notify_all(CLOSED);
    }

    pub(super) fn is_closed_for_send(&self) -> bool {
        self.gone(RECEIVERS_GONE) || self.queue.is_closed()
    }

    pub(super) fn is_closed_for_recv(&self) -> bool {
        self.gone(SENDERS_GONE)
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }
}
