//! [`RingQueue`]: a bounded lock-free MPMC ring of slots that each carry a turn.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue, in the ticket/turn formulation of Folly's `MPMCQueue`:
//! producers take tickets from `tail`, consumers from `head`; ticket `t` owns slot
//! `t mod capacity` in lap `t / capacity`, and each slot carries a [`Turn`] word that says
//! whose turn it is:
//!
//! ```text
//!   turn == 2 lap        slot empty, its producer is the ticket of that lap
//!   turn == 2 lap + 1    slot full, its consumer is the ticket of that lap
//!   consumer done  ->    turn == 2 (lap + 1), the producer of the next lap
//! ```
//!
//! So every hand-off moves a slot's turn on by one, with one `fetch_add` ([`Turn::complete`]),
//! and a thread that waits for a turn can sleep on the word itself (`wait/turn.rs`).
//!
//! Two ways to take a ticket:
//!
//! - `push`/`pop` (and the `try_*` of the channel) check the slot's turn first and claim the
//!   ticket with a CAS only when it has come. Full and empty are decided from the slot: a
//!   producer whose slot is not free re-reads `tail`, and reports full if no other producer
//!   moved it (Folly's rule), so a failing operation reads its own side's counter, never the
//!   other side's. So a `push` reports full while the consumer of the oldest value is still
//!   copying it out, and a `pop` reports empty while the producer of the next value is still
//!   writing it, even if later values are in: as in Folly's and Vyukov's queues, a failed
//!   `push`/`pop` is not linearizable against operations still in flight (a preempted one
//!   can make that window long). A failed CAS backs off before retrying.
//! - `push_wait`/`pop_wait` (and the channel's plain `send`/`recv`) take a ticket with one
//!   `fetch_add`, which never fails however many threads contend, and then wait for their
//!   slot's turn (see `ring/wait.rs`).
//!
//! Consecutive tickets are spread over different cache lines, so threads working on
//! neighbouring tickets do not share a line (Folly's `MPMCQueue` spreads its slots with a
//! stride for the same reason, and `scq.rs` remaps its cells). The remap transposes blocks of
//! `L × L` slots (`L` slots to a line): within a block, ticket `k` goes to line `k mod L`,
//! position `k / L`. So tickets `t` and `t + 1` are always on different lines, while a reader
//! that trails the writer by a block still finds `L` of its values on each line it fetches,
//! as with no remap at all (a plain stride costs a line per value, which halved a one-producer
//! one-consumer stream here). Slots past the last whole block keep their place.
//!
//! `force_push` on a full ring takes the oldest value's consumer ticket and then the producer
//! ticket of the same slot, which no one else can take while that value is in it, and swaps
//! the values in place: evict, then insert, with no other producer able to slip in between.
//!
//! # Memory ordering
//!
//! A turn is handed on with a SeqCst `fetch_add` and checked with an Acquire load: a value
//! written before the turn becomes odd is visible to the consumer that sees it, and a value
//! read out before the next even turn is gone before the next lap's producer writes. The
//! ticket operations only arbitrate between threads of one side and publish nothing; they are
//! SeqCst so that the channel's wait lists can pair their waiter counts with them and with the
//! turn hand-offs (see `WaitList::has_waiters`).

mod wait;

use core::fmt;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::fastmod::FastMod;
use crate::sync::{AtomicU64, Ordering, UnsafeCell};
use crate::wait::turn::{distance, is_odd, SpinCutoff, Turn};
use crate::wait::Backoff;

/// The top bit of `tail`: set by `close`, after which no push succeeds. Tickets stay far
/// below it (2^63 pushes would take centuries).
const CLOSED: u64 = 1 << 63;

/// `close_at` before any close: no ticket is cut off.
const OPEN: u64 = u64::MAX;

/// The bytes a line holds, for the remap.
const LINE: usize = 64;

