//! [`ListQueue`]: an unbounded lock-free MPMC queue of linked blocks, under `unbounded()`.
//!
//! # Algorithm
//!
//! The segmented queue of crossbeam-channel's list flavour and crossbeam-queue's `SegQueue`
//! (itself after Vyukov's unbounded MPMC designs): values live in blocks of `BLOCK_CAP`
//! slots linked into a list. Producers and consumers take *positions* from two counters,
//! `tail` and `head`, with one CAS each; position `p` is slot `p % LAP` of the block that
//! the counter's `block` pointer names. Each lap has one position more than a block has
//! slots: position `LAP - 1` is the "block end", which no operation owns. The producer that
//! takes a block's last slot installs the next block and moves `tail` over the block end;
//! the consumer that takes a block's last slot moves `head` over it the same way. Threads
//! that see a counter at a block end wait a moment for that move.
//!
//! ```text
//!   slot.state:  WRITE (value in)  READ (value out)  DESTROY (the block is being freed)
//!   producer:    CAS tail -> write value -> state |= WRITE
//!   consumer:    CAS head -> wait for WRITE -> read value -> state |= READ
//! ```
//!
//! A block is finished when every slot is read. The consumer of the last slot starts the
//! release, walking the other slots: a slot whose consumer is still reading gets `DESTROY`,
//! and that consumer, on setting `READ`, sees it and continues the walk from the next slot.
//! So the block is released by whichever consumer finishes last, never while a consumer
//! reads it. A producer only touches a block after winning a position in it, and that
//! position's slot is unread, so the block is alive.
//!
//! Reuse: a released block goes into a one-block spare cache instead of the allocator, and
//! the producer that needs the next block takes it from there. In a steady stream (the
//! consumers keeping up) blocks circulate between the list and the spare, and the queue
//! allocates nothing. Reuse is safe from ABA because positions only grow (64-bit counters,
//! never wrapping in practice): a thread that read a block pointer and then lost its CAS
//! never dereferences it, and a CAS can only succeed on the position it was read with, which
//! belongs to exactly one block's lifetime.
//!
//! `close()` sets the low bit of `tail`, after which every push fails; pushes that took
//! their position before it land, and a pop waits for them (the mark bit of the bounded
//! ring, `ring.rs`).
//!
//! # Memory ordering
//!
//! Position CASes are SeqCst, so the emptiness check (a consumer reading `tail` after
//! reading `head`) sees a tail no older than the head it compares with. Slot states are
//! Release (set) / Acquire (wait): a value written before `WRITE` is visible to its reader,
//! and a value read before `READ` is gone before the block is released. Block pointers are
//! stored Release and loaded Acquire, so a block's reset contents are visible to the
//! threads that reach it.

use core::mem::MaybeUninit;
use core::ptr;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicPtr, AtomicUsize, Ordering, UnsafeCell};
use crate::wait::Backoff;

/// Positions per block (a power of two in normal builds). Small under loom and shuttle, so a
/// model crosses blocks.
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const LAP: usize = 32;
#[cfg(any(lockgate_loom, lockgate_shuttle))]
const LAP: usize = 3;
/// Slots per block: one position per lap is the block end.
const BLOCK_CAP: usize = LAP - 1;
/// Positions are stored shifted left by one; the low bit is a flag.
const SHIFT: usize = 1;
/// In `tail`: closed, no push succeeds.
const CLOSED: usize = 1;
/// In `head`: the head's block is known not to be the last one (a consumer can skip the
/// emptiness check, which reads `tail`).
const HAS_NEXT: usize = 1;

const WRITE: usize = 1;
const READ: usize = 2;
const DESTROY: usize = 4;

struct Slot<T> {
    /// Initialized from the producer's `WRITE` until the consumer reads it out.
    value: UnsafeCell<MaybeUninit<T>>,
    /// `WRITE | READ | DESTROY` bits; zero for a fresh (or reset) slot.
    state: AtomicUsize,
}

struct Block<T> {
    /// The next block, installed by the producer of this block's last slot. Null until then.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn alloc() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                value: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        }))
    }

    /// Waits for the next block to be installed (its producer is between its CAS and the
    /// store, a few instructions away).
    fn wait_next(&self) -> *mut Block<T> {
        let mut backoff = Backoff::new();
        loop {
            // Acquire: pairs with the installing producer's Release store.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }
}

/// A counter and the block its position is in.
struct Position<T> {
    /// `position << SHIFT`, plus a flag bit (see `CLOSED`, `HAS_NEXT`).
    index: AtomicUsize,
    /// The block of `index`'s position; null before the first push.
    block: AtomicPtr<Block<T>>,
}

/// An unbounded lock-free multi-producer multi-consumer queue. Crate-internal: the buffer of
/// [`unbounded`](crate::channel::unbounded) channels. See the module docs.
pub(crate) struct ListQueue<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// One released block kept for the next block a producer needs (null: none). Owned by
    /// whoever swaps it out.
    spare: AtomicPtr<Block<T>>,
}

