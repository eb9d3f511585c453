//! The pool's scheduler: a work-stealing deque per worker slot, the shared injector (the
//! pool's bounded channel), and the wake rule that decides when a submit wakes a sleeping
//! worker.
//!
//! **Where jobs go.** A submit from outside the pool sends to the injector. A job submitted
//! by a job running on a worker goes to that worker's own deque (Chase-Lev, `queue/deque.rs`),
//! which it pops last-in first-out; when the deque is full, to the injector. A worker looks
//! for work in its own deque, then the injector, then the other deques (stealing the oldest
//! job, victims in a rotating order). Threads without a slot (stand-ins, and a retiring
//! elastic worker that rejoined above `max`) look at the injector and steal, and block on the
//! injector's own receive.
//!
//! **The wake rule** (tokio's `idle.rs`, after Go's scheduler: "spinning" threads). One word
//! counts the workers *searching* (awake and looking for work) and the workers *parked*
//! (asleep in the sleeper list). A submit, after its job is in, wakes a parked worker only if
//! none is searching: a searcher will find the job, so a submit that finds one pays a fence
//! and a load, and no system call. At most half of the awake workers search at once. A
//! searcher that finds work stops searching, and if it was the last searcher it wakes the next
//! (the job it found may have company). A woken worker starts as a searcher. A searcher
//! searches for a while (spinning, then yielding) before it parks, so a steady stream of
//! submits keeps finding one awake.
//!
//! **No lost job.** A worker parks in three steps: under the sleeper lock it counts itself
//! parked (and no longer searching) and enters the list; then a SeqCst fence; then it looks
//! at the injector and every deque once more. A submit puts its job in, then fences, then
//! reads the count. By the fences, either the submit sees the worker's count change (and
//! wakes it, or sees a searcher), or the worker's last look sees the job (and it takes itself
//! out of the list). A parked worker sleeps on its slot's turn word (`wait/turn.rs`: a
//! futex, so a wake finds the sleeper by its word and wakes nobody else).
//!
//! Shutdown closes the injector and wakes every parked worker; workers leave once the
//! injector is closed and drained and no deque has a job left.

use crossbeam_utils::CachePadded;

use super::job::{Header, Job};
use crate::channel::{Receiver, TryRecvError};
use crate::queue::deque::{Deque, Steal};
use crate::sync::{self, fence, AtomicBool, AtomicU64, Mutex, Ordering};
use crate::wait::turn::{How, SpinCutoff, Stopped, Turn};
use crate::wait::WaitPolicy;

/// Jobs a worker's own deque holds before its submits overflow to the injector.
const LOCAL_CAPACITY: usize = 256;

/// Search rounds before a searcher parks: the first `SPIN_ROUNDS` spin (doubling), the rest
/// yield the core between looks. Under a model checker one round (every spin is a step
/// there, and the protocol must hold however short the search).
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const SPIN_ROUNDS: u32 = 7;
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
const SEARCH_ROUNDS: u32 = 24;
#[cfg(any(lockgate_loom, lockgate_shuttle))]
const SPIN_ROUNDS: u32 = 0;
#[cfg(any(lockgate_loom, lockgate_shuttle))]
const SEARCH_ROUNDS: u32 = 1;

/// `idle` fields: searching workers (bits 0-31) and parked workers (bits 32-63).
const SEARCH_ONE: u64 = 1;
const PARKED_ONE: u64 = 1 << 32;

fn searching(s: u64) -> u64 {
    s & 0xFFFF_FFFF
}

fn parked(s: u64) -> u64 {
    s >> 32
}

/// One worker slot.
struct Slot {
    /// Jobs the slot's owner submitted from its jobs. Pushed and popped by the owner only;
    /// stolen by anyone.
    deque: Deque<Header>,
    /// The owner sleeps here while parked: it waits for the turn after the one it parked
    /// at, and the waker completes that turn.
    turn: Turn,
    /// True while a worker owns the slot. Claimed by CAS (Acquire), given back by a Release
    /// store: the next owner sees the last one's `next_seq` and deque state.
    owned: AtomicBool,
    /// The turn the next park of this slot starts at. Written only by the owner (Relaxed;
    /// ownership hand-over orders it).
    next_seq: AtomicU64,
}

/// A parked worker: its slot and the turn it sleeps at.
#[derive(Clone, Copy)]
struct Sleeper {
    slot: usize,
    seq: u64,
}

