//! Object pools under test: lockgate's `ObjectPool`, a `Mutex<Vec>` pool, a crossbeam
//! `ArrayQueue` pool, lockfree-object-pool's `LinearObjectPool`, and plain `Box` allocation
//! of the same 256-byte object. Each thread does get/put pairs and writes into the object.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

use crate::{share, timed_threads};

/// The pooled object: 256 bytes.
pub type Obj = [u8; 256];

fn fresh() -> Box<Obj> {
    Box::new([0u8; 256])
}

/// A pool: run `f` on an object taken from the pool, then give it back.
pub trait Pool: Sync {
    fn new(capacity: usize) -> Self;
    fn with_obj(&self, f: impl FnOnce(&mut Obj));
}

impl Pool for lockgate::pool::ObjectPool<Box<Obj>> {
    fn new(capacity: usize) -> Self {
        lockgate::pool::ObjectPool::new(fresh, capacity)
    }
    #[inline]
    fn with_obj(&self, f: impl FnOnce(&mut Obj)) {
        let mut o = self.get();
        f(&mut o);
    }
}

/// The textbook pool: a `Vec` of idle objects under a mutex.
// Boxed like every other pool's objects, so a get moves a pointer, not 256 bytes.
#[allow(clippy::vec_box)]
pub struct MutexVec(Mutex<Vec<Box<Obj>>>, usize);
impl Pool for MutexVec {
    fn new(capacity: usize) -> Self {
        MutexVec(Mutex::new(Vec::with_capacity(capacity)), capacity)
    }
    #[inline]
    fn with_obj(&self, f: impl FnOnce(&mut Obj)) {
        let mut o = self.0.lock().unwrap().pop().unwrap_or_else(fresh);
        f(&mut o);
        let mut v = self.0.lock().unwrap();
        if v.len() < self.1 {
            v.push(o);
        }
    }
}

/// A lock-free pool on crossbeam's `ArrayQueue`.
pub struct ArrayQueuePool(ArrayQueue<Box<Obj>>);
impl Pool for ArrayQueuePool {
    fn new(capacity: usize) -> Self {
        ArrayQueuePool(ArrayQueue::new(capacity))
    }
    #[inline]
    fn with_obj(&self, f: impl FnOnce(&mut Obj)) {
        let mut o = self.0.pop().unwrap_or_else(fresh);
        f(&mut o);
        let _ = self.0.push(o);
    }
}

/// lockfree-object-pool's `LinearObjectPool`.
pub struct Linear(lockfree_object_pool::LinearObjectPool<Box<Obj>>);
impl Pool for Linear {
    fn new(_capacity: usize) -> Self {
        Linear(lockfree_object_pool::LinearObjectPool::new(fresh, |_| {}))
    }
    #[inline]
    fn with_obj(&self, f: impl FnOnce(&mut Obj)) {
        let mut o = self.0.pull();
        f(&mut o);
    }
}

/// No pool: allocate and free a `Box` every time.
pub struct BoxAlloc;
impl Pool for BoxAlloc {
    fn new(_capacity: usize) -> Self {
        BoxAlloc
    }
    #[inline]
    fn with_obj(&self, f: impl FnOnce(&mut Obj)) {
        let mut o = std::hint::black_box(fresh());
        f(&mut o);
    }
}

/// `threads` pinned threads share `pairs` get/put pairs on one pool (capacity 1024); each
/// writes a byte into the object and reads another back, summed and checked.
pub fn pool_pairs<P: Pool>(threads: usize, pairs: u64) -> Duration {
    let pool = P::new(1024);
    let sum = AtomicU64::new(0);
    let d = timed_threads(threads, |i| {
        let mut local = 0u64;
        for k in 0..share(pairs, threads, i) {
            pool.with_obj(|o| {
                o[(k % 256) as usize] = 1;
                local += u64::from(o[((k + 1) % 256) as usize] <= 1);
            });
        }
        sum.fetch_add(local, Ordering::Relaxed);
    });
    assert_eq!(sum.into_inner(), pairs, "a pair went missing");
    d
}

/// Thread counts for this machine: 1, one per core, then 2x and 4x oversubscribed.
pub fn pool_shapes() -> Vec<usize> {
    let n = crate::cores().len().max(1);
    let mut v = vec![1, n, 2 * n, 4 * n];
    v.dedup();
    v
}
