//! [`ScqQueue`]: a bounded, lock-free MPMC queue built on fetch-and-add, for heavy contention.
//!
//! # Algorithm
//!
//! This is SCQ, the scalable circular queue of Ruslan Nikolaev, *"A Scalable, Portable, and
//! Memory-Efficient Lock-Free FIFO Queue"* (DISC 2019). Compare-and-swap rings (Vyukov's
//! bounded queue, crossbeam's `ArrayQueue`) let every contending thread retry the same CAS on
//! `head`/`tail`, so their throughput collapses as cores are added. SCQ hands out positions with
//! `fetch_add`, which always succeeds, and resolves the rare conflicts per cell.
//!
//! Values live in a fixed array of `capacity` slots. Two *index rings* of `2n` cells each
//! (`n = capacity.next_power_of_two()`) circulate slot numbers:
//!
//! * `free` holds the numbers of empty slots, `used` the numbers of full slots in FIFO order;
//! * `push` = take a number from `free`, write the slot, put the number into `used`;
//! * `pop` = take a number from `used`, read the slot, put the number back into `free`.
//!
//! An index ring never holds more than `n` numbers in `2n` cells, which is what lets its
//! enqueue always succeed (it never needs a "full" check) and lets its dequeue detect
//! emptiness with a *threshold*: a counter, reset to `3n - 1` by every enqueue, that bounds how
//! many failed dequeue attempts can happen before the ring must really be empty. That bound
//! turns SCQ's otherwise livelock-prone dequeue into a lock-free one.
//!
//! Each cell packs `{cycle, safe, index}` into one `u64`: `index` is a slot number or `BOTTOM`
//! (empty), `cycle` is `position / 2n` of the enqueue that wrote it, and `safe` is cleared by a
//! dequeuer that skipped past an occupied cell of an older cycle, so that a late enqueuer of
//! that cycle does not publish into a position the dequeuers have already passed.
//!
//! One departure from the paper. SCQ's threshold argument assumes no more threads than ring
//! cells: a failing dequeuer subtracts from the threshold only after it decided it failed, so
//! with many threads enough subtractions decided before an enqueue re-armed the threshold can
//! land after it and leave it negative while that enqueue's number sits in the ring. A
//! negative threshold is therefore not final here: a dequeuer that finds it spent looks at the
//! cells of the positions between `head` and `tail`, and if one holds a published number it
//! re-arms the threshold and goes on (`IndexRing::rearm_if_published` argues why an empty
//! answer is then exact, and why this cannot reopen the livelock the threshold exists to
//! prevent).
//!
//! Consecutive positions are spread over different cache lines (`remap`) so that threads
//! working on neighbouring positions do not share a line.
//!
//! # Memory ordering
//!
//! The proof of SCQ assumes a sequentially consistent machine, so every access to the index
//! rings is `SeqCst`. On x86-64 and AArch64 this costs nothing over Acquire/Release for loads
//! and read-modify-writes; the only SeqCst store (`threshold`) is off the steady-state path.
//! A slot write happens-before the `used` enqueue (a release CAS) that publishes its number;
//! the dequeuer's acquire load of that cell happens-before its read of the slot. The symmetric
//! chain through `free` orders a slot read before the next write of that slot.

use core::fmt;
use core::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicI64, AtomicU64, Ordering::SeqCst, UnsafeCell};
use crate::wait::{pause_point, Backoff};

/// Positions per 64-byte cache line in an index ring (cells are 8 bytes).
const CELLS_PER_LINE_LOG2: u32 = 3;

/// One ring of slot numbers (SCQ's "aq" or "fq").
struct IndexRing {
    /// Next position to dequeue. Only grows (by `fetch_add`); may run ahead of `tail` after
    /// failed dequeues until `catchup` pulls `tail` forward.
    head: CachePadded<AtomicU64>,
    /// Next position to enqueue. Only grows, except for `catchup`'s CAS up to `head`.
    tail: CachePadded<AtomicU64>,
    /// Failed dequeue attempts still allowed before the ring is declared empty; negative means
    /// empty. Reset to `3n - 1` by each enqueue.
    threshold: CachePadded<AtomicI64>,
    /// `2n` cells, each `{cycle, safe, index}` packed as described in the module docs.
    cells: Box<[AtomicU64]>,
    /// `log2(2n)`: the number of low bits holding `index`; bit `order` is `safe`.
    order: u32,
}

