//! A bounded work-stealing deque of pointers: one owner pushes and pops at the bottom (last
//! in, first out, so a worker runs the job it just spawned while its data is in cache);
//! any thread steals from the top (oldest first). The worker pool keeps one per worker.
//!
//! Algorithm: Chase and Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005), with the
//! orderings of Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing for
//! Weak Memory Models" (PPoPP 2013), on a fixed buffer (no growth: a full deque refuses the
//! push and the pool sends the job to its shared injector instead, as tokio's local queues
//! overflow to theirs). Two differences from the paper, both for soundness in Rust's model:
//!
//! - Slots are atomic pointers. A stealer reads its slot before its CAS on `top` decides
//!   whether the element is its; a losing stealer's read may race with the owner reusing the
//!   slot, which for a plain cell would be a data race. An atomic read that is then thrown
//!   away is harmless. (A pointer is what the pool stores: a job is one thin pointer.)
//! - Every slot store is Release and every slot load Acquire, so the pointee's contents
//!   travel with the pointer itself; the paper's argument for the indices is unchanged.
//!
//! The one race that needs the SeqCst fences is the last element: the owner's `pop`
//! decrements `bottom` and then reads `top`; a stealer reads `top` and then `bottom`. The
//! two fences order those pairs (the store-buffering shape), so at least one side sees the
//! other, and when both see one element left they settle it with a CAS on `top`.

use core::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicPtr, AtomicUsize, Ordering};

/// What [`Deque::steal`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Steal<T> {
    /// Nothing to take.
    Empty,
    /// Another thread took the element this steal aimed at; the deque may still hold more.
    Retry,
    /// The oldest element, now the caller's.
    Taken(T),
}

/// The deque (see the module docs). Holds raw pointers and owns nothing: the caller decides
/// what a pointer means, and drains the deque before dropping it.
pub(crate) struct Deque<T> {
    /// The next element a stealer takes. Only ever incremented, by a successful CAS (a
    /// stealer's, or the owner's on the last element). Invariant: `top <= bottom + 1` as
    /// signed differences (it passes `bottom` by one only inside the owner's `pop`).
    top: CachePadded<AtomicUsize>,
    /// One past the newest element. Written only by the owner.
    bottom: CachePadded<AtomicUsize>,
    /// Invariant: the slots at positions `top..bottom` (modulo the length) hold the
    /// elements, each written before `bottom` moved past it.
    slots: Box<[AtomicPtr<T>]>,
    mask: usize,
}

impl<T> Deque<T> {
    /// An empty deque of `capacity` slots (rounded up to a power of two).
    pub(crate) fn new(capacity: usize) -> Self {
        let cap = capacity.max(2).next_power_of_two();
        Deque {
            top: CachePadded::new(AtomicUsize::new(0)),
            bottom: CachePadded::new(AtomicUsize::new(0)),
            slots: (0..cap).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
            mask: cap - 1,
        }
    }

    /// Pushes at the bottom; the pointer back if the deque is full. Owner only.
    pub(crate) fn push(&self, p: NonNull<T>) -> Result<(), NonNull<T>> {
        // Relaxed: only the owner writes `bottom`.
        let b = self.bottom.load(Ordering::Relaxed);
        // Acquire: pairs with the stealers' SeqCst CAS on `top`, so a slot a stealer freed
        // was read by it before we reuse it here.
        let t = self.top.load(Ordering::Acquire);
        if b.wrapping_sub(t) as isize > self.mask as isize {
            return Err(p);
        }
        // Release: publishes the pointee with the pointer (the stealer's Acquire load).
        self.slots[b & self.mask].store(p.as_ptr(), Ordering::Release);
        // Release: pairs with the stealers' Acquire load of `bottom`: a stealer that sees
        // the new bottom sees the slot written.
        self.bottom.store(b.wrapping_add(1), Ordering::Release);
        Ok(())
    }

    /// True if a push would now succeed. Owner only, and then it stays true until the
    /// owner pushes (stealers only make room).
    pub(crate) fn has_room(&self) -> bool {
        // Relaxed: only the owner writes `bottom`. Acquire on `top`: as in `push`.
        let b = self.bottom.load(Ordering::Relaxed);
        let t = self.top.load(Ordering::Acquire);
        b.wrapping_sub(t) as isize <= self.mask as isize
    }

