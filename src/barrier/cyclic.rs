//! The cyclic barrier: a central counter with generations, spin-then-park.
//!
//! Algorithm. One 64-bit word holds `generation << GEN_SHIFT | BROKEN | count`. A thread
//! arrives with one `fetch_add(1)`; the value it gets back says which round it belongs to and
//! whether it is the last (the leader). The leader runs the trip action and then moves the
//! word to the next generation with one more `fetch_add`; everyone else spins on the word
//! (reads of a shared line: no traffic until it changes) and then parks in a wait list.
//!
//! Why a central counter, having read Mellor-Crummey & Scott ("Algorithms for scalable
//! synchronization on shared-memory multiprocessors", 1991): a dissemination or tournament
//! barrier needs only log2(P) transfers on its critical path against P serialized
//! `fetch_add`s here, which matters past a few dozen cores. But their arrivals cannot be taken
//! back: once a partner has consumed a flag, a thread that times out cannot withdraw, and
//! Java's semantics (a timeout breaks the round for everyone, a broken round is seen by every
//! waiter at once, `reset` breaks the waiting round) need exactly that. With a central word a
//! timeout is one compare-and-swap, and breaking, resetting and generation numbers are single
//! RMWs on the same word. At 2-16 threads the P serialized RMWs cost about as much as the
//! naive spinning barrier they are (one line transfer each), and the parking phase removes
//! the naive barrier's collapse when threads outnumber cores.
//!
//! Arrivals beyond a full round. With more threads than parties, a thread may arrive while
//! the leader is still running the action (the count is already `parties`). Its `fetch_add`
//! then counts it into a later round: arrival number `a` belongs to round `gen + a / parties`
//! and leads it if `a % parties == parties - 1`. The trip subtracts `parties` and adds one
//! generation in one `fetch_add`, so such early arrivals carry over. A leader of a later round
//! waits for its round to become current before it runs the action.
//!
//! Breaking. A timed-out waiter (only while its round is current and not yet full), a
//! panicking action, or `reset` sets `BROKEN`. While broken, `count` is the number of arrived
//! threads that have not yet returned; each acknowledges by decrementing it. `reset` moves a
//! broken word to a fresh generation `JUMP` ahead; if threads of the broken round have not yet
//! looked, it first records `(broken generation, count)` among the stragglers, so that a late
//! waiter that finds its generation passed can tell a reset from a trip.

use core::cell::Cell;
use core::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::context::Context;
use crate::sync::{thread_local, AtomicU64, AtomicUsize, Mutex, Ordering, UnsafeCell};
use crate::wait::{self, deadline_after, Until, WaitList, WaitPolicy, CLOSED, NOTIFIED};

use super::error::{BarrierCtxError, BrokenBarrier, WaitTimeoutError};

/// Bits of the word that count arrived threads.
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const BROKEN: u64 = 1 << COUNT_BITS;
const GEN_SHIFT: u32 = COUNT_BITS + 1;
const GEN_ONE: u64 = 1 << GEN_SHIFT;
/// Generations are compared modulo 2^GEN_BITS.
const GEN_BITS: u32 = 64 - GEN_SHIFT;
const GEN_MASK: u64 = (1 << GEN_BITS) - 1;
/// How far `reset` moves the generation: past every round an early arrival can belong to
/// (`a / parties < 2^COUNT_BITS`).
const JUMP: u64 = 1 << COUNT_BITS;

/// The most parties a [`CyclicBarrier`] can have (and the most threads that may wait at it at
/// once).
pub const MAX_PARTIES: usize = (1 << COUNT_BITS) - 1;

fn gen_of(s: u64) -> u64 {
    s >> GEN_SHIFT
}

fn count_of(s: u64) -> u64 {
    s & COUNT_MASK
}

/// True if generation `g` comes after `m` (modulo 2^GEN_BITS, within half the range).
fn after(g: u64, m: u64) -> bool {
    let d = g.wrapping_sub(m) & GEN_MASK;
    d != 0 && d < 1 << (GEN_BITS - 1)
}

/// What the last thread of a round runs before the round's threads are released.
type Action = Box<dyn FnMut() + Send>;

thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    /// The address of the barrier whose trip action this thread is running (0: none), so that
    /// a `wait` or `reset` from inside the action panics instead of waiting for itself.
    static IN_ACTION: Cell<usize> = Cell::new(0);
}