// SAFETY: values move between threads through the queue (`T: Send`); each slot's value is
// touched only by the producer and then the consumer that own its position.
unsafe impl<T: Send> Send for ListQueue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for ListQueue<T> {}

/// Why a pop found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PopError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and the queue is closed: nothing will come.
    Closed,
}

impl<T> ListQueue<T> {
    pub(crate) fn new() -> Self {
        ListQueue {
            head: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            tail: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// A block for the list: the spare if there is one (reset), else a new allocation.
    fn take_block(&self) -> *mut Block<T> {
        // Acquire: pairs with the Release swap in `release`: the releasing consumer's last
        // reads of the block happen before we reset and reuse it.
        let b = self.spare.swap(ptr::null_mut(), Ordering::Acquire);
        if b.is_null() {
            return Block::alloc();
        }
        // SAFETY: swapped out of the spare cache, so the block is ours alone: released (no
        // thread can reach it any more, see the module docs) and not yet in the list.
        let block = unsafe { &*b };
        // Relaxed: the block becomes visible to others only through a later Release store of
        // a block pointer (`tail.block`, `next`).
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        for s in &block.slots {
            s.state.store(0, Ordering::Relaxed);
        }
        b
    }

    /// Puts a released block in the spare cache, freeing the one it displaces.
    fn release(&self, b: *mut Block<T>) {
        // AcqRel: Release publishes our reads of `b` to its next user (`take_block`); Acquire
        // makes the displaced block's releaser's reads happen before we free it.
        let old = self.spare.swap(b, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: swapped out of the cache: released and ours alone; allocated by `alloc`.
            drop(unsafe { Box::from_raw(old) });
        }
    }

    /// Appends `value`; hands it back once the queue is closed. Never blocks; allocates only
    /// when a new block is needed and the spare cache is empty.
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        let mut backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::SeqCst);
        // Acquire: pairs with the Release store that installed the block.
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block: *mut Block<T> = ptr::null_mut();
        loop {
            if tail & CLOSED != 0 {
                if !next_block.is_null() {
                    self.release(next_block);
                }
                return Err(value);
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // At the block end: the producer of the last slot is installing the next
                // block. Wait for it.
                backoff.snooze();
                tail = self.tail.index.load(Ordering::SeqCst);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // Taking the last slot means installing the next block: have it ready before the
            // CAS, so the others wait for as short a time as possible.
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = self.take_block();
            }
            if block.is_null() {
                // The very first push installs the first block.
                let first = self.take_block();
                match self.tail.block.compare_exchange(
                    ptr::null_mut(),
                    first,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        // Release: consumers that load `head.block` see the reset block.
                        self.head.block.store(first, Ordering::Release);
                    }
                    // Someone else installed it; keep ours as the spare.
                    Err(_) => self.release(first),
                }
                // Reload both, the index first: others may have filled the first block and
                // moved on since, and a block pointer is only good with an index read
                // before it (a loom model caught a push writing into the previous block
                // with the block the CAS returned and an index read later).
                tail = self.tail.index.load(Ordering::SeqCst);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    // SAFETY: we own position `tail` in `block`: the CAS succeeded on the
                    // index we read `block` with (an index names one block's lifetime), and
                    // the slot is unread, so the block is alive.
                    let b = unsafe { &*block };
                    if offset + 1 == BLOCK_CAP {
                        // Last slot: install the next block and move the tail over the end.
                        let next = next_block;
                        debug_assert!(!next.is_null());
                        // Release: the next block's reset is visible to producers that load it.
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::SeqCst);
                        b.next.store(next, Ordering::Release);
                    } else if !next_block.is_null() {
                        self.release(next_block);
                    }
                    let slot = &b.slots[offset];
                    // SAFETY: the slot is ours (our position) and empty (fresh or reset).
                    slot.value.with_mut(|p| unsafe { (*p).write(value) });
                    // Release: the value is visible to the consumer that sees WRITE.
                    slot.state.fetch_or(WRITE, Ordering::Release);
                    return Ok(());
                }
                Err(t) => {
                    tail = t;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Removes the oldest value. Never blocks for long: a value whose producer took its
    /// position but has not written yet is waited for (a few instructions).
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        let mut backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::SeqCst);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // The consumer of the last slot is moving `head` to the next block.
                backoff.snooze();
                head = self.head.index.load(Ordering::SeqCst);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & HAS_NEXT == 0 {
                let tail = self.tail.index.load(Ordering::SeqCst);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & CLOSED != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                // The tail is in a later block: this one has a next, no need to look again.
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HAS_NEXT;
                }
            }
            if block.is_null() {
                // The first push is installing the first block.
                backoff.snooze();
                head = self.head.index.load(Ordering::SeqCst);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    // SAFETY: we own position `head` in `block` (as in `push`); its slot is
                    // unread, so the block is alive.
                    let b = unsafe { &*block };
                    if offset + 1 == BLOCK_CAP {
                        // Last slot: move the head to the next block, over the block end.
                        let next = b.wait_next();
                        let mut next_index = (new_head & !HAS_NEXT) + (1 << SHIFT);
                        // SAFETY: `next` is installed and alive: its first slot is unread.
                        if !unsafe { &*next }.next.load(Ordering::Acquire).is_null() {
                            next_index |= HAS_NEXT;
                        }
                        self.head.block.store(next, Ordering::Release);
                        self.head.index.store(next_index, Ordering::SeqCst);
                    }
                    let slot = &b.slots[offset];
                    let mut spin = Backoff::new();
                    // Acquire: pairs with the producer's Release `fetch_or(WRITE)`.
                    while slot.state.load(Ordering::Acquire) & WRITE == 0 {
                        spin.snooze();
                    }
                    // SAFETY: WRITE is set, so the value is initialized; the position is
                    // ours, so we read it out exactly once.
                    let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: every slot of `b` has been claimed by a consumer.
                        unsafe { self.destroy(block, 0) };
                    } else if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                        // The release of this block waited on us: continue it.
                        // SAFETY: as above; DESTROY was set by the walk, which stopped here.
                        unsafe { self.destroy(block, offset + 1) };
                    }
                    return Ok(value);
                }
                Err(h) => {
                    head = h;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Releases `block` once every slot from `start` on is read: marks the first unread one
    /// `DESTROY` and stops there (its consumer continues), or releases the block.
    ///
    /// # Safety
    /// Every slot of `block` has been claimed by a consumer, and the slots before `start`
    /// are read (or are the caller's own, read and not marked).
    unsafe fn destroy(&self, block: *mut Block<T>, start: usize) {
        // SAFETY: alive until released below (slots from `start` on are not all read).
        let b = unsafe { &*block };
        // The last slot's consumer is the caller of `destroy(_, 0)` and never marks READ.
        for slot in &b.slots[start..BLOCK_CAP - 1] {
            // Acquire: a READ we see means that consumer's read happened before our release.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                return; // that consumer will continue from the next slot
            }
        }
        self.release(block);
    }

    /// Closes the queue: every later push fails. SeqCst RMW, ordered against every position
    /// CAS (pushes before it land) and before the channel's disconnect bit.
    pub(crate) fn close(&self) {
        self.tail.index.fetch_or(CLOSED, Ordering::SeqCst);
    }

    /// True once `close` has run.
    pub(crate) fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// The number of values in the queue (a consistent snapshot of the two counters).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(Ordering::SeqCst);
            let head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                let (mut t, mut h) = (tail >> SHIFT, head >> SHIFT);
                // A counter at a block end is about to move over it.
                if t % LAP == BLOCK_CAP {
                    t += 1;
                }
                if h % LAP == BLOCK_CAP {
                    h += 1;
                }
                let laps = t / LAP - h / LAP;
                return (t % LAP + laps * BLOCK_CAP).saturating_sub(h % LAP);
            }
        }
    }
}

