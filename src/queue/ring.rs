//! [`RingQueue`]: a bounded lock-free MPMC ring of sequenced slots.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue, in the ticket/turn formulation of Folly's `MPMCQueue`
//! and Erik Rigtorp's `MPMCQueue`: producers take tickets from `tail`, consumers from `head`;
//! ticket `t` owns slot `t % capacity`, and each slot carries a sequence number that says whose
//! turn it is:
//!
//! ```text
//!   seq == 2t       slot empty, its producer is ticket t
//!   seq == 2t + 1   slot full, its consumer is ticket t
//!   consumer t done -> seq = 2(t + capacity), the producer of the next lap
//! ```
//!
//! A producer reads `tail`, checks its slot's turn, and claims the ticket with one CAS; then
//! it writes the value and hands the turn on with one Release store. Consumers mirror it. So an
//! uncontended operation costs one CAS and one store, and each slot's line moves between a
//! producer and a consumer once per value. Tickets are plain 64-bit counters (they would need
//! centuries to wrap), so a slot index is a remainder, computed without a divide
//! ([`FastMod`]).
//!
//! Full and empty are decided from the slot itself: a producer whose slot still holds the
//! previous lap's value looks at `head` once to tell "full" (the value's consumer has not come)
//! from "a consumer is copying it out right now" (wait a moment). Only then is the other side's
//! counter read, so a steady stream touches one shared counter per side.
//!
//! `force_push` on a full ring takes the oldest value's consumer ticket and then the producer
//! ticket of the same slot, which no one else can take while that value is in it, and swaps
//! the values in place: evict, then insert, with no other producer able to slip in between
//! (as with crossbeam's `force_push`, a `len` or `pop` in that instant sees one value fewer).
//!
//! # Memory ordering
//!
//! The `seq` store that hands a slot on is Release and the load that checks a turn is Acquire:
//! a value written before `seq = 2t + 1` is visible to the consumer that sees it, and a value
//! read out before `seq = 2(t + capacity)` is gone before the next producer writes. The ticket
//! CAS only arbitrates between threads of the same side and publishes nothing, but it is SeqCst
//! so that the full/empty checks (which read the other side's counter after a failed turn
//! check) see a counter no older than the turn they just read.

use core::fmt;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::fastmod::FastMod;
use crate::sync::{AtomicU64, Ordering, UnsafeCell};
use crate::wait::Backoff;

/// The top bit of `tail`: set by `close`, after which no push succeeds. Tickets stay far
/// below it (2^63 pushes would take centuries).
const CLOSED: u64 = 1 << 63;

/// Why a non-spinning operation did not complete (crate-internal, for the channel).
#[derive(Debug)]
pub(crate) enum Busy<T> {
    /// Full (push) or empty (pop): nothing is in flight that would change that.
    No(T),
    /// The slot's previous owner on the other side looked busy (a value being copied in or
    /// out), or the `seq` read was stale. Only loom builds of the channel act on this (they park
    /// and rely on the fence pairing); normal builds spin instead.
    InFlight(T),
}