/// A reusable barrier for a fixed number of parties, with an optional trip action and Java's
/// `CyclicBarrier` semantics for timeouts, resets and panics.
///
/// Each call of [`wait`](CyclicBarrier::wait) arrives at the current round and returns once
/// `parties` threads have arrived; the last to arrive (the leader) runs the action first. If
/// the round breaks (a waiter timed out, [`reset`](CyclicBarrier::reset) was called while
/// threads waited, or the action panicked), every thread of the round returns
/// [`BrokenBarrier`] at once, and so does every later `wait` until `reset`. A thread that
/// panics or stops before it arrives cannot be seen: the others wait for it, as in Java (use
/// [`wait_timeout`](CyclicBarrier::wait_timeout) where that matters).
///
/// Waiters spin briefly (per the [`WaitPolicy`]) and then park, so the barrier holds up when
/// threads outnumber cores.
///
/// # Example
///
/// ```
/// use lockgate::barrier::CyclicBarrier;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let phases = Arc::new(AtomicUsize::new(0));
/// let p = phases.clone();
/// let barrier = CyclicBarrier::with_action(3, move || {
///     p.fetch_add(1, Ordering::SeqCst); // runs once per round, before anyone is released
/// });
/// std::thread::scope(|s| {
///     for _ in 0..3 {
///         s.spawn(|| {
///             for round in 1..=2 {
///                 barrier.wait().unwrap();
///                 assert!(phases.load(Ordering::SeqCst) >= round);
///             }
///         });
///     }
/// });
/// assert_eq!(phases.load(Ordering::SeqCst), 2);
/// ```
pub struct CyclicBarrier {
    /// `generation << GEN_SHIFT | BROKEN | count`. Every write is a SeqCst RMW (the condition
    /// write that `WaitList::has_waiters` pairs with); waiters read it SeqCst.
    state: CachePadded<AtomicU64>,
    parties: u64,
    waiters: WaitList<()>,
    /// Run only by a round's leader, after its round became current and before the trip.
    /// Leaders are therefore ordered one after another by `state` (see `lead`).
    action: UnsafeCell<Option<Action>>,
    /// `action.is_some()`, readable without touching the cell.
    has_action: bool,
    /// `(broken generation, threads of it that have not yet returned)`, recorded by `reset`.
    stragglers: Mutex<Vec<(u64, u64)>>,
    /// Mirrors `stragglers.len()`, so a waiter whose generation passed checks it with one
    /// load. Written under the `stragglers` lock, before the reset's `state` RMW through
    /// which a late waiter sees its round pass (see `ack_straggler`).
    straggling: AtomicUsize,
    policy: WaitPolicy,
}

// SAFETY: `action` is only touched by a round's leader, and leaders are serialized: the leader
// of round m runs it after observing (SeqCst load) the RMW that made m current, which comes
// after the previous leader's action in the RMW chain on `state`. Everything else is atomic
// or behind a lock. The action is `Send`, so it may run on any thread.
unsafe impl Sync for CyclicBarrier {}

/// What [`CyclicBarrier::wait`] returns to each thread of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
    generation: u64,
}

impl BarrierWaitResult {
    /// True for exactly one thread per round: the last to arrive, which ran the action.
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The round's generation number. It grows by one per round and jumps ahead on
    /// [`reset`](CyclicBarrier::reset); it wraps modulo 2^39.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl CyclicBarrier {
    /// A barrier for `parties` threads per round.
    ///
    /// # Panics
    /// If `parties == 0` or `parties > MAX_PARTIES`.
    pub fn new(parties: usize) -> Self {
        Self::build(parties, None)
    }

    /// A barrier whose last arriving thread runs `action` before the round's threads are
    /// released. If the action panics, the round breaks and the leader gets the panic back.
    ///
    /// # Panics
    /// If `parties == 0` or `parties > MAX_PARTIES`.
    pub fn with_action(parties: usize, action: impl FnMut() + Send + 'static) -> Self {
        Self::build(parties, Some(Box::new(action)))
    }

    fn build(parties: usize, action: Option<Action>) -> Self {
        assert!(parties > 0, "CyclicBarrier needs at least one party");
        assert!(
            parties <= MAX_PARTIES,
            "CyclicBarrier: {parties} parties exceed MAX_PARTIES ({MAX_PARTIES})"
        );
        CyclicBarrier {
            state: CachePadded::new(AtomicU64::new(0)),
            parties: parties as u64,
            waiters: WaitList::new(),
            has_action: action.is_some(),
            action: UnsafeCell::new(action),
            stragglers: Mutex::new(Vec::new()),
            straggling: AtomicUsize::new(0),
            policy: WaitPolicy::default(),
        }
    }