/// One slot: a turn and room for one value.
struct Slot<T> {
    /// `2 lap` while empty for that lap's producer; `2 lap + 1` while holding its value.
    turn: Turn,
    /// Initialized exactly while the turn is odd, or while the ticket holder is writing it or
    /// reading it out (it owns the slot from taking its ticket and seeing its turn, until it
    /// completes the turn).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded, lock-free multi-producer multi-consumer queue.
///
/// `push` and `pop` never block and never allocate: the queue allocates once, in
/// [`RingQueue::new`]. [`push_wait`](RingQueue::push_wait) and
/// [`pop_wait`](RingQueue::pop_wait) block until they can complete, taking their place in
/// line with one `fetch_add` and sleeping on their slot, not on a lock. See the module docs
/// for the algorithm.
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
    /// The next consumer ticket. Only grows. Passes `tail` when waiting consumers hold
    /// tickets for values not yet pushed (`pop_wait`), or burnt tickets after a close.
    head: CachePadded<AtomicU64>,
    /// The next producer ticket, plus the [`CLOSED`] bit once `close` has run. The ticket only
    /// grows; it is never more than `capacity` ahead of `head` through `push`, while
    /// `push_wait` tickets may queue beyond (each waits for its slot's turn). The bit, once
    /// set, stays, and makes every later ticket CAS fail and every `fetch_add` ticket void.
    tail: CachePadded<AtomicU64>,
    /// The producer ticket at which `close` cut the stream ([`OPEN`] before): tickets below
    /// it land, the rest fail. Written once, after the bit, before waiters are woken.
    close_at: AtomicU64,
    /// The spin phase of turn waits, learnt.
    spin: SpinCutoff,
    /// `capacity` slots; ticket `t` uses slot `index(t)`.
    slots: Box<[Slot<T>]>,
    /// `ticket / capacity` and `ticket % capacity`.
    laps: FastMod,
    /// `log2 L`, for `L` slots to a line (0: no remap, a slot fills a line or the ring is
    /// smaller than one block).
    line_log2: u32,
    /// Slots in the whole `L × L` blocks, which the remap permutes; the rest keep their place.
    remapped: u64,
}

// SAFETY: values move between threads through the queue, so `T: Send` is required and
// enough; no `&T` is ever shared between threads.
unsafe impl<T: Send> Send for RingQueue<T> {}
// SAFETY: as above; each slot's value is touched only by the one thread whose ticket owns it
// (the turn protocol on `Slot::value`).
unsafe impl<T: Send> Sync for RingQueue<T> {}