impl IndexRing {
    /// A ring holding the slot numbers `0..filled`, in order. `filled <= n`.
    fn new(order: u32, filled: usize) -> Self {
        let size = 1u64 << order;
        let ring = IndexRing {
            head: CachePadded::new(AtomicU64::new(size)),
            tail: CachePadded::new(AtomicU64::new(size + filled as u64)),
            threshold: CachePadded::new(AtomicI64::new(-1)),
            cells: (0..size).map(|_| AtomicU64::new(0)).collect(),
            order,
        };
        let empty = ring.pack(0, true, ring.bottom());
        for cell in ring.cells.iter() {
            cell.store(empty, SeqCst);
        }
        // Positions start at `size`, i.e. in cycle 1, so every empty cell (cycle 0) is usable.
        for i in 0..filled as u64 {
            let pos = size + i;
            ring.cells[ring.remap(pos)].store(ring.pack(1, true, i), SeqCst);
        }
        if filled > 0 {
            ring.threshold.store(ring.reset_threshold(), SeqCst);
        }
        ring
    }

    /// `3n - 1`, where `2n` is the number of cells.
    fn reset_threshold(&self) -> i64 {
        3 * (1i64 << (self.order - 1)) - 1
    }

    /// The `index` value of an empty cell: all index bits set.
    fn bottom(&self) -> u64 {
        (1u64 << self.order) - 1
    }

    fn pack(&self, cycle: u64, safe: bool, index: u64) -> u64 {
        (cycle << (self.order + 1)) | (u64::from(safe) << self.order) | index
    }

    fn cycle_of_cell(&self, cell: u64) -> u64 {
        cell >> (self.order + 1)
    }

    /// The cycle of a position, truncated to the bits a cell stores (positions would need
    /// 2^63 operations to wrap those bits).
    fn cycle_of_pos(&self, pos: u64) -> u64 {
        (pos >> self.order) & (u64::MAX >> (self.order + 1))
    }

    fn is_safe(&self, cell: u64) -> bool {
        cell & (1u64 << self.order) != 0
    }

    fn index_of(&self, cell: u64) -> u64 {
        cell & self.bottom()
    }

    /// Maps a position to a cell so that consecutive positions fall on different cache lines.
    fn remap(&self, pos: u64) -> usize {
        let i = pos & ((1u64 << self.order) - 1);
        if self.order <= CELLS_PER_LINE_LOG2 {
            return i as usize;
        }
        let lines_log2 = self.order - CELLS_PER_LINE_LOG2;
        let line = i & ((1u64 << lines_log2) - 1);
        let within = i >> lines_log2;
        ((line << CELLS_PER_LINE_LOG2) | within) as usize
    }

    /// Appends `index`. Always succeeds: the ring never holds more than `n` numbers.
    fn enqueue(&self, index: u64) {
        loop {
            let t = self.tail.fetch_add(1, SeqCst);
            pause_point!(AfterTailFetchAdd);
            let tc = self.cycle_of_pos(t);
            let cell = &self.cells[self.remap(t)];
            let mut e = cell.load(SeqCst);
            // Use the cell if it is empty, from an older cycle, and either still safe or no
            // dequeuer has gone past position `t` yet.
            while self.cycle_of_cell(e) < tc
                && self.index_of(e) == self.bottom()
                && (self.is_safe(e) || self.head.load(SeqCst) <= t)
            {
                match cell.compare_exchange(e, self.pack(tc, true, index), SeqCst, SeqCst) {
                    Ok(_) => {
                        self.reset_threshold_now();
                        return;
                    }
                    Err(now) => e = now,
                }
            }
            // The cell was unusable: take the next position.
        }
    }

    /// Re-arms the threshold after an enqueue: every dequeue may again try `3n - 1` times.
    fn reset_threshold_now(&self) {
        self.arm(self.reset_threshold());
    }

    /// Sets the threshold to `budget`.
    fn arm(&self, budget: i64) {
        // Real builds skip the store when it holds that value already, to keep the line
        // shared; under loom a swap, because loom's DPOR forgets another thread's load of a
        // location once this thread loads it too, and would never schedule that load after
        // our store.
        #[cfg(not(lockgate_loom))]
        if self.threshold.load(SeqCst) != budget {
            self.threshold.store(budget, SeqCst);
        }
        #[cfg(lockgate_loom)]
        self.threshold.swap(budget, SeqCst);
    }