    /// The same barrier, waiting with `policy` before it parks.
    pub fn with_policy(mut self, policy: WaitPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Threads per round.
    pub fn parties(&self) -> usize {
        self.parties as usize
    }

    /// Threads waiting at the barrier now (a snapshot; 0 while broken).
    pub fn waiting(&self) -> usize {
        let s = self.state.load(Ordering::SeqCst);
        if s & BROKEN != 0 {
            0
        } else {
            count_of(s) as usize
        }
    }

    /// True if the current round is broken (until [`reset`](CyclicBarrier::reset)).
    pub fn is_broken(&self) -> bool {
        self.state.load(Ordering::SeqCst) & BROKEN != 0
    }

    /// Waits until `parties` threads have arrived.
    ///
    /// # Panics
    /// If called from this barrier's own trip action, which would wait for itself.
    pub fn wait(&self) -> Result<BarrierWaitResult, BrokenBarrier> {
        self.wait_until(Until::FOREVER).map_err(|_| BrokenBarrier)
    }

    /// Waits at most `timeout`. If it passes first, the round breaks: this thread gets
    /// [`WaitTimeoutError::Timeout`] and the others [`BrokenBarrier`]. If the round was
    /// already complete, the wait still succeeds. A trip action cannot be interrupted: while
    /// one runs (this thread's round is complete, or this thread arrived early for the next
    /// round), the deadline waits for it to finish.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, WaitTimeoutError> {
        self.wait_until(deadline_after(timeout).into())
    }

    /// Waits until `deadline` at most; as [`CyclicBarrier::wait_timeout`].
    pub fn wait_deadline(&self, deadline: Instant) -> Result<BarrierWaitResult, WaitTimeoutError> {
        self.wait_until(Some(deadline).into())
    }

    /// Waits until the round is complete or `ctx` is done (cancelled or past its deadline).
    /// A context that ends first breaks the round, exactly as a timeout does: this thread
    /// gets [`BarrierCtxError::Done`] and the others [`BrokenBarrier`]. A context already
    /// done fails the call before it arrives (the round is not touched).
    ///
    /// # Panics
    /// If called from this barrier's own trip action.
    pub fn wait_ctx(&self, ctx: &Context) -> Result<BarrierWaitResult, BarrierCtxError> {
        if let Some(e) = ctx.err() {
            return Err(BarrierCtxError::Done(e));
        }
        self.wait_until(ctx.until()).map_err(|e| match e {
            WaitTimeoutError::Timeout => BarrierCtxError::Done(ctx.err_after_wait()),
            WaitTimeoutError::Broken => BarrierCtxError::Broken,
        })
    }

    fn wait_until(&self, until: Until<'_>) -> Result<BarrierWaitResult, WaitTimeoutError> {
        self.not_in_action("wait");
        // AcqRel at least: each arrival's earlier writes must reach the leader (Acquire of
        // the release sequence on this word) and, through the trip, everyone. SeqCst, like
        // every RMW on this word, so there is one order to reason in.
        let prev = self.state.fetch_add(1, Ordering::SeqCst);
        let a = count_of(prev);
        debug_assert!(
            a < COUNT_MASK,
            "more than MAX_PARTIES threads waiting at once"
        );
        let gen = gen_of(prev);
        if prev & BROKEN != 0 {
            // Counted as a thread of the broken round: acknowledge at once.
            self.ack(gen, gen);
            return Err(WaitTimeoutError::Broken);
        }
        let round = (gen + a / self.parties) & GEN_MASK;
        let result = |leader| BarrierWaitResult {
            leader,
            generation: round,
        };
        if a % self.parties == self.parties - 1 {
            return self.lead(round).map(|()| result(true));
        }
        match self.follow(round, until) {
            Some(r) => r.map(|()| result(false)),
            None => self.time_out(round).map(|()| result(false)),
        }
    }

    /// Waits until round `m` ends or breaks, or `until` passes; `Some` with the outcome.
    fn follow(&self, m: u64, until: Until<'_>) -> Option<Result<(), WaitTimeoutError>> {
        let attempt = || self.judge(m, self.state.load(Ordering::SeqCst));
        self.wait_for(until, attempt)
    }

