//! The buffered flavour of the channel: a [`RingQueue`] plus two wait lists.
//!
//! Two paths, one ring:
//!
//! - Plain `send`/`recv` (no deadline, no context) take a ticket with one `fetch_add` and
//!   wait for their slot's turn on the slot's own word (`RingQueue::push_ticket`,
//!   `pop_ticket`; `wait/turn.rs`). No lock and no RMW on a wait list's line: when the item
//!   is handed on, one load of the other side's wait-list count says whether a timed, context,
//!   async or select waiter needs waking.
//! - Everything that may give up (the `try_`, timed, context, async and select forms) claims a
//!   ticket by CAS only when its slot's turn has come, so a deadline, a cancel or a dropped
//!   future never leaves a ticket unserved. Between attempts those wait in the wait lists as
//!   before: senders on `senders` for room, receivers on `receivers` for a value. Every
//!   hand-off of either path notifies the other side's list, which costs one load when nobody
//!   waits there (see `WaitList::has_waiters`): the hand-off's condition write is the slot's
//!   SeqCst turn RMW, which a waiter's SeqCst re-check of the slot sees.
//!
//! A waiter decides from the slot at the head of the line, and that slot may be the one still
//! in flight (its producer writing, or a ticket holder not yet run) while later ones are
//! ready: it parks, and the hand-off of the slot it looked at wakes one waiter. So every
//! hand-off also passes the baton on its own side: if anyone waits there while more is ready
//! (values for receivers, room for senders), it wakes one more; and a receive that drains
//! the ring to a close's cut wakes every waiting receiver to see the end. Both cost one load
//! of the own side's waiter count when nobody waits.
//!
//! Ending: `close` (and the last sender leaving) cuts the ring's producer tickets with one
//! `fetch_or` (`RingQueue::close`): every send that took its ticket before lands, every later
//! one fails, and receivers drain below the cut before they see the end. The last receiver
//! leaving sets `NO_RECEIVERS`, the stop condition of ticket holders waiting to send, and
//! wakes them: their values come back.

use core::task::{Context, Poll};

use crossbeam_utils::CachePadded;

use super::error::{SendTimeoutError, TryRecvError, TrySendError};
use crate::queue::RingQueue;
use crate::sync::{AtomicUsize, Ordering};
use crate::wait::{self, Backoff, Until, WaitList, WaitPolicy, Waiter, CLOSED};

/// Whether a waiting attempt backs off on a slot in flight instead of parking at once (see
/// `attempt_send`); not under loom.
const SPIN_ON_IN_FLIGHT: bool = !cfg!(lockgate_loom);

/// Bit set in `disconnected` once no new value can come (every sender gone, or `close`).
const SENDERS_GONE: usize = 1;
/// Bit set in `disconnected` once sends fail (every receiver gone, or `close`).
const RECEIVERS_GONE: usize = 2;
/// Bit set in `disconnected` once every receiver is gone: a send waiting for its turn will
/// never get it. (`close` alone lets the sends it admitted land.)
const NO_RECEIVERS: usize = 4;