    /// Removes the oldest number, or returns `None` if the ring is empty.
    fn dequeue(&self) -> Option<u64> {
        if self.threshold.load(SeqCst) < 0 && !self.rearm_if_published() {
            return None;
        }
        // A check that writes nothing: if no enqueuer has taken a position at or past `head`,
        // the ring is empty at the instant `tail` was read (every earlier position already has
        // its dequeuer). Pollers of an empty ring then leave `head`, the cells and the
        // threshold alone instead of churning them with failed `fetch_add`s. (Not in the
        // paper; the same reasoning as its `tail <= h + 1` test below.)
        let h = self.head.load(SeqCst);
        if self.tail.load(SeqCst) <= h {
            return None;
        }
        pause_point!(AfterPrecheck);
        loop {
            let h = self.head.fetch_add(1, SeqCst);
            let hc = self.cycle_of_pos(h);
            let cell = &self.cells[self.remap(h)];
            let mut e = cell.load(SeqCst);
            loop {
                let ec = self.cycle_of_cell(e);
                if ec == hc {
                    // Enqueued for this very position: take it, and mark the cell empty.
                    cell.fetch_or(self.bottom(), SeqCst);
                    return Some(self.index_of(e));
                }
                if ec >= hc {
                    // A newer cycle already owns the cell: we are late; move on.
                    break;
                }
                // An older cycle: close the cell to late enqueuers of position `h`, either by
                // advancing an empty cell's cycle or by clearing an occupied cell's `safe` bit.
                let new = if self.index_of(e) == self.bottom() {
                    self.pack(hc, self.is_safe(e), self.bottom())
                } else {
                    self.pack(ec, false, self.index_of(e))
                };
                match cell.compare_exchange(e, new, SeqCst, SeqCst) {
                    Ok(_) => break,
                    Err(now) => e = now,
                }
            }
            // Nothing for us at `h`. If no enqueuer is ahead of us, the ring is empty.
            let t = self.tail.load(SeqCst);
            if t <= h + 1 {
                self.catchup(t, h + 1);
                pause_point!(BeforeLateSub);
                // This subtraction may land after an enqueue re-armed the threshold (it was
                // decided before); that is what `rearm_if_published` repairs.
                self.threshold.fetch_sub(1, SeqCst);
                return None;
            }
            if self.threshold.fetch_sub(1, SeqCst) <= 0 && !self.rearm_if_published() {
                return None;
            }
        }
    }

    /// Called when the threshold is spent: re-arms it and returns `true` if the ring holds a
    /// number that no dequeuer has reached yet, else returns `false` (the ring may be
    /// reported empty).
    ///
    /// Why it exists. The threshold counts failed dequeues since the last enqueue, but a
    /// failing dequeuer subtracts *after* deciding it failed, so subtractions decided before
    /// an enqueue re-armed the threshold can land after it. With more threads than the ring
    /// has cells (SCQ's bound assumes no more), enough of them drive a fresh threshold below
    /// zero while the enqueued number sits in the ring, and before this check a negative
    /// threshold was final: `push` failed and `pop` found nothing forever.
    ///
    /// The check. Read `head` (`h`), then `tail` (`t`); if `t > h`, look at the cells of the
    /// positions from `h` up to `t` (at most `2n`, one per cell; `t - 1` first, the one that
    /// holds a number when nothing is in flight): a cell holding a number of its position's
    /// cycle or a later one holds a number published at a position no dequeuer had reached
    /// at our `head` load. Then set the threshold to at least `t - h`, enough failures to
    /// walk from `h` to `t - 1`.
    ///
    /// Why `false` means empty. A number whose enqueue finished before our `tail` load sits
    /// at a position `p < t`. If `p < h`, a dequeuer fetched `p` and takes it (that dequeue
    /// is ordered first). Otherwise its cell is among those scanned (positions `p` and
    /// `p - 2n` share a cell, hence "or a later cycle"), and only the dequeuer of `p` empties
    /// it. So every number of a finished enqueue is either being taken or seen here, with
    /// enqueuers in flight or not, on either ring (a free slot hidden from `push`, a value
    /// from `pop`). Enqueues still in flight are ordered after this dequeue.
    ///
    /// Why it cannot reopen the livelock the threshold prevents (a dequeuer leapfrogging an
    /// enqueuer forever on an empty ring): a re-arm needs a published number at a position
    /// at or past the `head` it read. The re-arming dequeuer then advances `head` with every
    /// failed attempt, so after finitely many attempts that position has a dequeuer, which
    /// takes the number; to re-arm again it needs another number published past the new
    /// `head`, i.e. another completed enqueue. A dequeue call can thus loop forever only
    /// while other calls keep completing: lock-free, as SCQ is. In the leapfrog itself no
    /// number gets published, so no re-arm happens and the threshold still ends it.
    ///
    /// Cost: two loads and at most `t - h` cell loads (read-only), paid only while the
    /// threshold is spent and an enqueuer has taken a position past `head`; an empty ring
    /// after `catchup` has `t <= h` and pays two loads.
    fn rearm_if_published(&self) -> bool {
        let h = self.head.load(SeqCst);
        let t = self.tail.load(SeqCst);
        if t <= h {
            return false;
        }
        let holds = |pos: u64| {
            let e = self.cells[self.remap(pos)].load(SeqCst);
            self.index_of(e) != self.bottom() && self.cycle_of_cell(e) >= self.cycle_of_pos(pos)
        };
        let end = t.min(h + (1u64 << self.order));
        if !holds(t - 1) && !(h..end).any(holds) {
            return false;
        }
        // `t - h` is at most the positions ever taken, far below `i64::MAX`.
        self.arm(self.reset_threshold().max((t - h) as i64));
        true
    }