/// The side of a turn, for the sleepers' mask.
const PRODUCER: u64 = 0;
const CONSUMER: u64 = 1;

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
        // `L`: the slots a line holds, rounded down to a power of two.
        let per_line = (LINE / core::mem::size_of::<Slot<T>>().max(1)).max(1);
        let line_log2 = per_line.ilog2();
        let block = 1u64 << (2 * line_log2);
        let remapped = if line_log2 == 0 {
            0
        } else {
            capacity as u64 / block * block
        };
        RingQueue {
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            close_at: AtomicU64::new(OPEN),
            spin: SpinCutoff::new(),
            slots: (0..capacity)
                .map(|_| Slot {
                    turn: Turn::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            laps: FastMod::new(capacity as u64),
            line_log2: if remapped == 0 { 0 } else { line_log2 },
            remapped,
        }
    }

    fn cap(&self) -> u64 {
        self.slots.len() as u64
    }

    /// Ticket `t`'s slot, and its lap.
    #[inline(always)]
    fn slot(&self, t: u64) -> (&Slot<T>, u64) {
        let (lap, i) = self.laps.div_rem(t);
        let at = if i < self.remapped {
            // Transpose within the `L × L` block: line `k mod L`, position `k / L`.
            let l = self.line_log2;
            let mask = (1u64 << l) - 1;
            let k = i & ((1u64 << (2 * l)) - 1);
            (i - k) | ((k & mask) << l) | (k >> l)
        } else {
            i
        };
        (&self.slots[at as usize], lap)
    }

    /// The sleepers' mask bit of `turn`: consecutive turns of a slot get different bits.
    #[inline(always)]
    fn mask(turn: u64) -> u32 {
        1 << (turn & 31)
    }

    /// Writes `value` into ticket `t`'s slot (whose turn, `2 lap`, the caller holds) and
    /// hands the slot to its consumer.
    #[inline]
    fn write(&self, slot: &Slot<T>, lap: u64, value: T) {
        // SAFETY: the caller holds producer ticket `t` and saw its turn: the slot is empty
        // and no other thread touches it until the turn moves on (the invariant on `value`).
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.turn
            .complete(2 * lap, 2 * lap + 1, Self::mask(2 * lap + CONSUMER));
    }

    /// Reads the value out of ticket `h`'s slot (whose turn, `2 lap + 1`, the caller holds)
    /// and hands the slot to the next lap's producer.
    #[inline]
    fn read(&self, slot: &Slot<T>, lap: u64) -> T {
        // SAFETY: the caller holds consumer ticket `h` and saw its turn: the slot holds
        // ticket `h`'s value and no other thread touches it until the turn moves on. Reading
        // moves it out exactly once.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.turn
            .complete(2 * lap + 1, 2 * lap + 2, Self::mask(2 * lap + 2 + PRODUCER));
        value
    }

    /// Claims producer ticket `t`, whose slot (`slot`, in lap `lap`) the caller saw ready for
    /// it, with one CAS and writes `value`; on a lost race hands the value back with the tail
    /// it found.
    #[inline]
    fn claim_push(&self, t: u64, slot: &Slot<T>, lap: u64, value: T) -> Result<(), (T, u64)> {
        match self
            .tail
            .compare_exchange_weak(t, t + 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                self.write(slot, lap, value);
                Ok(())
            }
            Err(now) => Err((value, now)),
        }
    }

    /// Appends `value`, or hands it back if the queue is full (or closed, for the channel,
    /// which tells the two apart with [`RingQueue::is_closed`]). Never allocates, never blocks.
    pub fn push(&self, mut value: T) -> Result<(), T> {
        let mut backoff = Backoff::new();
        let mut t = self.tail.load(Ordering::SeqCst);
        loop {
            if t & CLOSED != 0 {
                return Err(value);
            }
            let (slot, lap) = self.slot(t);
            // SeqCst (Acquire would do for the value): the channel's waiters re-check with
            // this load in the SeqCst pairing of their wait list.
            let d = distance(slot.turn.load(Ordering::SeqCst), 2 * lap);
            if d == 0 {
                match self.claim_push(t, slot, lap, value) {
                    Ok(()) => return Ok(()),
                    Err((back, now)) => {
                        value = back;
                        t = now;
                        backoff.spin();
                    }
                }
            } else {
                // Not free for `t`: the previous lap's value is still in (or being read out),
                // or another producer took `t`. Full if nobody moved the tail meanwhile.
                let now = self.tail.load(Ordering::SeqCst);
                if d > 0 && now == t {
                    return Err(value);
                }
                t = now;
            }
        }
    }

    /// Removes the oldest value. Never allocates, never blocks.
    pub fn pop(&self) -> Option<T> {
        let mut backoff = Backoff::new();
        let mut h = self.head.load(Ordering::SeqCst);
        loop {
            let (slot, lap) = self.slot(h);
            // SeqCst as in `push`.
            let d = distance(slot.turn.load(Ordering::SeqCst), 2 * lap + 1);
            if d == 0 {
                match self
                    .head
                    .compare_exchange_weak(h, h + 1, Ordering::SeqCst, Ordering::SeqCst)
                {
                    Ok(_) => return Some(self.read(slot, lap)),
                    Err(now) => {
                        h = now;
                        backoff.spin();
                    }
                }
            } else {
                // No value for `h` yet (or its producer is writing it), or another consumer
                // took `h`. Empty if nobody moved the head meanwhile.
                let now = self.head.load(Ordering::SeqCst);
                if d > 0 && now == h {
                    return None;
                }
                h = now;
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
            while k < want {
                let (slot, lap) = self.slot(h + k);
                // Acquire: pairs with each producer's turn hand-off.
                if distance(slot.turn.load(Ordering::Acquire), 2 * lap + 1) != 0 {
                    break;
                }
                k += 1;
            }
            if k == 0 {
                // Nothing ready at `h`: the single pop decides.
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
            // Tickets h..h+k are ours and their slots held their values before the CAS; no
            // producer touches a full slot, so they still do.
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
    /// Never use it on a queue that [`push_wait`](RingQueue::push_wait) or
    /// [`pop_wait`](RingQueue::pop_wait) also use: their tickets may be taken ahead of the
    /// ring's contents, which `force_push` cannot evict.
    pub fn force_push(&self, mut value: T) -> Option<T> {
        let mut backoff = Backoff::new();
        let mut t = self.tail.load(Ordering::SeqCst);
        debug_assert!(t & CLOSED == 0, "force_push on a closed RingQueue");
        loop {
            let (slot, lap) = self.slot(t);
            let d = distance(slot.turn.load(Ordering::Acquire), 2 * lap);
            if d == 0 {
                match self.claim_push(t, slot, lap, value) {
                    Ok(()) => return None,
                    Err((back, now)) => {
                        value = back;
                        t = now;
                        backoff.spin();
                        continue;
                    }
                }
            }
            if d == 1 && lap > 0 {
                // The slot holds the previous lap's value, ticket `t - capacity`. Full at
                // `t` if no consumer has taken that ticket yet: take it.
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
                    // Two turns at once: the old value's consumer's and our own producer's.
                    // Wake for both: a timed push may sleep waiting for the skipped one.
                    let from = 2 * (lap - 1) + 1;
                    let mask = Self::mask(2 * lap + PRODUCER) | Self::mask(2 * lap + CONSUMER);
                    slot.turn.complete(from, 2 * lap + 1, mask);
                    return Some(old);
                }
            }
            backoff.snooze();
            t = self.tail.load(Ordering::SeqCst);
        }
    }

    /// Makes every later push fail (it returns its value as if the queue were full; callers
    /// tell the two apart with [`RingQueue::is_closed`]). A push that took its ticket before
    /// this call still lands, and a pop waits for it: every value whose push succeeded can be
    /// popped. Wakes every sleeping ticket holder, so that the ones past the cut see it.
    /// Crate-internal, for closing a channel; never combined with `force_push`.
    ///
    /// SeqCst RMW: ordered against every ticket operation, which is how "pushed before the
    /// close" is decided. Its result is the cut, published in `close_at` (SeqCst, the stop
    /// condition that sleeping consumers re-check, see `wait/turn.rs`) before the wake-ups.
    pub(crate) fn close(&self) {
        let prev = self.tail.fetch_or(CLOSED, Ordering::SeqCst);
        if prev & CLOSED == 0 {
            self.close_at.store(prev, Ordering::SeqCst);
            self.wake_sleepers();
        }
    }

    /// Breaks every sleeping ticket holder out of its sleep to re-check its stop condition,
    /// which the caller has made true (SeqCst) first. One load per slot, and a wake-up per
    /// slot that has sleepers.
    pub(crate) fn wake_sleepers(&self) {
        for slot in self.slots.iter() {
            slot.turn.poke();
        }
    }

    /// True once [`RingQueue::close`] has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// The producer ticket the close cut at: every pop of a ticket at or past it will find
    /// nothing. `None` before the close (or while it is being published).
    pub(crate) fn cut(&self) -> Option<u64> {
        let c = self.close_at.load(Ordering::SeqCst);
        (c != OPEN).then_some(c)
    }

    /// True once the ring is cut and every consumer ticket below the cut is taken: no pop
    /// will find anything again.
    pub(crate) fn drained_to_cut(&self) -> bool {
        self.cut()
            .is_some_and(|c| self.head.load(Ordering::SeqCst) >= c)
    }

    /// True if a producer ticket at or past `head` is taken (below the cut): a value is on
    /// its way to the head slot, though the slot does not show it yet. Reads both counters.
    pub(crate) fn value_in_flight(&self) -> bool {
        let t =
            (self.tail.load(Ordering::SeqCst) & !CLOSED).min(self.close_at.load(Ordering::SeqCst));
        t > self.head.load(Ordering::SeqCst)
    }

    /// True if the counters leave room (the next producer ticket is less than a lap ahead of
    /// `head`) while the slot does not show it yet: its last value is being read out.
    pub(crate) fn room_in_flight(&self) -> bool {
        let t = self.tail.load(Ordering::SeqCst);
        t & CLOSED == 0 && t < self.head.load(Ordering::SeqCst) + self.cap()
    }

    /// The number of values in the queue (a consistent snapshot of the two tickets).
    pub fn len(&self) -> usize {
        loop {
            let t = self.tail.load(Ordering::SeqCst);
            let h = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == t {
                // After a close, tickets past the cut hold nothing.
                let t = (t & !CLOSED).min(self.close_at.load(Ordering::SeqCst));
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
        let (slot, lap) = self.q.slot(self.next);
        self.next += 1;
        // Consumer ticket `next` is ours (claimed by the CAS in `pop_into`) and its slot
        // holds its value.
        Some(self.q.read(slot, lap))
    }
}

impl<T> Drop for Claimed<'_, T> {
    fn drop(&mut self) {
        while self.take().is_some() {}
    }
}

impl<T> Drop for RingQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: nothing is in flight, so a slot holds a value exactly when its turn is
        // odd (a ticket abandoned after a close or a disconnection left its slot as it was).
        for slot in self.slots.iter_mut() {
            if is_odd(slot.turn.load(Ordering::Relaxed)) {
                // SAFETY: an odd turn means the slot holds a value nobody read (the
                // invariant on `Slot::value`), and `&mut self` excludes every other access.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
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
