//! An object pool that scales like the allocator: a private slot per thread in front of a
//! shared lock-free ring.
//!
//! Serves the Go concurrency patterns tutorial's "Object pool" section (a pool of buffers created
//! by a factory, and a pool of connections cleaned up on return). [`ObjectPool::get`] never blocks:
//! it takes the calling thread's cached object, else one from the shared ring, else calls the
//! factory. Dropping the returned [`Pooled`] guard resets the object and puts it back: into the
//! thread's slot if that is empty, else into the shared ring, else (both full) drops it.
//!
//! Algorithm: Go's `sync.Pool` keeps one private object per P in front of a shared list; here each
//! live thread gets a small index and each pool a slot per index, padded to its own cache line. In
//! the steady state (a get that finds the thread's object, a put that finds its slot empty) a pair
//! touches that line, the thread-local state and the pool's read-only fields, so pairs on many
//! threads share nothing; a get that finds the slot empty goes to the shared ring, a [`RingQueue`],
//! and the first put after a thread's flush registers the pool (a weak handle: one shared RMW).
//! Counters live in the slots too and are summed when read. Objects dropped by a thread's exit
//! flush run their `Drop` inside a thread-local destructor, where a panic aborts.
//!
//! Bounds: the shared ring holds at most `capacity` idle objects and each slot at most one, so
//! at most `capacity + slots()` objects sit idle. A thread that exits moves its cached object
//! back to the shared ring (or drops it if the ring is full); dropping the pool drops every
//! idle object.

mod local;

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use std::panic::{self, AssertUnwindSafe};

use crossbeam_utils::CachePadded;

use crate::queue::RingQueue;
use crate::sync::{self, AtomicU64, Ordering, StdArc, UnsafeCell};
use local::Flush;

/// Moves every object the calling thread has cached in any pool back to that pool's shared
/// ring (dropping it if the ring is full). Threads do this by themselves when they exit; call
/// it to hand objects back early, for example before a thread sleeps for a long time.
pub fn flush_thread_caches() {
    local::flush_thread();
}

/// How many objects a pool created, handed out again, and threw away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Objects made by the factory.
    pub created: u64,
    /// `get`s served by an idle object instead of the factory.
    pub reused: u64,
    /// Objects dropped on return (or by a thread's exit flush) because the thread's slot and
    /// the shared ring were full.
    pub dropped_full: u64,
    /// Objects dropped on return because validation refused them or the reset panicked.
    pub discarded: u64,
}

/// Per-slot counters: written only by the slot's owner (a load and a store, no RMW), read by
/// anyone. Relaxed: they are statistics, ordered with nothing.
#[derive(Default)]
struct Counters {
    created: AtomicU64,
    reused: AtomicU64,
    dropped_full: AtomicU64,
    discarded: AtomicU64,
}

#[derive(Clone, Copy)]
enum Stat {
    Created,
    Reused,
    DroppedFull,
    Discarded,
}

impl Counters {
    fn cell(&self, which: Stat) -> &AtomicU64 {
        match which {
            Stat::Created => &self.created,
            Stat::Reused => &self.reused,
            Stat::DroppedFull => &self.dropped_full,
            Stat::Discarded => &self.discarded,
        }
    }