/// What a worker thread carries through its loop.
pub(super) struct Local {
    /// The slot this thread owns, if any.
    pub(super) slot: Option<usize>,
    /// True while counted as searching in `idle`.
    searching: bool,
    /// The next victim to steal from first (rotates).
    victim: usize,
}

/// Why [`Sched::park`] returned.
pub(super) enum Woke {
    /// A waker (or the worker's own last look) made it a searcher again.
    Searching,
    /// The deadline passed while parked; counted as neither parked nor searching.
    Timeout,
}

pub(super) struct Sched {
    slots: Box<[CachePadded<Slot>]>,
    /// Searching | parked (see the module docs). RMWs are SeqCst: the condition the
    /// submit's fence-and-load pairs with. `parked` changes only under `sleepers`' lock.
    idle: CachePadded<AtomicU64>,
    /// The parked workers. Invariant: its length is `parked(idle)` whenever the lock is free.
    sleepers: Mutex<Vec<Sleeper>>,
    /// Every parked slot's sleep shares this cutoff (unused by the `Park` policy's sleep,
    /// which goes straight to the futex after registering).
    spin: SpinCutoff,
}

impl Sched {
    pub(super) fn new(slots: usize) -> Self {
        Sched {
            slots: (0..slots)
                .map(|_| {
                    CachePadded::new(Slot {
                        deque: Deque::new(LOCAL_CAPACITY),
                        turn: Turn::new(0),
                        owned: AtomicBool::new(false),
                        next_seq: AtomicU64::new(0),
                    })
                })
                .collect(),
            idle: CachePadded::new(AtomicU64::new(0)),
            sleepers: Mutex::new(Vec::new()),
            spin: SpinCutoff::new(),
        }
    }