    /// Pulls `tail` up to `head` after dequeuers overshot it, so enqueuers skip dead positions.
    fn catchup(&self, mut tail: u64, mut head: u64) {
        while self
            .tail
            .compare_exchange(tail, head, SeqCst, SeqCst)
            .is_err()
        {
            head = self.head.load(SeqCst);
            tail = self.tail.load(SeqCst);
            if tail >= head {
                break;
            }
        }
    }

    /// Numbers in the ring; exact when no operation is in flight, clamped otherwise.
    fn len(&self, max: usize) -> usize {
        let t = self.tail.load(SeqCst);
        let h = self.head.load(SeqCst);
        (t.saturating_sub(h) as usize).min(max)
    }
}

/// A bounded, lock-free multi-producer multi-consumer queue that hands out positions with
/// `fetch_add` (SCQ), for rings shared by many contending threads.
///
/// Same API and guarantees as [`RingQueue`](super::RingQueue). Each operation costs four
/// atomic read-modify-writes (two per index ring) against the `RingQueue`'s one CAS, so at low
/// thread counts `RingQueue` is several times faster; SCQ's `fetch_add` never fails and never
/// retries, which is what it is for when many threads contend. `push` and `pop` never block
/// and never allocate. See the module docs for the algorithm.
///
/// # Examples
///
/// ```
/// use lockgate::queue::ScqQueue;
///
/// let q = ScqQueue::new(2);
/// assert_eq!(q.push(1), Ok(()));
/// assert_eq!(q.push(2), Ok(()));
/// assert_eq!(q.push(3), Err(3)); // full: the value comes back
/// assert_eq!(q.force_push(3), Some(1)); // overwrite the oldest
/// assert_eq!(q.pop(), Some(2));
/// assert_eq!(q.pop(), Some(3));
/// assert_eq!(q.pop(), None);
/// ```
pub struct ScqQueue<T> {
    /// Slot numbers of full slots, oldest first.
    used: IndexRing,
    /// Slot numbers of empty slots.
    free: IndexRing,
    /// The values. Slot `i` is initialized exactly while `i` is in `used` or held by a thread
    /// between taking it from one ring and putting it into the other; the ring discipline
    /// gives each slot number to at most one thread at a time.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: values move between threads through the queue, so `T: Send` is required and
// enough; no `&T` is ever shared between threads.
unsafe impl<T: Send> Send for ScqQueue<T> {}
// SAFETY: as above; every slot is accessed by the one thread that holds its number.
unsafe impl<T: Send> Sync for ScqQueue<T> {}

impl<T> ScqQueue<T> {
    /// The largest capacity [`ScqQueue::new`] accepts: 2^40 slots.
    pub const MAX_CAPACITY: usize = super::MAX_CAPACITY;

    /// Creates a queue holding at most `capacity` values.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero or exceeds [`ScqQueue::MAX_CAPACITY`]. Allocation
    /// failure aborts, as for `Vec`.
    pub fn new(capacity: usize) -> Self {
        super::check_capacity(capacity, "ScqQueue");
        let order = capacity.next_power_of_two().trailing_zeros() + 1;
        ScqQueue {
            used: IndexRing::new(order, 0),
            free: IndexRing::new(order, capacity),
            slots: (0..capacity)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
        }
    }