    /// Bumps a counter of the calling thread's own slot: one writer, so no RMW.
    fn bump_owned(&self, which: Stat) {
        let c = self.cell(which);
        c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Bumps a shared counter (threads without a slot).
    fn bump_shared(&self, which: Stat) {
        self.cell(which).fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, s: &mut PoolStats) {
        s.created += self.created.load(Ordering::Relaxed);
        s.reused += self.reused.load(Ordering::Relaxed);
        s.dropped_full += self.dropped_full.load(Ordering::Relaxed);
        s.discarded += self.discarded.load(Ordering::Relaxed);
    }
}

/// One thread's cache in one pool.
struct Slot<T> {
    /// The cached object. Invariant: touched only by the thread holding this slot's index
    /// (or by whoever holds the pool exclusively, when it drops), and never while user code
    /// runs, so no reference to it outlives a method of `Slot`.
    obj: UnsafeCell<Option<T>>,
    /// The id of the thread state that registered this pool for its exit flush (0: none).
    /// Same guard as `obj`.
    registered: UnsafeCell<u64>,
    counters: Counters,
}

// SAFETY: `obj` and `registered` are only touched by the thread holding the slot's index
// (see their invariant); hand-over of an index between threads goes through a mutex, which
// orders the old owner's accesses before the new owner's. Objects move between threads, so
// `T: Send` is needed.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            obj: UnsafeCell::new(None),
            registered: UnsafeCell::new(0),
            counters: Counters::default(),
        }
    }

    /// # Safety
    /// The caller holds this slot's index.
    unsafe fn take(&self) -> Option<T> {
        // SAFETY: owner-only access (caller contract); no user code runs inside.
        self.obj.with_mut(|o| unsafe { (*o).take() })
    }

    /// Caches `obj` if the slot is empty; gives it back otherwise.
    ///
    /// # Safety
    /// As [`Slot::take`].
    unsafe fn put(&self, obj: T) -> Result<(), T> {
        // SAFETY: owner-only access (caller contract); nothing is dropped inside.
        self.obj.with_mut(|o| unsafe {
            if (*o).is_some() {
                Err(obj)
            } else {
                *o = Some(obj);
                Ok(())
            }
        })
    }

    /// # Safety
    /// As [`Slot::take`].
    unsafe fn registered(&self) -> u64 {
        // SAFETY: owner-only access (caller contract).
        self.registered.with(|r| unsafe { *r })
    }

    /// # Safety
    /// As [`Slot::take`].
    unsafe fn set_registered(&self, value: u64) {
        // SAFETY: owner-only access (caller contract).
        self.registered.with_mut(|r| unsafe { *r = value })
    }
}

type Factory<T> = Box<dyn Fn() -> T + Send + Sync>;
type Reset<T> = Box<dyn Fn(&mut T) + Send + Sync>;
type Validate<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

struct Inner<T> {
    shared: RingQueue<T>,
    slots: Box<[CachePadded<Slot<T>>]>,
    /// Counters of threads that have no slot (an index beyond `slots`, or exiting).
    overflow: CachePadded<Counters>,
    factory: Factory<T>,
    reset: Option<Reset<T>>,
    validate: Option<Validate<T>>,
}

impl<T: Send> Flush for Inner<T> {
    fn flush(&self, index: usize) {
        let slot = &self.slots[index];
        // SAFETY: called by the exiting thread that holds `index`, before it gives it back.
        let obj = unsafe {
            slot.set_registered(0);
            slot.take()
        };
        if let Some(obj) = obj {
            if let Err(obj) = self.shared.push(obj) {
                slot.counters.bump_owned(Stat::DroppedFull);
                drop(obj);
            }
        }
    }
}

/// The number of per-thread slots in a pool: twice the machine's parallelism, at least 16.
/// Threads beyond that use only the shared ring.
fn slot_count() -> usize {
    // Few and fixed under a model checker: a model with more threads than slots reaches
    // the shared ring, and the count does not depend on the machine.
    if cfg!(any(lockgate_loom, lockgate_shuttle)) {
        return 4;
    }
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(16)
        .max(16)
}

/// A pool of reusable objects made by a factory.
///
/// # Example
///
/// The tutorial's buffer pool: the second `get` reuses the first buffer.
///
/// ```
/// use lockgate::pool::ObjectPool;
///
/// let pool = ObjectPool::with_reset(String::new, |s: &mut String| s.clear(), 10);
/// let mut buf = pool.get();
/// buf.push_str("Hello");
/// let addr = buf.as_ptr();
/// drop(buf); // cleared and back in the pool
/// let buf = pool.get();
/// assert!(buf.is_empty());
/// assert_eq!(pool.stats().created, 1);
/// assert_eq!(pool.stats().reused, 1);
/// # let _ = addr;
/// ```
pub struct ObjectPool<T> {
    inner: StdArc<Inner<T>>,
}