    /// The barrier's waiting path: poll the word after every pause for about a round's time
    /// (a round ends with one store everyone is reading), then park on the wait list.
    fn wait_for<R>(&self, until: Until<'_>, attempt: impl FnMut() -> Option<R>) -> Option<R> {
        let mut attempt = attempt;
        let past = || until.passed();
        if let Some(r) = wait::spin_poll(self.policy, past, &mut attempt) {
            return Some(r);
        }
        if past() {
            return attempt(); // one last look, without registering
        }
        let policy = match self.policy {
            WaitPolicy::Spin => WaitPolicy::Spin,
            _ => WaitPolicy::Park,
        };
        wait::wait_blocking(&self.waiters, policy, until, attempt)
    }

    /// The outcome for a thread of round `m`, given the word `s`, if `m` is over.
    fn judge(&self, m: u64, s: u64) -> Option<Result<(), WaitTimeoutError>> {
        let g = gen_of(s);
        if after(g, m) {
            // Round `m` ended: tripped, unless a reset broke it (then it left a record).
            return Some(if self.ack_straggler(m) {
                Err(WaitTimeoutError::Broken)
            } else {
                Ok(())
            });
        }
        if s & BROKEN != 0 {
            self.ack(g, m);
            return Some(Err(WaitTimeoutError::Broken));
        }
        None
    }

    /// The leader of round `m`: waits for `m` to become current, runs the action, trips.
    fn lead(&self, m: u64) -> Result<(), WaitTimeoutError> {
        let current = |s: u64| gen_of(s) == m && s & BROKEN == 0;
        let s = self.state.load(Ordering::SeqCst);
        if !current(s) {
            // An early arrival: a previous round's leader is still at work.
            let r = self.wait_for(Until::FOREVER, || {
                let s = self.state.load(Ordering::SeqCst);
                if current(s) {
                    Some(Ok(()))
                } else {
                    self.judge(m, s)
                }
            });
            r.expect("a wait without deadline ended")?;
        }
        if self.has_action {
            self.run_action();
        }
        // Trip: next generation, minus this round's arrivals (early arrivals carry over).
        self.state
            .fetch_add(GEN_ONE.wrapping_sub(self.parties), Ordering::SeqCst);
        self.waiters.notify_all(NOTIFIED);
        Ok(())
    }

    /// Runs the trip action as the leader of the current round. If it panics, breaks the
    /// round and resumes the panic.
    fn run_action(&self) {
        // Saved and restored: an action may itself lead a round of another barrier.
        let outer = IN_ACTION.with(|c| c.replace(self as *const Self as usize));
        let ran = panic::catch_unwind(AssertUnwindSafe(|| {
            self.action.with_mut(|a| {
                // SAFETY: only the current round's leader touches the action (see the
                // `Sync` impl); the caller leads the current round, so the previous round's
                // leader has tripped and left the action.
                if let Some(action) = unsafe { &mut *a } {
                    action();
                }
            })
        }));
        IN_ACTION.with(|c| c.set(outer));
        if let Err(payload) = ran {
            // Break the round, counting ourselves out. No one else can have broken it: a
            // full round cannot time out, and `reset` waits for a full round to finish.
            self.state
                .fetch_add(BROKEN.wrapping_sub(1), Ordering::SeqCst);
            self.waiters.notify_all(CLOSED);
            panic::resume_unwind(payload);
        }
    }

    /// A follower of round `m` whose deadline passed: breaks the round if it is current and
    /// not yet full; otherwise the round's fate is already sealed, and it waits for it.
    fn time_out(&self, m: u64) -> Result<(), WaitTimeoutError> {
        loop {
            let s = self.state.load(Ordering::SeqCst);
            if let Some(r) = self.judge(m, s) {
                return r;
            }
            if gen_of(s) != m {
                // We arrived early: an earlier round's leader is still at work. Wait (without
                // a deadline: an action cannot be interrupted) until that round ends, then
                // decide; Java's timed await likewise first waits for the barrier's lock.
                self.await_change(s);
                continue;
            }
            if count_of(s) >= self.parties {
                // All of `m` arrived and its leader is at work: the outcome is not ours to
                // decide. Wait for it without a deadline.
                return self
                    .follow(m, Until::FOREVER)
                    .expect("a wait without deadline ended");
            }
            // Break the round, counting ourselves out (we return now).
            if self
                .state
                .compare_exchange(s, (s | BROKEN) - 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                self.waiters.notify_all(CLOSED);
                return Err(WaitTimeoutError::Timeout);
            }
        }
    }