pub(super) struct Array<T> {
    queue: RingQueue<T>,
    /// Senders waiting for room (the forms that may give up). Padded: every hand-off reads
    /// its waiter count, and its lock word is written whenever senders park, which must not
    /// disturb the receivers' list.
    senders: CachePadded<WaitList<Option<T>>>,
    /// Receivers waiting for a value. Padded, likewise.
    receivers: CachePadded<WaitList<Option<T>>>,
    /// `SENDERS_GONE | RECEIVERS_GONE | NO_RECEIVERS` bits; only ever set. SeqCst (set and
    /// read) so that a waiter's re-check after its registration cannot miss it.
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
        if self.gone(RECEIVERS_GONE) {
            return Err(TrySendError::Disconnected(value));
        }
        match self.queue.push(value) {
            Ok(()) => {
                self.put();
                Ok(())
            }
            // A closed ring refuses pushes as if full; `close` cuts the ring before it sets
            // the bits, so a push refused that way may not see the bits yet.
            Err(v) if self.queue.is_closed() => Err(TrySendError::Disconnected(v)),
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        if let Some(v) = self.queue.pop() {
            self.taken();
            return Ok(v);
        }
        // After the cut, the end comes once every ticket below it is taken; until then a
        // value below the cut is still on its way (its send took its ticket in time).
        if self.queue.drained_to_cut() {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// The plain send: a `fetch_add` ticket and a turn wait (see the module docs).
    fn send_ticket(&self, value: T) -> Result<(), T> {
        if self.gone(RECEIVERS_GONE) {
            return Err(value);
        }
        self.queue
            .push_ticket(value, self.policy, || self.gone(NO_RECEIVERS))?;
        self.put();
        Ok(())
    }

    /// The plain receive; `Err` once the ring is drained to its cut.
    fn recv_ticket(&self) -> Result<T, ()> {
        let v = self.queue.pop_ticket(self.policy, || false).ok_or(())?;
        self.taken();
        Ok(v)
    }

    /// After a value went in: wake a receiver, and pass the baton to a waiting sender if
    /// there is room (see the module docs).
    #[inline]
    fn put(&self) {
        self.receivers.notify_one();
        if self.senders.has_waiters() && !self.queue.is_full() {
            self.senders.notify_one();
        }
    }

    /// After a value came out: wake a sender, and pass the baton to a waiting receiver if a
    /// value is ready, or wake them all if the ring is drained to its cut.
    #[inline]
    fn taken(&self) {
        self.senders.notify_one();
        if self.receivers.has_waiters() {
            self.pass_on_receivers();
        }
    }

    #[cold]
    fn pass_on_receivers(&self) {
        if !self.queue.is_empty() {
            self.receivers.notify_one();
        } else if self.queue.drained_to_cut() {
            self.receivers.notify_all(CLOSED);
        }
    }

    /// One attempt of a send, in the shape `wait_blocking` and `poll_wait` want: `Some` when
    /// done, `None` (value back in `slot`) when the caller must wait.
    ///
    /// A slot that the ring's counters say is free but whose previous value is still being
    /// read out (in flight, for a few nanoseconds unless its reader is preempted) is waited
    /// for with a bounded backoff before the caller parks: parking on it costs a sleep and a
    /// wake-up per item in a stream that runs near full. Loom builds park at once, as a spin
    /// on another thread's progress makes the exploration unbounded; the notifier's hand-off
    /// wakes them (the pairing in the module docs).
    pub(super) fn attempt_send(&self, slot: &mut Option<T>) -> Option<Result<(), T>> {
        let mut value = slot.take().expect("send attempted twice");
        let mut backoff = Backoff::new();
        loop {
            match self.try_send(value) {
                Ok(()) => return Some(Ok(())),
                Err(TrySendError::Disconnected(v)) => return Some(Err(v)),
                Err(TrySendError::Full(v)) => {
                    if !SPIN_ON_IN_FLIGHT || !self.queue.room_in_flight() || backoff.is_completed()
                    {
                        *slot = Some(v);
                        return None;
                    }
                    value = v;
                    backoff.snooze();
                }
            }
        }
    }

    /// One attempt of a receive; a value in flight (its ticket taken, its write not yet
    /// seen) is waited for as in `attempt_send`.
    pub(super) fn attempt_recv(&self) -> Option<Result<T, ()>> {
        let mut backoff = Backoff::new();
        loop {
            match self.try_recv() {
                Ok(v) => return Some(Ok(v)),
                Err(TryRecvError::Disconnected) => return Some(Err(())),
                Err(TryRecvError::Empty) => {
                    if !SPIN_ON_IN_FLIGHT || !self.queue.value_in_flight() || backoff.is_completed()
                    {
                        return None;
                    }
                    backoff.snooze();
                }
            }
        }
    }

    pub(super) fn send(&self, value: T, until: Until<'_>) -> Result<(), SendTimeoutError<T>> {
        if until.is_forever() {
            return self
                .send_ticket(value)
                .map_err(SendTimeoutError::Disconnected);
        }
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
        if until.is_forever() {
            return Some(self.recv_ticket());
        }
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

    /// The last sender is gone: the ring is cut where its tickets stand (every send has
    /// finished), so receivers drain and then see the end; sleeping ticket holders past the
    /// cut are woken by the cut itself.
    pub(super) fn disconnect_senders(&self) {
        self.queue.close();
        self.disconnected.fetch_or(SENDERS_GONE, Ordering::SeqCst);
        self.receivers.notify_all(CLOSED);
    }

    /// The last receiver is gone: sends fail from now on, and sends waiting for their turn
    /// (which no receiver will give them) are woken to fail, after the SeqCst bit they
    /// re-check (the pairing of `Turn::poke`).
    pub(super) fn disconnect_receivers(&self) {
        self.disconnected
            .fetch_or(RECEIVERS_GONE | NO_RECEIVERS, Ordering::SeqCst);
        self.queue.wake_sleepers();
        self.senders.notify_all(CLOSED);
    }

    /// Go's `close(ch)`: sends fail from now on, receivers drain what is queued, then see the
    /// end. Safe against sends in flight on other handles: the ring's cut decides which
    /// tickets came first (those land, and a receive waits for them), and every later send
    /// fails.
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