/// One slot: a turn number and room for one value.
struct Slot<T> {
    /// `2t` while empty for producer ticket `t`; `2t + 1` while holding ticket `t`'s value.
    seq: AtomicU64,
    /// Initialized exactly while `seq` is odd, or while the ticket holder is writing it or
    /// reading it out (it owns the slot between its ticket CAS and its `seq` store).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded, lock-free multi-producer multi-consumer queue.
///
/// `push` and `pop` never block and never allocate: the queue allocates once, in
/// [`RingQueue::new`]. See the module docs for the algorithm.
///
/// # Examples
///
/// ```
/// use lockgate::queue::RingQueue;
///
/// let q = RingQueue::new(2);
/// assert_eq!(q.push(1), Ok(()));
/// assert_eq!(q.push(2), Ok(()));
/// assert_eq!(q.push(3), Err(3)); // full: the value comes back
/// assert_eq!(q.force_push(3), Some(1)); // overwrite the oldest
/// assert_eq!(q.pop(), Some(2));
/// assert_eq!(q.pop(), Some(3));
/// assert_eq!(q.pop(), None);
/// ```
pub struct RingQueue<T> {
    /// The next consumer ticket. Only grows; never passes `tail`.
    head: CachePadded<AtomicU64>,
    /// The next producer ticket, plus the [`CLOSED`] bit once `close` has run. The ticket only
    /// grows and is never more than `capacity` ahead of `head`; the bit, once set, stays, and
    /// makes every later ticket CAS fail (the value it compares against has changed).
    tail: CachePadded<AtomicU64>,
    /// `capacity` slots; slot `i` serves tickets `i, i + capacity, i + 2 capacity, ...`.
    slots: Box<[Slot<T>]>,
    /// `ticket % capacity`.
    index: FastMod,
}

// SAFETY: values move between threads through the queue, so `T: Send` is required and
// enough; no `&T` is ever shared between threads.
unsafe impl<T: Send> Send for RingQueue<T> {}
// SAFETY: as above; each slot's value is touched only by the one thread whose ticket owns it
// (the `seq` protocol on `Slot::value`).
unsafe impl<T: Send> Sync for RingQueue<T> {}

impl<T> RingQueue<T> {
    /// The largest capacity [`RingQueue::new`] accepts: 2^40 slots.
    pub const MAX_CAPACITY: usize = super::MAX_CAPACITY;