    /// Pops the newest element. Owner only.
    pub(crate) fn pop(&self) -> Option<NonNull<T>> {
        // Relaxed: only the owner (this thread) writes `bottom`.
        let b = self.bottom.load(Ordering::Relaxed);
        // Cheap early exit while the deque is visibly empty (the common idle case): no
        // fence. Acquire pairs with the stealers' CAS: `top == bottom` means every element
        // was taken, and no taking can undo that.
        if self.top.load(Ordering::Acquire) == b {
            return None;
        }
        let b = b.wrapping_sub(1);
        // Release: a stealer that reads this bottom must still see the slots below it.
        self.bottom.store(b, Ordering::Release);
        // SeqCst fence: orders the store of `bottom` before the load of `top`, pairing
        // with the fence in `steal` between its load of `top` and its load of `bottom`
        // (Lê et al., figure 1). Without it both sides could take the last element.
        fence(Ordering::SeqCst);
        let t = self.top.load(Ordering::Relaxed);
        let size = b.wrapping_sub(t) as isize;
        if size < 0 {
            // Emptied by stealers meanwhile: put `bottom` back (`top == b + 1` now).
            self.bottom.store(b.wrapping_add(1), Ordering::Release);
            return None;
        }
        // Acquire: pairs with our own Release store (an owner's element; the load cannot
        // see an older value than the one we wrote).
        let p = self.slots[b & self.mask].load(Ordering::Acquire);
        if size > 0 {
            // More than one element: no stealer can reach slot `b` (they take `t < b`).
            return NonNull::new(p);
        }
        // The last element: race the stealers for it with the same CAS they use. SeqCst:
        // the total order of the CASes on `top` decides who has it.
        let won = self
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_ok();
        // Either way the deque is empty now, with `top == b + 1`.
        self.bottom.store(b.wrapping_add(1), Ordering::Release);
        if won {
            NonNull::new(p)
        } else {
            None
        }
    }

    /// Takes the oldest element. Any thread.
    pub(crate) fn steal(&self) -> Steal<NonNull<T>> {
        // Acquire: pairs with the CASes of other stealers (their reads of freed slots come
        // before our CAS succeeds on the next position).
        let t = self.top.load(Ordering::Acquire);
        // SeqCst fence: pairs with the one in `pop` (see there).
        fence(Ordering::SeqCst);
        // Acquire: pairs with the owner's Release stores: the slots below it are written.
        let b = self.bottom.load(Ordering::Acquire);
        if b.wrapping_sub(t) as isize <= 0 {
            return Steal::Empty;
        }
        // Acquire: pairs with the owner's Release store of this slot. If the CAS below
        // fails, this value may be stale or from a reuse of the slot; it is then dropped
        // unread.
        let p = self.slots[t & self.mask].load(Ordering::Acquire);
        // SeqCst: one total order for every CAS on `top` (the owner's last-element CAS too).
        if self
            .top
            .compare_exchange(t, t.wrapping_add(1), Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return Steal::Retry;
        }
        match NonNull::new(p) {
            Some(p) => Steal::Taken(p),
            None => unreachable!("a deque slot below bottom is null"),
        }
    }

    /// Elements in the deque now (a snapshot; any thread).
    pub(crate) fn len(&self) -> usize {
        // Relaxed: a snapshot for statistics and hints. The pool's parking worker also
        // takes its last look with it; what orders that look after its registration is
        // the SeqCst fence before it, pairing with the pusher's fence (`Sched::notify`),
        // and the fence rules make a Relaxed load enough there.
        let b = self.bottom.load(Ordering::Relaxed);
        let t = self.top.load(Ordering::Relaxed);
        (b.wrapping_sub(t) as isize).max(0) as usize
    }

    /// True if a steal would now find nothing (a hint).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
mod tests {
    use super::*;

    fn ptr(v: &mut usize) -> NonNull<usize> {
        NonNull::from(v)
    }

    #[test]
    fn owner_is_lifo_stealers_fifo_and_full_refuses() {
        let mut vals: Vec<usize> = (0..5).collect();
        let d = Deque::new(4);
        let ps: Vec<_> = vals.iter_mut().map(ptr).collect();
        for p in &ps[..4] {
            d.push(*p).unwrap();
        }
        assert_eq!(d.push(ps[4]), Err(ps[4]));
        assert_eq!(d.len(), 4);
        assert_eq!(d.steal(), Steal::Taken(ps[0]));
        assert_eq!(d.pop(), Some(ps[3]));
        assert_eq!(d.pop(), Some(ps[2]));
        assert_eq!(d.steal(), Steal::Taken(ps[1]));
        assert_eq!(d.pop(), None);
        assert_eq!(d.steal(), Steal::Empty);
        // Wraps around the buffer.
        for round in 0..10 {
            d.push(ps[round % 5]).unwrap();
            assert_eq!(d.pop(), Some(ps[round % 5]));
        }
        assert!(d.is_empty());
    }

