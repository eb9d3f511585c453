//! Per-thread slots for the object pool: a small index per live thread, and a registry of the
//! pools each thread has cached objects in, flushed when the thread exits.
//!
//! Every thread that uses a pool's local cache gets the lowest free *thread index* from a
//! global allocator, and gives it back when it exits. Pool `p`'s slot `i` is touched only by
//! the thread holding index `i` (while the pool is shared), so a get/put pair on one thread
//! reads and writes one cache line that no other thread touches: it scales like a per-thread
//! allocator cache. Handing an index from an exited thread to a new one goes through the
//! allocator's mutex, which orders everything the old owner did before everything the new
//! owner does.
//!
//! The first time a thread caches an object in a pool it records a weak handle to the pool;
//! when the thread exits, it moves what it cached back to each live pool's shared ring (or
//! drops it if that ring is full). The design follows Go's `sync.Pool` (a private per-P
//! object in front of a shared list) with thread indices in place of Ps.

use core::cell::RefCell;
use std::sync::Weak;

use crate::sync::{global, thread_local, Mutex};

/// What a thread's exit does for a pool it cached objects in.
pub(super) trait Flush: Send + Sync {
    /// Moves the object cached in slot `index` (if any) to the shared ring, or drops it.
    fn flush(&self, index: usize);
}

/// Free thread indices: every index below `next` that is not in `free` is held by a thread.
struct Indices {
    free: Vec<usize>,
    next: usize,
    /// Ids handed to thread states so far; an id is never reused (0 means none).
    ids: u64,
}

global!(indices: Mutex<Indices> = Mutex::new(Indices { free: Vec::new(), next: 0, ids: 0 }));

/// This thread's index and the pools it has cached objects in.
struct ThreadState {
    index: usize,
    /// Unique among all thread states ever: a slot remembers which state registered it, so a
    /// new owner of the index (or a thread whose registry lost an entry to a panicking flush)
    /// registers again.
    id: u64,
    pools: RefCell<Vec<Weak<dyn Flush>>>,
}

impl ThreadState {
    fn new() -> Self {
        let mut ix = indices().lock().unwrap_or_else(|e| e.into_inner());
        let index = match ix.free.iter().enumerate().min_by_key(|(_, &i)| i) {
            Some((pos, _)) => ix.free.swap_remove(pos),
            None => {
                ix.next += 1;
                ix.next - 1
            }
        };
        ix.ids += 1;
        ThreadState {
            index,
            id: ix.ids,
            pools: RefCell::new(Vec::new()),
        }
    }
}

impl ThreadState {
    /// Moves this thread's cached objects back to their pools' shared rings.
    fn flush(&self) {
        // Taken out first: a flush drops objects (user code), which may use a pool again.
        let pools = core::mem::take(&mut *self.pools.borrow_mut());
        for pool in pools {
            if let Some(pool) = pool.upgrade() {
                pool.flush(self.index);
            }
        }
    }
}

impl Drop for ThreadState {
    fn drop(&mut self) {
        // Not under loom: loom drops a spawned thread's locals after `join` was notified (so a
        // flush would race the joining thread, unlike a real exit) and the main thread's after
        // its lazy statics (so `indices()` would panic). Loom models call `flush_thread` at the
        // end of a thread instead, which runs the same flush. Shuttle drops a thread's locals
        // as std does (before its `join` returns; the main thread's before the statics), so
        // shuttle builds flush here.
        if cfg!(lockgate_loom) {
            return;
        }
        // Flush first, then give the index back: a new owner of the index finds every slot
        // of it empty.
        self.flush();
        let mut ix = indices().lock().unwrap_or_else(|e| e.into_inner());
        ix.free.push(self.index);
    }
}

/// Flushes the calling thread's cached objects in every pool (see `ObjectPool`'s docs).
pub(super) fn flush_thread() {
    let _ = STATE.try_with(|s| s.flush());
}

thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static STATE: ThreadState = ThreadState::new();
}

/// This thread's index and state id, or `None` while its thread-locals are being torn down.
#[inline]
pub(super) fn thread_index() -> Option<(usize, u64)> {
    STATE.try_with(|s| (s.index, s.id)).ok()
}

/// Records that this thread caches objects in `pool`, so that its exit flushes them. Drops
/// records of pools that are gone. Returns false if the thread is exiting (then the caller
/// must not cache anything locally).
pub(super) fn register(pool: Weak<dyn Flush>) -> bool {
    STATE
        .try_with(|s| {
            let mut pools = s.pools.borrow_mut();
            pools.retain(|p| p.strong_count() > 0);
            pools.push(pool);
        })
        .is_ok()
}