impl<T> Drop for ListQueue<T> {
    fn drop(&mut self) {
        // Relaxed loads: `&mut self`, so every other thread's accesses happened before.
        let mut head = self.head.index.load(Ordering::Relaxed) & !HAS_NEXT;
        let tail = self.tail.index.load(Ordering::Relaxed) & !CLOSED;
        let mut block = self.head.block.load(Ordering::Relaxed);
        // Drop the values left, releasing each block as it is left behind.
        while head >> SHIFT != tail >> SHIFT {
            let offset = (head >> SHIFT) % LAP;
            // SAFETY: `&mut self`: no other thread; blocks from `head` to `tail` are alive.
            let b = unsafe { &mut *block };
            if offset < BLOCK_CAP {
                // SAFETY: positions between head and tail hold written, unread values (no
                // push is in flight: we have `&mut self`).
                b.slots[offset]
                    .value
                    .with_mut(|p| unsafe { (*p).assume_init_drop() });
            } else {
                let next = b.next.load(Ordering::Relaxed);
                // SAFETY: every value of this block is dropped or was read; ours alone.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head += 1 << SHIFT;
        }
        if !block.is_null() {
            // SAFETY: the last block, reached by nobody else any more.
            drop(unsafe { Box::from_raw(block) });
        }
        let spare = self.spare.load(Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the cached block is ours alone.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}