    /// Creates a queue holding at most `capacity` values.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero or exceeds [`RingQueue::MAX_CAPACITY`]. Allocation
    /// failure aborts, as for `Vec`.
    pub fn new(capacity: usize) -> Self {
        super::check_capacity(capacity, "RingQueue");
        RingQueue {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            slots: (0..capacity as u64)
                .map(|i| Slot {
                    seq: AtomicU64::new(2 * i),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            index: FastMod::new(capacity as u64),
        }
    }

    fn cap(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot(&self, ticket: u64) -> &Slot<T> {
        &self.slots[self.index.rem(ticket) as usize]
    }

    /// Claims producer ticket `t`, whose slot the caller saw empty for it (`seq == 2t`), and
    /// publishes `value` there; on a lost race hands the value back with the current tail.
    #[inline]
    fn claim_and_write(&self, t: u64, value: T) -> Result<(), (T, u64)> {
        match self
            .tail
            .compare_exchange_weak(t, t + 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                let slot = self.slot(t);
                // SAFETY: ticket `t` is ours and its slot is empty for it (the caller read
                // `seq == 2t`, and only ticket `t`'s holder changes it from there).
                slot.value.with_mut(|p| unsafe { (*p).write(value) });
                // Release: the value is visible to the consumer that sees `2t + 1`.
                slot.seq.store(2 * t + 1, Ordering::Release);
                Ok(())
            }
            Err(now) => Err((value, now)),
        }
    }

    /// Appends `value`, or hands it back if the queue is full. Never allocates.
    pub fn push(&self, value: T) -> Result<(), T> {
        self.push_inner(value, true).map_err(|e| match e {
            Busy::No(v) | Busy::InFlight(v) => v,
        })
    }

    /// `push`, except that when the slot is still being emptied by an in-flight `pop`
    /// it reports `InFlight` instead of waiting (`spin == false`).
    pub(crate) fn push_inner(&self, mut value: T, spin: bool) -> Result<(), Busy<T>> {
        let mut backoff = Backoff::new();
        let mut t = self.tail.load(Ordering::SeqCst);
        loop {
            if t & CLOSED != 0 {
                return Err(Busy::No(value)); // closed: the caller asks `is_closed` to tell why
            }
            let slot = self.slot(t);
            // Acquire pairs with the Release `seq` store of the consumer that emptied the slot.
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == 2 * t {
                match self.claim_and_write(t, value) {
                    Ok(()) => return Ok(()),
                    Err((back, now)) => {
                        value = back;
                        t = now;
                        backoff.spin();
                    }
                }
            } else if seq < 2 * t {
                // The slot still holds the previous lap's value (ticket t - capacity). Full,
                // unless its consumer has already taken the ticket and is copying it out.
                if self.head.load(Ordering::SeqCst) + self.cap() <= t {
                    return Err(Busy::No(value));
                }
                if !spin {
                    return Err(Busy::InFlight(value));
                }
                backoff.snooze();
                t = self.tail.load(Ordering::SeqCst);
            } else {
                // Another producer took ticket `t` already: catch up.
                t = self.tail.load(Ordering::SeqCst);
            }
        }
    }

    /// Removes the oldest value. Never allocates.
    pub fn pop(&self) -> Option<T> {
        self.pop_inner(true).ok()
    }

    /// `pop`, except that when the value's `push` is still in flight it reports `InFlight`
    /// instead of waiting (`spin == false`).
    pub(crate) fn pop_inner(&self, spin: bool) -> Result<T, Busy<()>> {
        let mut backoff = Backoff::new();
        let mut h = self.head.load(Ordering::SeqCst);
        loop {
            let slot = self.slot(h);
            // Acquire pairs with the producer's Release `seq` store.
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == 2 * h + 1 {
                match self
                    .head
                    .compare_exchange_weak(h, h + 1, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => {
                        // SAFETY: ticket `h` is ours and the slot holds its value; reading it
                        // moves it out exactly once.
                        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        // Release: the read is done before the next lap's producer writes.
                        slot.seq.store(2 * (h + self.cap()), Ordering::Release);
                        return Ok(value);
                    }
                    Err(now) => {
                        h = now;
                        backoff.spin();
                    }
                }
            } else if seq < 2 * h + 1 {
                // No value for ticket `h` yet. Empty, unless its producer has taken the ticket
                // and is writing right now.
                if self.tail.load(Ordering::SeqCst) & !CLOSED <= h {
                    return Err(Busy::No(()));
                }
                if !spin {
                    return Err(Busy::InFlight(()));
                }
                backoff.snooze();
                h = self.head.load(Ordering::SeqCst);
            } else {
                h = self.head.load(Ordering::SeqCst);
            }
        }
    }

    /// Moves up to `max` values into `out`, oldest first, and returns how many it moved.
    ///
    /// Values that are ready together are claimed with a single CAS on `head`, so a consumer
    /// draining a backlog pays one contended operation per batch instead of one per value.
    /// Returns 0 when the queue is empty. Never allocates (beyond what `out` does); if `out`
    /// panics, the values claimed and not yet handed over are dropped and their slots freed.
    pub fn pop_into(&self, out: &mut impl Extend<T>, max: usize) -> usize {
        let mut moved = 0;
        while moved < max {
            let h = self.head.load(Ordering::SeqCst);
            let want = ((max - moved) as u64).min(self.cap());
            let mut k = 0;
            // Acquire pairs with each producer's Release `seq` store.
            while k < want && self.slot(h + k).seq.load(Ordering::Acquire) == 2 * (h + k) + 1 {
                k += 1;
            }
            if k == 0 {
                // Nothing ready at `h`: the single pop decides empty versus in flight.
                match self.pop() {
                    Some(v) => {
                        out.extend(Some(v));
                        moved += 1;
                        continue;
                    }
                    None => break,
                }
            }
            if self
                .head
                .compare_exchange(h, h + k, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                continue;
            }
            // Tickets h..h+k are ours and their slots were full before the CAS; no producer
            // can touch a full slot, so they still are.
            let mut claimed = Claimed {
                q: self,
                next: h,
                end: h + k,
            };
            while let Some(v) = claimed.take() {
                out.extend(Some(v));
            }
            moved += k as usize;
        }
        moved
    }

    /// Appends `value`; if the queue is full, evicts the oldest value and returns it.
    ///
    /// On a full ring the oldest value's slot is the one the next producer needs, so
    /// `force_push` takes that value's consumer ticket and then the slot's producer ticket and
    /// swaps the values in place: no other producer can take the freed room in between. Like
    /// `push`, it waits for an operation of the other side that is mid-copy on its slot.
    pub fn force_push(&self, mut value: T) -> Option<T> {
        let mut backoff = Backoff::new();
        let mut t = self.tail.load(Ordering::SeqCst);
        debug_assert!(t & CLOSED == 0, "force_push on a closed RingQueue");
        loop {
            let slot = self.slot(t);
            let seq = slot.seq.load(Ordering::Acquire);
            if seq == 2 * t {
                match self.claim_and_write(t, value) {
                    Ok(()) => return None,
                    Err((back, now)) => {
                        value = back;
                        t = now;
                    }
                }
            } else if t >= self.cap() && seq == 2 * (t - self.cap()) + 1 {
                // Full at `t` if no consumer has taken the old value's ticket yet: take it.
                let oldest = t - self.cap();
                if self
                    .head
                    .compare_exchange(oldest, oldest + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    // While the old value sits in the slot no producer can take ticket `t`
                    // (its turn check fails), and `tail` cannot pass `t`: this succeeds.
                    let claimed =
                        self.tail
                            .compare_exchange(t, t + 1, Ordering::SeqCst, Ordering::SeqCst);
                    assert!(
                        claimed.is_ok(),
                        "RingQueue invariant: tail moved past a full slot"
                    );
                    // SAFETY: we hold both the consumer ticket of the old value and the
                    // producer ticket `t` of this slot, so the slot is ours alone.
                    let old = slot.value.with_mut(|p| unsafe {
                        let old = (*p).assume_init_read();
                        (*p).write(value);
                        old
                    });
                    // Release: our value is visible to consumer `t`.
                    slot.seq.store(2 * t + 1, Ordering::Release);
                    return Some(old);
                }
                backoff.snooze();
                t = self.tail.load(Ordering::SeqCst);
            } else {
                backoff.snooze();
                t = self.tail.load(Ordering::SeqCst);
            }
        }
    }

    /// Makes every later push fail (it returns its value as if the queue were full; callers
    /// tell the two apart with [`RingQueue::is_closed`]). A push that took its ticket before
    /// this call still lands, and a pop still waits for it: every value whose push succeeded
    /// can be popped. Crate-internal, for closing a channel; never combined with `force_push`.
    ///
    /// SeqCst RMW: ordered against every ticket CAS, which is how "pushed before the close"
    /// is decided, and against the channel's later SeqCst disconnect bit that receivers read.
    pub(crate) fn close(&self) {
        self.tail.fetch_or(CLOSED, Ordering::SeqCst);
    }

    /// True once [`RingQueue::close`] has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// The number of values in the queue (a consistent snapshot of the two tickets).
    pub fn len(&self) -> usize {
        loop {
            let t = self.tail.load(Ordering::SeqCst) & !CLOSED;
            let h = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) & !CLOSED == t {
                return t.saturating_sub(h).min(self.cap()) as usize;
            }
        }
    }

    /// True if the queue holds no values (at the instant it looked).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the queue has no free slot (at the instant it looked).
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// The most values the queue holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

/// Consumer tickets claimed by `pop_into` and not yet read out. Reads them in order; if the
/// caller's `Extend` panics, `Drop` reads and drops the rest so their slots are released.
struct Claimed<'a, T> {
    q: &'a RingQueue<T>,
    next: u64,
    end: u64,
}

impl<T> Claimed<'_, T> {
    fn take(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        let t = self.next;
        self.next += 1;
        let slot = self.q.slot(t);
        // SAFETY: consumer ticket `t` is ours (claimed by the CAS in `pop_into`) and its slot
        // holds ticket `t`'s value; reading moves it out exactly once.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        // Release: the read is done before the next lap's producer writes.
        slot.seq.store(2 * (t + self.q.cap()), Ordering::Release);
        Some(value)
    }
}

impl<T> Drop for Claimed<'_, T> {
    fn drop(&mut self) {
        while self.take().is_some() {}
    }
}

impl<T> Drop for RingQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: nothing is in flight, so `pop` sees every value exactly once.
        while self.pop().is_some() {}
    }
}

impl<T> fmt::Debug for RingQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}