    /// A worker's local state, owning a free slot if there is one.
    pub(super) fn local(&self, hint: usize) -> Local {
        let n = self.slots.len();
        let slot = (0..n).map(|i| (hint + i) % n).find(|&i| {
            // Acquire: pairs with the last owner's Release in `release`.
            self.slots[i]
                .owned
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
        Local {
            slot,
            searching: false,
            victim: hint.wrapping_add(1),
        }
    }

    /// The local state of a thread with no slot (a stand-in).
    pub(super) fn no_slot(&self) -> Local {
        Local {
            slot: None,
            searching: false,
            victim: 0,
        }
    }

    /// Pops the newest job of the calling worker's own deque (`slot` is its own).
    pub(super) fn pop_local(&self, slot: usize) -> Option<Job> {
        let p = self.slots[slot].deque.pop()?;
        // SAFETY: as in `find`: a pop hands the pointer to one taker.
        Some(unsafe { Job::from_raw(p) })
    }

    /// Steals and drops every job left on the deques (abort; their promises complete as
    /// abandoned). A deque's owner may still pop its last jobs meanwhile and drop them
    /// itself (it sees `aborted`).
    pub(super) fn abandon_stealable(&self) {
        for s in self.slots.iter() {
            loop {
                match s.deque.steal() {
                    // SAFETY: as in `find`.
                    Steal::Taken(p) => drop(unsafe { Job::from_raw(p) }),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
    }

    /// A worker leaves: stops searching and gives its slot back. Its deque is empty: the
    /// worker left its loop only after finding no job anywhere, and only it pushes there.
    pub(super) fn release(&self, local: &mut Local) {
        // The last searcher leaving hands the search on (as `found` does).
        if self.stop_searching(local) {
            self.notify();
        }
        if let Some(i) = local.slot.take() {
            debug_assert!(self.slots[i].deque.is_empty());
            // Release: the next owner's Acquire claim sees our `next_seq`.
            self.slots[i].owned.store(false, Ordering::Release);
        }
    }

    /// Pushes a job on the calling worker's own deque; the job back if it has no slot or
    /// the deque is full. Then applies the wake rule.
    pub(super) fn push_local(&self, slot: usize, job: Job) -> Result<(), Job> {
        let deque = &self.slots[slot].deque;
        // Checked before `into_raw`, which moves an inline job into a cell: a job handed
        // back must be the one given (its closure is recovered by type). The answer cannot
        // go stale: only the owner (the caller) pushes, and stealers only make room.
        if !deque.has_room() {
            return Err(job);
        }
        let p = job.into_raw();
        match deque.push(p) {
            Ok(()) => {
                self.notify();
                Ok(())
            }
            Err(_) => unreachable!("an owner's deque with room refused its push"),
        }
    }

    /// The next job for `local`: its own deque, then the injector, then the other deques.
    /// `Err(true)` if there is none and the injector is closed and drained (and no deque
    /// had one); `Err(false)` if there is none now.
    pub(super) fn find(&self, local: &mut Local, rx: &Receiver<Job>) -> Result<Job, bool> {
        if let Some(i) = local.slot {
            if let Some(p) = self.slots[i].deque.pop() {
                // SAFETY: every pointer in a deque came from `Job::into_raw`, and a pop
                // hands it to exactly one taker.
                return Ok(unsafe { Job::from_raw(p) });
            }
        }
        let closed = match rx.try_recv() {
            Ok(job) => return Ok(job),
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        };
        match self.steal(local) {
            Some(job) => Ok(job),
            None => Err(closed),
        }
    }

    /// One sweep over the other deques, starting at the rotating victim.
    fn steal(&self, local: &mut Local) -> Option<Job> {
        let n = self.slots.len();
        let start = local.victim;
        local.victim = local.victim.wrapping_add(1);
        let mut retry = true;
        while retry {
            retry = false;
            for k in 0..n {
                let i = (start + k) % n;
                if Some(i) == local.slot {
                    continue;
                }
                match self.slots[i].deque.steal() {
                    // SAFETY: as in `find`: a steal hands the pointer to one taker.
                    Steal::Taken(p) => return Some(unsafe { Job::from_raw(p) }),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
        }
        None
    }

    /// Jobs in the deques now (a snapshot).
    pub(super) fn queued(&self) -> usize {
        self.slots.iter().map(|s| s.deque.len()).sum()
    }

    /// True if any deque or the injector holds a job now, or the injector is closed (the
    /// worker must look again, to drain it or to leave): a look, for parking.
    fn work_visible(&self, rx: &Receiver<Job>) -> bool {
        !rx.is_empty() || rx.is_closed() || self.slots.iter().any(|s| !s.deque.is_empty())
    }

    /// Tries to become a searcher: false if half the awake workers already search.
    /// `awake_bound` is the pool's live worker count (a bound: the rule is a heuristic).
    pub(super) fn start_searching(&self, local: &mut Local, awake_bound: usize) -> bool {
        if local.searching {
            return true;
        }
        // Relaxed: a heuristic read; the count it guards is changed by the RMW below.
        let s = self.idle.load(Ordering::Relaxed);
        let awake = (awake_bound as u64).saturating_sub(parked(s)).max(1);
        if 2 * searching(s) >= awake {
            return false;
        }
        self.idle.fetch_add(SEARCH_ONE, Ordering::SeqCst);
        local.searching = true;
        true
    }

    /// Stops searching (the worker found a job, or leaves). The last searcher to stop
    /// wakes the next, if one is parked: the job it found may have company.
    pub(super) fn found(&self, local: &mut Local) {
        if self.stop_searching(local) {
            self.notify();
        }
    }

    /// True if this was the last searcher.
    fn stop_searching(&self, local: &mut Local) -> bool {
        if !local.searching {
            return false;
        }
        local.searching = false;
        searching(self.idle.fetch_sub(SEARCH_ONE, Ordering::SeqCst)) == 1
    }

    /// The wake rule, after a job went in: wakes one parked worker if nobody searches.
    pub(super) fn notify(&self) {
        // SeqCst fence: orders the caller's push before the load of `idle`, pairing with
        // the fence a parking worker makes between its RMW of `idle` and its last look.
        fence(Ordering::SeqCst);
        let s = self.idle.load(Ordering::SeqCst);
        if searching(s) != 0 || parked(s) == 0 {
            return;
        }
        self.wake(false);
    }

    /// Wakes every parked worker (shutdown, or the last worker leaving).
    pub(super) fn notify_all(&self) {
        fence(Ordering::SeqCst);
        if parked(self.idle.load(Ordering::SeqCst)) != 0 {
            self.wake(true);
        }
    }

    /// Takes sleepers off the list under its lock (one if nobody searches, or all), counts
    /// them searching, and completes their turns after the lock is released.
    #[cold]
    fn wake(&self, all: bool) {
        let woken: Vec<Sleeper> = {
            let mut list = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
            // SeqCst: re-read under the lock; `parked` cannot change while we hold it.
            let s = self.idle.load(Ordering::SeqCst);
            let take = if all {
                list.len()
            } else if searching(s) == 0 {
                list.len().min(1)
            } else {
                0
            };
            let start = list.len() - take;
            let woken: Vec<Sleeper> = list.drain(start..).collect();
            let n = woken.len() as u64;
            if n > 0 {
                // SeqCst: one of the condition writes notify's load pairs with.
                self.idle.fetch_add(
                    (SEARCH_ONE * n).wrapping_sub(PARKED_ONE * n),
                    Ordering::SeqCst,
                );
            }
            woken
        };
        for w in woken {
            self.slots[w.slot]
                .turn
                .complete(w.seq, w.seq.wrapping_add(1), sync::futex::ALL);
        }
    }

    /// Parks the worker owning `local.slot` until a waker picks it or `deadline` passes.
    /// The caller has searched and found nothing. See the module docs for the protocol.
    pub(super) fn park(
        &self,
        local: &mut Local,
        rx: &Receiver<Job>,
        deadline: Option<std::time::Instant>,
    ) -> Woke {
        let Some(i) = local.slot else {
            unreachable!("a worker without a slot parks on the injector")
        };
        let slot = &self.slots[i];
        // Relaxed: written only by this thread (the owner). It moves on only when a waker
        // completed the turn (a worker that takes itself off the list keeps it).
        let seq = slot.next_seq.load(Ordering::Relaxed);
        {
            let mut list = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
            let delta = if local.searching {
                PARKED_ONE.wrapping_sub(SEARCH_ONE)
            } else {
                PARKED_ONE
            };
            // SeqCst: the condition write the submit's fence-and-load pairs with.
            self.idle.fetch_add(delta, Ordering::SeqCst);
            local.searching = false;
            list.push(Sleeper { slot: i, seq });
        }
        // SeqCst fence: orders our RMW of `idle` before the last look (the other half of
        // the pairing in `notify`).
        fence(Ordering::SeqCst);
        if self.work_visible(rx) {
            // Work arrived while we registered: leave the list ourselves (or, if a waker
            // already took us off it, take its wake below).
            if self.unlist(i, true) {
                local.searching = true;
                return Woke::Searching;
            }
        }
        let how = How {
            policy: WaitPolicy::Park,
            deadline,
            spin: &self.spin,
            adapt: false,
            short: false,
        };
        let next = seq.wrapping_add(1);
        loop {
            match slot.turn.wait(next, sync::futex::ALL, how, || false) {
                Ok(_) => {
                    // A waker took us off the list, counted us searching, and completed
                    // our turn.
                    slot.next_seq.store(next, Ordering::Relaxed);
                    local.searching = true;
                    return Woke::Searching;
                }
                Err(Stopped::Timeout) => {
                    if self.unlist(i, false) {
                        return Woke::Timeout;
                    }
                    // A waker took us off the list first: its turn completion is on its
                    // way; wait for it without a deadline (it is counted searching).
                    let how = How {
                        deadline: None,
                        ..how
                    };
                    if slot
                        .turn
                        .wait(next, sync::futex::ALL, how, || false)
                        .is_ok()
                    {
                        slot.next_seq.store(next, Ordering::Relaxed);
                        local.searching = true;
                        return Woke::Searching;
                    }
                }
                Err(Stopped::Stop) => unreachable!("a park's stop condition is never true"),
            }
        }
    }

    /// Takes slot `i` off the sleeper list if it is still there (true), counting it as
    /// searching if `search`, else as awake and idle. False if a waker took it off first.
    fn unlist(&self, i: usize, search: bool) -> bool {
        let mut list = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(k) = list.iter().position(|s| s.slot == i) else {
            return false;
        };
        list.swap_remove(k);
        let delta = if search {
            SEARCH_ONE.wrapping_sub(PARKED_ONE)
        } else {
            0u64.wrapping_sub(PARKED_ONE)
        };
        self.idle.fetch_add(delta, Ordering::SeqCst);
        true
    }

    /// The search loop's pause after round `round` found nothing: spins that double, then
    /// yields. False once the worker has searched long enough to park.
    pub(super) fn pause(round: u32) -> bool {
        if round < SPIN_ROUNDS {
            for _ in 0..(1u32 << round) {
                sync::spin_loop();
            }
            true
        } else if round < SEARCH_ROUNDS {
            sync::yield_now();
            true
        } else {
            false
        }
    }
}

impl Drop for Sched {
    fn drop(&mut self) {
        // Jobs left in deques (a pool dropped while a job submitted from a job was never
        // run: only possible after abort) are abandoned, so their promises complete.
        for s in self.slots.iter() {
            while let Some(p) = s.deque.pop() {
                // SAFETY: as in `find`.
                drop(unsafe { Job::from_raw(p) });
            }
        }
    }
}