impl<T: Send + 'static> ObjectPool<T> {
    /// A pool whose shared ring keeps at most `capacity` idle objects.
    ///
    /// # Panics
    /// If `capacity` is 0 or above [`RingQueue::MAX_CAPACITY`].
    pub fn new(factory: impl Fn() -> T + Send + Sync + 'static, capacity: usize) -> Self {
        Self::build(Box::new(factory), None, None, capacity)
    }

    /// A pool that runs `reset` on every object returned to it (the tutorial's pool with cleanup).
    /// A panicking `reset` drops that object (counted as discarded); the pool stays usable.
    ///
    /// # Panics
    /// As [`ObjectPool::new`].
    pub fn with_reset(
        factory: impl Fn() -> T + Send + Sync + 'static,
        reset: impl Fn(&mut T) + Send + Sync + 'static,
        capacity: usize,
    ) -> Self {
        Self::build(Box::new(factory), Some(Box::new(reset)), None, capacity)
    }

    /// A builder, for a pool with validation as well as (or instead of) a reset.
    pub fn builder(
        factory: impl Fn() -> T + Send + Sync + 'static,
        capacity: usize,
    ) -> PoolBuilder<T> {
        PoolBuilder {
            factory: Box::new(factory),
            reset: None,
            validate: None,
            capacity,
        }
    }

    fn build(
        factory: Factory<T>,
        reset: Option<Reset<T>>,
        validate: Option<Validate<T>>,
        capacity: usize,
    ) -> Self {
        assert!(capacity > 0, "ObjectPool capacity must be at least 1");
        ObjectPool {
            inner: StdArc::new(Inner {
                shared: RingQueue::new(capacity),
                slots: (0..slot_count())
                    .map(|_| CachePadded::new(Slot::new()))
                    .collect(),
                overflow: CachePadded::new(Counters::default()),
                factory,
                reset,
                validate,
            }),
        }
    }
}

impl<T: Send + 'static> ObjectPool<T> {
    /// The calling thread's slot and state id, if it has a slot.
    #[inline]
    fn slot_and_id(&self) -> Option<(&Slot<T>, u64)> {
        local::thread_index().and_then(|(i, id)| self.inner.slots.get(i).map(|s| (&**s, id)))
    }

    /// The calling thread's slot, if it has one.
    #[inline]
    fn slot(&self) -> Option<&Slot<T>> {
        self.slot_and_id().map(|(s, _)| s)
    }

    fn count(&self, slot: Option<&Slot<T>>, which: Stat) {
        match slot {
            Some(s) => s.counters.bump_owned(which),
            None => self.inner.overflow.bump_shared(which),
        }
    }

    /// An object: the thread's cached one, else an idle one from the shared ring, else a new
    /// one from the factory. Never blocks. A panicking factory propagates its panic and leaves
    /// the pool as it was.
    #[inline]
    pub fn get(&self) -> Pooled<'_, T> {
        match self.take_idle() {
            Some(obj) => Pooled::new(self, obj),
            None => self.create(),
        }
    }

    #[cold]
    fn create(&self) -> Pooled<'_, T> {
        let obj = (self.inner.factory)();
        self.count(self.slot(), Stat::Created);
        Pooled::new(self, obj)
    }

    /// An idle object if there is one (the thread's own, else from the shared ring); never
    /// calls the factory.
    pub fn try_get(&self) -> Option<Pooled<'_, T>> {
        self.take_idle().map(|obj| Pooled::new(self, obj))
    }

    #[inline]
    fn take_idle(&self) -> Option<T> {
        let slot = self.slot();
        if let Some(s) = slot {
            // SAFETY: `slot()` is the slot of the index this thread holds.
            if let Some(obj) = unsafe { s.take() } {
                s.counters.bump_owned(Stat::Reused);
                return Some(obj);
            }
        }
        let obj = self.inner.shared.pop()?;
        self.count(slot, Stat::Reused);
        Some(obj)
    }

    /// Takes an object back: reset, validate, then cache it (slot, else shared ring, else
    /// drop).
    fn put(&self, mut obj: T) {
        let mine = self.slot_and_id();
        let slot = mine.map(|(s, _)| s);
        // A panicking reset or validation drops the object (it may be half reset) and
        // propagates, unless the thread is already unwinding (a second panic would abort).
        let checked = panic::catch_unwind(AssertUnwindSafe(|| {
            if let Some(reset) = &self.inner.reset {
                reset(&mut obj);
            }
            self.inner.validate.as_ref().map_or(true, |v| v(&obj))
        }));
        match checked {
            Ok(true) => {}
            Ok(false) => {
                self.count(slot, Stat::Discarded);
                return;
            }
            Err(payload) => {
                self.count(slot, Stat::Discarded);
                drop(obj);
                if !sync::panicking() {
                    panic::resume_unwind(payload);
                }
                return;
            }
        }
        let obj = match mine {
            // SAFETY: the slot of the index this thread holds.
            Some((s, id)) => match unsafe { self.cache_locally(s, id, obj) } {
                Ok(()) => return,
                Err(obj) => obj,
            },
            None => obj,
        };
        if let Err(obj) = self.inner.shared.push(obj) {
            self.count(slot, Stat::DroppedFull);
            drop(obj);
        }
    }

    /// # Safety
    /// `s` is the slot of the index this thread holds, and `id` its thread state's id.
    #[inline]
    unsafe fn cache_locally(&self, s: &Slot<T>, id: u64, obj: T) -> Result<(), T> {
        // SAFETY: forwarded caller contract.
        if unsafe { s.registered() } != id {
            let weak = StdArc::downgrade(&self.inner) as std::sync::Weak<dyn Flush>;
            if !local::register(weak) {
                return Err(obj); // the thread is exiting: nothing may stay in its slot
            }
            // SAFETY: as above.
            unsafe { s.set_registered(id) };
        }
        // SAFETY: as above.
        unsafe { s.put(obj) }
    }

    /// Counters, summed over every thread's slot (a snapshot).
    pub fn stats(&self) -> PoolStats {
        let mut s = PoolStats::default();
        for slot in self.inner.slots.iter() {
            slot.counters.add_to(&mut s);
        }
        self.inner.overflow.add_to(&mut s);
        s
    }

    /// Idle objects in the shared ring now (a snapshot; per-thread slots hold at most one
    /// more each).
    pub fn shared_idle(&self) -> usize {
        self.inner.shared.len()
    }

    /// The shared ring's capacity.
    pub fn capacity(&self) -> usize {
        self.inner.shared.capacity()
    }

    /// The number of per-thread slots: at most `capacity() + slots()` objects sit idle.
    pub fn slots(&self) -> usize {
        self.inner.slots.len()
    }
}