    /// Appends `value`, or hands it back if the queue is full. Lock-free; never allocates.
    pub fn push(&self, value: T) -> Result<(), T> {
        match self.free.dequeue() {
            Some(i) => {
                self.write(i, value);
                self.used.enqueue(i);
                Ok(())
            }
            None => Err(value),
        }
    }

    /// Removes the oldest value. Lock-free; never allocates.
    pub fn pop(&self) -> Option<T> {
        let i = self.used.dequeue()?;
        let value = self.read(i);
        self.free.enqueue(i);
        Some(value)
    }

    /// Appends `value`; if the queue is full, evicts the oldest value and returns it.
    ///
    /// Lock-free against other `force_push` and `push` calls; if every slot is held by an
    /// operation in flight at that instant (possible only with capacity 1 or many threads),
    /// it spins until one of them finishes, as crossbeam's `ArrayQueue::force_push` does.
    pub fn force_push(&self, value: T) -> Option<T> {
        let mut backoff = Backoff::new();
        loop {
            if let Some(i) = self.free.dequeue() {
                self.write(i, value);
                self.used.enqueue(i);
                return None;
            }
            if let Some(i) = self.used.dequeue() {
                // We own slot `i`: swap the oldest value for ours and requeue it at the back.
                let old = self.read(i);
                self.write(i, value);
                self.used.enqueue(i);
                return Some(old);
            }
            backoff.snooze();
        }
    }

    /// The number of values in the queue. Exact when no operation is in flight.
    pub fn len(&self) -> usize {
        self.used.len(self.slots.len())
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

    fn write(&self, i: u64, value: T) {
        // SAFETY: we took `i` from `free`, so slot `i` is empty and ours alone until we put
        // `i` into `used` (struct invariant on `slots`).
        self.slots[i as usize].with_mut(|p| unsafe { (*p).write(value) });
    }

    fn read(&self, i: u64) -> T {
        // SAFETY: we took `i` from `used`, so slot `i` holds a value and is ours alone until
        // we put `i` into `free`; reading it moves the value out exactly once.
        self.slots[i as usize].with(|p| unsafe { (*p).assume_init_read() })
    }
}

impl<T> Drop for ScqQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: no operation is in flight, so `pop` sees every value exactly once.
        while self.pop().is_some() {}
    }
}

impl<T> fmt::Debug for ScqQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScqQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
mod tests {
    use super::ScqQueue;
    use crate::wait::pause::{paused, Gate, Point};
    use std::sync::Arc;