    /// A thread of round `m` acknowledges that the round broke; `g` is the broken generation
    /// it saw. Decrements the broken word's count, or the straggler record if a reset came
    /// first.
    fn ack(&self, mut g: u64, m: u64) {
        loop {
            let s = self.state.load(Ordering::SeqCst);
            if gen_of(s) != g || s & BROKEN == 0 {
                // Reset moved on; it recorded us among the stragglers.
                let found = self.ack_straggler(m);
                debug_assert!(found, "a broken round's thread missing from the records");
                return;
            }
            if self
                .state
                .compare_exchange(s, s - 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
            g = gen_of(s);
        }
    }

    /// If a reset broke round `m` before this thread looked, consumes this thread's share of
    /// the record and returns true.
    fn ack_straggler(&self, m: u64) -> bool {
        // Relaxed: `reset` stores `straggling` before its SeqCst RMW on `state`, and we saw
        // our round pass by reading that RMW (or a later one) with a SeqCst load, so the store
        // happens before this load. The records themselves are read under the mutex.
        if self.straggling.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut list = self.stragglers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(i) = list
            .iter()
            .position(|&(gb, _)| (m.wrapping_sub(gb) & GEN_MASK) < JUMP)
        else {
            return false;
        };
        list[i].1 -= 1;
        if list[i].1 == 0 {
            list.swap_remove(i);
            // Relaxed: under the lock; a stale nonzero only costs a reader the lock.
            self.straggling.store(list.len(), Ordering::Relaxed);
        }
        true
    }

    /// Breaks the current round if threads wait at it (they return [`BrokenBarrier`]), and
    /// starts a fresh, unbroken one. If a round is complete and its action is running, waits
    /// for it to finish first (as Java's `reset`, which takes the barrier's lock).
    ///
    /// Breaking and starting afresh are two steps: a thread that arrives between them gets
    /// [`BrokenBarrier`] as if it had been waiting.
    ///
    /// # Panics
    /// If called from this barrier's own trip action, which would wait for itself.
    pub fn reset(&self) {
        self.not_in_action("reset");
        loop {
            let s = self.state.load(Ordering::SeqCst);
            let (g, c) = (gen_of(s), count_of(s));
            if s & BROKEN == 0 {
                if c == 0 {
                    return; // no one waits and nothing is broken: already fresh
                }
                if c >= self.parties {
                    // A complete round is tripping: let it finish.
                    self.await_change(s);
                    continue;
                }
                if self
                    .state
                    .compare_exchange(s, s | BROKEN, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    self.waiters.notify_all(CLOSED);
                }
                continue;
            }
            let fresh = ((g + JUMP) & GEN_MASK) << GEN_SHIFT;
            if c == 0 {
                if self
                    .state
                    .compare_exchange(s, fresh, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return;
                }
                continue;
            }
            // Threads of the broken round have not looked yet: record them first.
            let mut list = self.stragglers.lock().unwrap_or_else(|e| e.into_inner());
            list.push((g, c));
            // Relaxed: published by the SeqCst RMW below (see `ack_straggler`).
            self.straggling.store(list.len(), Ordering::Relaxed);
            if self
                .state
                .compare_exchange(s, fresh, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                drop(list);
                self.waiters.notify_all(CLOSED);
                return;
            }
            list.pop();
            // Relaxed: the entry was never published by a successful RMW.
            self.straggling.store(list.len(), Ordering::Relaxed);
        }
    }

    fn not_in_action(&self, what: &str) {
        // `try_with`: from a thread-local destructor the check is skipped, not a panic.
        let running = IN_ACTION
            .try_with(|c| c.get() == self as *const Self as usize)
            .unwrap_or(false);
        if self.has_action && running {
            panic!("CyclicBarrier::{what} called from the barrier's own trip action");
        }
    }

    /// Waits until the word differs from `s` (a round in flight finishing).
    fn await_change(&self, s: u64) {
        self.wait_for(Until::FOREVER, || {
            (self.state.load(Ordering::SeqCst) != s).then_some(())
        });
    }
}

impl fmt::Debug for CyclicBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::SeqCst);
        f.debug_struct("CyclicBarrier")
            .field("parties", &self.parties)
            .field("generation", &gen_of(s))
            .field("count", &count_of(s))
            .field("waiting", &self.waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