    #[test]
    fn threads_take_every_element_once() {
        use std::sync::atomic::AtomicUsize as Count;
        const N: usize = 200_000;
        let cells: Vec<usize> = (0..N).collect();
        let base = cells.as_ptr() as usize;
        let d = Deque::<usize>::new(64);
        let taken: Vec<Count> = (0..N).map(|_| Count::new(0)).collect();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| loop {
                    match d.steal() {
                        Steal::Taken(p) => {
                            let i = (p.as_ptr() as usize - base) / core::mem::size_of::<usize>();
                            taken[i].fetch_add(1, Ordering::Relaxed);
                        }
                        Steal::Retry => {}
                        Steal::Empty if done.load(Ordering::Acquire) => break,
                        Steal::Empty => std::thread::yield_now(),
                    }
                });
            }
            let mut i = 0;
            while i < N {
                let p = NonNull::new(cells[i..].as_ptr() as *mut usize).unwrap();
                match d.push(p) {
                    Ok(()) => i += 1,
                    Err(_) => {
                        if let Some(p) = d.pop() {
                            let j = (p.as_ptr() as usize - base) / core::mem::size_of::<usize>();
                            taken[j].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if i % 3 == 0 {
                    if let Some(p) = d.pop() {
                        let j = (p.as_ptr() as usize - base) / core::mem::size_of::<usize>();
                        taken[j].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            while let Some(p) = d.pop() {
                let j = (p.as_ptr() as usize - base) / core::mem::size_of::<usize>();
                taken[j].fetch_add(1, Ordering::Relaxed);
            }
            done.store(true, Ordering::Release);
        });
        assert!(taken.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }
}

/// Loom models of the deque (run with `--cfg lockgate_loom`, see `.ci/run`): the races the
/// paper's proof is about, checked on every interleaving and every weak-memory outcome that
/// loom explores.
#[cfg(all(test, lockgate_loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn boxed(v: usize) -> NonNull<usize> {
        NonNull::from(Box::leak(Box::new(v)))
    }

    fn open(p: NonNull<usize>) -> usize {
        // SAFETY: every pointer in these models comes from `boxed` and is taken once.
        *unsafe { Box::from_raw(p.as_ptr()) }
    }

    fn steal_one(d: &Deque<usize>) -> Option<usize> {
        loop {
            match d.steal() {
                Steal::Taken(p) => return Some(open(p)),
                Steal::Retry => thread::yield_now(),
                Steal::Empty => return None,
            }
        }
    }

    /// The last element raced by the owner's pop and a stealer: exactly one gets it, and
    /// the value it reads is the one pushed.
    #[test]
    fn last_element_pop_vs_steal() {
        loom::model(|| {
            let d = Arc::new(Deque::new(2));
            d.push(boxed(7)).unwrap();
            let thief = {
                let d = d.clone();
                thread::spawn(move || steal_one(&d))
            };
            let mine = d.pop().map(open);
            let theirs = thief.join().unwrap();
            assert_eq!(mine.is_some() as u8 + theirs.is_some() as u8, 1);
            assert_eq!(mine.or(theirs), Some(7));
            assert!(d.is_empty());
        });
    }

    /// Pushes and pops on the owner against two stealers, with slot reuse on a 2-slot
    /// buffer: every element is taken exactly once, by value.
    #[test]
    fn push_pop_against_stealers() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(|| {
            let d = Arc::new(Deque::new(2));
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let d = d.clone();
                    thread::spawn(move || steal_one(&d).unwrap_or(0))
                })
                .collect();
            let mut sum = 0;
            for v in [1, 2, 4] {
                let p = boxed(v);
                if let Err(p) = d.push(p) {
                    sum += open(p); // full: the owner keeps it
                }
                if v == 2 {
                    sum += d.pop().map_or(0, open);
                }
            }
            while let Some(p) = d.pop() {
                sum += open(p);
            }
            for t in thieves {
                sum += t.join().unwrap();
            }
            assert_eq!(sum, 7);
        });
    }
}