    /// `k` threads each running `op` (a push or a pop that will fail on its index ring),
    /// stepped one after another past the ring's empty pre-check and on to the point just
    /// before their threshold subtraction, where they stay until released.
    fn late_failures<R: Send + 'static>(
        k: usize,
        op: impl Fn() -> R + Clone + Send + 'static,
    ) -> Vec<(Gate, std::thread::JoinHandle<R>)> {
        let threads: Vec<_> = (0..k)
            .map(|_| {
                let t = paused(&[Point::AfterPrecheck, Point::BeforeLateSub], op.clone());
                t.0.reached(Point::AfterPrecheck);
                t
            })
            .collect();
        for (gate, _) in &threads {
            gate.release();
            gate.reached(Point::BeforeLateSub);
        }
        threads
    }

    /// The lock-up of late threshold subtractions, forced step by step at capacity 1
    /// (threshold re-armed to `3n - 1 = 2`):
    ///
    /// 1. A pop takes the value and pauses right after taking a `free` position (tail 3 -> 4)
    ///    for the slot number it gives back.
    /// 2. Three pushes pass the empty pre-check on `free` (head 3 < tail 4) and pause.
    /// 3. One after another they take positions 3, 4 and 5 from `head`, close those cells,
    ///    pull `tail` up to 6 and pause before subtracting from the threshold.
    /// 4. The pop's enqueue finds its cell closed, takes position 6 and publishes the slot
    ///    number there; the threshold is still armed, so it is left as it is.
    /// 5. The three late subtractions take the threshold from 2 to -1.
    ///
    /// Before the re-arm check, `free` then held the only slot number behind a negative
    /// threshold, and every later push failed on an empty queue.
    #[test]
    fn late_threshold_subtractions_do_not_lock_up() {
        let q = Arc::new(ScqQueue::new(1));
        q.push(7u32).unwrap();

        let popper = {
            let q = q.clone();
            paused(&[Point::AfterTailFetchAdd], move || q.pop())
        };
        popper.0.reached(Point::AfterTailFetchAdd);

        let pushers = {
            let q = q.clone();
            late_failures(3, move || q.push(100))
        };

        popper.0.release();
        assert_eq!(popper.1.join().unwrap(), Some(7));
        for (gate, handle) in pushers {
            gate.release();
            // Each push ran while the only slot was held by the pop: it had to fail.
            assert!(handle.join().unwrap().is_err());
        }

        assert_eq!(q.len(), 0);
        assert_eq!(
            q.push(8),
            Ok(()),
            "an empty queue of capacity 1 refused a push"
        );
        assert_eq!(q.pop(), Some(8));
        assert_eq!(q.pop(), None);
    }

    /// Late subtractions while enqueuers are in flight at both ends of the scan: a value
    /// whose push returned sits between two positions whose enqueuers are paused, so neither
    /// `head`'s cell nor `tail - 1`'s holds a number. Capacity 3 (`n = 4`, threshold 11):
    ///
    /// 1. push A takes `used` position 9 and pauses;
    /// 2. twelve pops pass the pre-check; one by one they take positions 9 to 20 (closing
    ///    A's), pull `tail` up to 21 and pause before their subtraction;
    /// 3. A takes position 21 and pauses again;
    /// 4. push B publishes at 22 and returns (the threshold is armed: left as it is);
    /// 5. push C takes 23 and pauses;
    /// 6. the twelve subtractions take the threshold to -1;
    /// 7. a pop must still find B's value.
    #[test]
    fn a_finished_push_between_paused_ones_is_found() {
        let q = Arc::new(ScqQueue::new(3));
        q.push(0u32).unwrap();
        assert_eq!(q.pop(), Some(0));

        let a = {
            let q = q.clone();
            paused(
                &[Point::AfterTailFetchAdd, Point::AfterTailFetchAdd],
                move || q.push(1),
            )
        };
        a.0.reached(Point::AfterTailFetchAdd);
        let poppers = {
            let q = q.clone();
            late_failures(12, move || q.pop())
        };
        a.0.release();
        a.0.reached(Point::AfterTailFetchAdd);
        assert_eq!(q.push(2), Ok(()));
        let c = {
            let q = q.clone();
            paused(&[Point::AfterTailFetchAdd], move || q.push(3))
        };
        c.0.reached(Point::AfterTailFetchAdd);
        for (gate, handle) in poppers {
            gate.release();
            assert_eq!(handle.join().unwrap(), None);
        }

        assert_eq!(
            q.pop(),
            Some(2),
            "a finished push was hidden by in-flight ones"
        );
        a.0.release();
        c.0.release();
        assert_eq!(a.1.join().unwrap(), Ok(()));
        assert_eq!(c.1.join().unwrap(), Ok(()));
        let mut rest = vec![q.pop().unwrap(), q.pop().unwrap()];
        rest.sort_unstable();
        assert_eq!(rest, [1, 3]);
        assert_eq!(q.pop(), None);
    }

    /// The mirror case on the `used` ring: three pops fail late while a push publishes its
    /// value, and the value must still come out.
    #[test]
    fn late_subtractions_do_not_strand_a_value() {
        let q = Arc::new(ScqQueue::new(1));
        // One value through, so `used` has been armed (a fresh ring starts at -1).
        q.push(1u32).unwrap();
        assert_eq!(q.pop(), Some(1));

        let pusher = {
            let q = q.clone();
            paused(&[Point::AfterTailFetchAdd], move || q.push(9))
        };
        // The push takes the free slot (free ring: no pause point armed for its dequeue
        // runs first), then pauses after taking a `used` position.
        pusher.0.reached(Point::AfterTailFetchAdd);

        let poppers = {
            let q = q.clone();
            late_failures(3, move || q.pop())
        };

        pusher.0.release();
        assert_eq!(pusher.1.join().unwrap(), Ok(()));
        for (gate, handle) in poppers {
            gate.release();
            assert_eq!(handle.join().unwrap(), None);
        }

        assert_eq!(q.len(), 1);
        assert_eq!(
            q.pop(),
            Some(9),
            "a value stayed in the queue where pop cannot see it"
        );
        assert_eq!(q.push(10), Ok(()));
        assert_eq!(q.pop(), Some(10));
    }
}