/// Builds an [`ObjectPool`] with any of a reset and a validation; see
/// [`ObjectPool::builder`].
pub struct PoolBuilder<T> {
    factory: Factory<T>,
    reset: Option<Reset<T>>,
    validate: Option<Validate<T>>,
    capacity: usize,
}

impl<T: Send + 'static> PoolBuilder<T> {
    /// Runs `reset` on every object given back (before validation).
    pub fn reset(mut self, reset: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.reset = Some(Box::new(reset));
        self
    }

    /// Keeps a returned object only if `validate` accepts it; refused objects are dropped and
    /// counted as discarded. A panicking validation counts as a refusal and propagates.
    pub fn validate(mut self, validate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Self {
        self.validate = Some(Box::new(validate));
        self
    }

    /// The pool.
    ///
    /// # Panics
    /// As [`ObjectPool::new`].
    pub fn build(self) -> ObjectPool<T> {
        ObjectPool::build(self.factory, self.reset, self.validate, self.capacity)
    }
}

impl<T> fmt::Debug for PoolBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for ObjectPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectPool")
            .field("capacity", &self.inner.shared.capacity())
            .field("shared_idle", &self.inner.shared.len())
            .finish_non_exhaustive()
    }
}

/// An object on loan from an [`ObjectPool`]; goes back to the pool when dropped.
pub struct Pooled<'a, T: Send + 'static> {
    pool: &'a ObjectPool<T>,
    obj: ManuallyDrop<T>,
}

impl<'a, T: Send + 'static> Pooled<'a, T> {
    fn new(pool: &'a ObjectPool<T>, obj: T) -> Self {
        Pooled {
            pool,
            obj: ManuallyDrop::new(obj),
        }
    }

    /// Keeps the object: it will not go back to the pool.
    pub fn detach(self) -> T {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so `obj` is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.obj) }
    }
}

impl<T: Send + 'static> Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.obj
    }
}

impl<T: Send + 'static> DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.obj
    }
}

impl<T: Send + 'static> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `obj` is taken here only, once (`detach` forgets the guard instead).
        let obj = unsafe { ManuallyDrop::take(&mut self.obj) };
        self.pool.put(obj);
    }
}

impl<T: Send + 'static + fmt::Debug> fmt::Debug for Pooled<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&*self.obj).finish()
    }
}
