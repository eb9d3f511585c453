//! Semaphores and barriers under test, behind one interface per kind, and the loops that time
//! them. The peers: async-lock's `Semaphore` (`acquire_blocking`), tokio's `Semaphore`
//! (`acquire` under a minimal `block_on`), a Mutex+Condvar semaphore, `std::sync::Barrier`,
//! and a naive central spinning barrier (the figure DESIGN.md quotes).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Barrier, Condvar, Mutex};
use std::time::Duration;

use crate::{share, timed_threads};

/// A counting semaphore: acquire one permit, run `f`, release it.
pub trait Sem: Sync {
    fn new(permits: usize) -> Self;
    fn with_permit(&self, f: impl FnOnce());
}

impl Sem for lockgate::semaphore::Semaphore {
    fn new(permits: usize) -> Self {
        lockgate::semaphore::Semaphore::new(permits)
    }
    #[inline]
    fn with_permit(&self, f: impl FnOnce()) {
        let _p = self.acquire().unwrap();
        f();
    }
}

/// lockgate's semaphore in strict FIFO mode.
pub struct LockgateFair(lockgate::semaphore::Semaphore);
impl Sem for LockgateFair {
    fn new(permits: usize) -> Self {
        LockgateFair(lockgate::semaphore::Semaphore::new_fair(permits))
    }
    #[inline]
    fn with_permit(&self, f: impl FnOnce()) {
        let _p = self.0.acquire().unwrap();
        f();
    }
}

impl Sem for async_lock::Semaphore {
    fn new(permits: usize) -> Self {
        async_lock::Semaphore::new(permits)
    }
    #[inline]
    fn with_permit(&self, f: impl FnOnce()) {
        let _g = self.acquire_blocking();
        f();
    }
}

impl Sem for tokio::sync::Semaphore {
    fn new(permits: usize) -> Self {
        tokio::sync::Semaphore::new(permits)
    }
    #[inline]
    fn with_permit(&self, f: impl FnOnce()) {
        let _p = futures_executor::block_on(self.acquire()).unwrap();
        f();
    }
}

/// The textbook semaphore: a count under a mutex, and a condvar to wait on.
pub struct CondvarSem {
    free: Mutex<usize>,
    cv: Condvar,
}

impl Sem for CondvarSem {
    fn new(permits: usize) -> Self {
        CondvarSem {
            free: Mutex::new(permits),
            cv: Condvar::new(),
        }
    }
    #[inline]
    fn with_permit(&self, f: impl FnOnce()) {
        let mut free = self.free.lock().unwrap();
        while *free == 0 {
            free = self.cv.wait(free).unwrap();
        }
        *free -= 1;
        drop(free);
        f();
        *self.free.lock().unwrap() += 1;
        self.cv.notify_one();
    }
}

/// `threads` pinned threads share `pairs` acquire+release pairs on a semaphore of `permits`;
/// each holder bumps a thread-local counter, and the total is checked afterwards.
pub fn sem_pairs<S: Sem>(threads: usize, permits: usize, pairs: u64) -> Duration {
    let sem = S::new(permits);
    let done = AtomicU64::new(0);
    let d = timed_threads(threads, |i| {
        let mut local = 0u64;
        for _ in 0..share(pairs, threads, i) {
            sem.with_permit(|| local += 1);
        }
        done.fetch_add(local, Ordering::Relaxed);
    });
    assert_eq!(done.into_inner(), pairs, "a pair went missing");
    d
}

/// A reusable barrier.
pub trait Bar: Sync {
    fn new(parties: usize) -> Self;
    /// Waits for the round; true for exactly one thread per round.
    fn wait(&self) -> bool;
}

impl Bar for lockgate::barrier::CyclicBarrier {
    fn new(parties: usize) -> Self {
        lockgate::barrier::CyclicBarrier::new(parties)
    }
    #[inline]
    fn wait(&self) -> bool {
        lockgate::barrier::CyclicBarrier::wait(self)
            .unwrap()
            .is_leader()
    }
}

impl Bar for Barrier {
    fn new(parties: usize) -> Self {
        Barrier::new(parties)
    }
    #[inline]
    fn wait(&self) -> bool {
        Barrier::wait(self).is_leader()
    }
}

/// The naive central barrier: a shared counter and a generation everyone spins on; never
/// parks. Fast while every thread has a core, collapses when they outnumber the cores.
pub struct NaiveSpin {
    count: AtomicUsize,
    gen: AtomicUsize,
    parties: usize,
}

impl Bar for NaiveSpin {
    fn new(parties: usize) -> Self {
        NaiveSpin {
            count: AtomicUsize::new(0),
            gen: AtomicUsize::new(0),
            parties,
        }
    }
    #[inline]
    fn wait(&self) -> bool {
        let g = self.gen.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.parties {
            self.count.store(0, Ordering::Relaxed);
            self.gen.fetch_add(1, Ordering::Release);
            true
        } else {
            while self.gen.load(Ordering::Acquire) == g {
                std::hint::spin_loop();
            }
            false
        }
    }
}

/// `threads` pinned threads go through `rounds` rounds of a barrier for `threads` parties;
/// the leaders are counted and checked (one per round).
pub fn barrier_rounds<B: Bar>(threads: usize, rounds: u64) -> Duration {
    let b = B::new(threads);
    let leaders = AtomicU64::new(0);
    let d = timed_threads(threads, |_| {
        let mut led = 0u64;
        for _ in 0..rounds {
            led += u64::from(b.wait());
        }
        leaders.fetch_add(led, Ordering::Relaxed);
    });
    assert_eq!(leaders.into_inner(), rounds, "one leader per round");
    d
}

/// Semaphore shapes for this machine: (threads, permits). One thread (uncontended); one
/// thread per core on half as many permits; then 2x and 4x oversubscribed, permits half the
/// threads (DESIGN.md's 16 threads on 8 permits is the one-per-core shape on 16 cores).
pub fn sem_shapes() -> Vec<(usize, usize)> {
    let n = crate::cores().len().max(1);
    let mut v = vec![(1, 1)];
    for t in [n, 2 * n, 4 * n] {
        if t >= 2 {
            v.push((t, t / 2));
        }
    }
    v.dedup();
    v
}

/// Barrier shapes: one thread per core, then 2x and 4x oversubscribed.
pub fn barrier_shapes() -> Vec<usize> {
    let n = crate::cores().len().max(1);
    let mut v: Vec<usize> = [n, 2 * n, 4 * n].into_iter().filter(|&t| t >= 2).collect();
    v.dedup();
    v
}
