//! The turn wait: waiting until a slot's turn word reaches a value (the fetch-and-add ticket
//! paths of the ring and the bounded channel).
//!
//! # Algorithm
//!
//! The turn sequencer of Folly's `MPMCQueue` (`TurnSequencer`), in our own form. Each slot of
//! a ring carries one 32-bit word:
//!
//! ```text
//!   bits 8..32  the slot's turn: a sequence number, modulo 2^24
//!   bits 6..8   POKES: a counter (mod 4) bumped to break sleepers out without moving the
//!               turn (close, disconnection)
//!   bits 0..6   SLEEPERS: threads asleep on this word, up to 63 (63 is sticky)
//! ```
//!
//! A waiter checks the turn; if it has not come, it spins for an adaptive number of checks,
//! yields a few times, then registers as a sleeper (one CAS: `SLEEPERS + 1`) and sleeps on the
//! word with the futex of `sync::futex`, with a mask bit chosen by the turn it waits for. The
//! thread that completes a turn moves it on with one `fetch_add` (the sleeper field rides
//! along untouched) and, only if that RMW returned sleepers, wakes the ones whose mask matches
//! the new turn, in one system call. With nobody asleep a hand-off costs the RMW and nothing
//! more: no lock, no list, no syscall.
//!
//! The sequence is the slot's: for a ring of capacity `n`, ticket `t` owns slot `t mod n` and
//! its turns are `2t` (the producer's) and `2t + 1` (the consumer's). Truncated to 24 bits, a
//! distance is read as a signed 24-bit number: waiters on one slot are never 2^23 turns apart
//! (each waiter is a thread holding one ticket), and a stale reader of another ticket's turn
//! only ever acts on it through a CAS on the ring's 64-bit counter, which fails.
//!
//! # Why no wake-up is lost
//!
//! - Completion: the waiter's registering CAS expects the turn it saw. If the completer's
//!   `fetch_add` came first, the CAS fails and the waiter re-reads the new turn. If it came
//!   after, it returns the sleeper count, so the completer wakes; and the futex compares the
//!   word with what the waiter last wrote before sleeping, so a wake between the CAS and the
//!   sleep finds the word changed and the sleep returns at once.
//! - Stop conditions (close, disconnection): the stopper writes its condition (SeqCst), then
//!   [`Turn::poke`] loads the word (SeqCst). The waiter registers (a SeqCst RMW), then reads the
//!   condition (SeqCst). In the single order of SeqCst operations one of the two loads sees the
//!   other side's write: either the waiter sees the stop, or the stopper sees a sleeper and
//!   bumps `POKES` before waking, so the sleep, comparing the word, cannot begin after the
//!   wake and miss it. A counter, not a toggled bit: two pokes of a toggle would give back
//!   the very word a late sleeper compares against. A structure pokes a word at most twice
//!   (a ring's close, a channel's last receiver leaving), so the count never wraps to its
//!   start.

use std::time::Instant;

use crate::sync::{self, futex, AtomicU32, Ordering};

use super::hook::Watch;
use super::WaitPolicy;

/// The sleeper count's field (and its sticky maximum).
const SLEEPERS: u32 = (1 << 6) - 1;
/// The poke counter's field, and its unit.
const POKES: u32 = 3 << 6;
const POKE: u32 = 1 << 6;
/// Everything below the turn.
const LOW: u32 = SLEEPERS | POKES;
/// Where the turn starts.
const SHIFT: u32 = 8;

/// Spin checks before the first adaptive cutoff is learnt, and its bounds. A check is one
/// `pause` and one load: tens of nanoseconds, so the ceiling is some tens of microseconds, the
/// cost of a sleep and a wake-up.
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
mod limits {
    pub(super) const INITIAL: u32 = 512;
    pub(super) const MIN: u32 = 64;
    pub(super) const MAX: u32 = 2048;
    /// Yields after the spin, for a partner that is not running (oversubscribed machines).
    pub(super) const YIELDS: u32 = 4;
}
// Under the model checkers a spin is a yield: one check and no yield phase under loom keeps
// the models small; a short phase under shuttle (see `backoff.rs`).
#[cfg(lockgate_loom)]
mod limits {
    pub(super) const INITIAL: u32 = 1;
    pub(super) const MIN: u32 = 1;
    pub(super) const MAX: u32 = 1;
    pub(super) const YIELDS: u32 = 0;
}
#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
mod limits {
    pub(super) const INITIAL: u32 = 2;
    pub(super) const MIN: u32 = 2;
    pub(super) const MAX: u32 = 2;
    pub(super) const YIELDS: u32 = 1;
}

/// Why a turn wait ended without the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The caller's stop condition held.
    Stop,
    /// The deadline passed.
    Timeout,
}

/// A slot's turn word (see the module docs).
pub(crate) struct Turn {
    /// The turn (bits 8..32), the poke counter and the sleeper count. Every change of the turn is a
    /// SeqCst `fetch_add` by the thread whose turn it was; sleepers change only their count.
    state: AtomicU32,
}

impl Turn {
    /// A word whose turn is `seq`, with nobody asleep.
    pub(crate) fn new(seq: u64) -> Self {
        Turn {
            state: AtomicU32::new(pack(seq)),
        }
    }

    /// The word, for [`distance`] and [`is_odd`].
    #[inline(always)]
    #[cfg_attr(lockgate_count, track_caller)]
    pub(crate) fn load(&self, order: Ordering) -> u32 {
        self.state.load(order)
    }

    /// Moves the turn from `from` (the caller's own, current turn) to `to`, and wakes the
    /// sleepers whose mask meets `mask` if anyone sleeps on this word. SeqCst: the RMW is the
    /// condition write that wait lists pair with (see `WaitList::has_waiters`), and it orders
    /// the caller's work on the slot before the next turn's (a Release the Acquire loads of
    /// [`Turn::wait`] and the ring pair with).
    #[inline]
    #[cfg_attr(lockgate_count, track_caller)]
    pub(crate) fn complete(&self, from: u64, to: u64, mask: u32) {
        let delta = pack(to).wrapping_sub(pack(from));
        let prev = self.state.fetch_add(delta, Ordering::SeqCst);
        debug_assert_eq!(
            distance(prev, from),
            0,
            "completing a turn that is not ours"
        );
        if prev & SLEEPERS != 0 {
            futex::wake(&self.state, mask);
        }
    }

    /// Breaks every sleeper on this word out of its sleep without moving the turn. The
    /// caller has made its stop condition true with a SeqCst write first (see the module
    /// docs); this load is the other half of that pairing.
    pub(crate) fn poke(&self) {
        // Loom does not order a SeqCst store before a SeqCst load of another location (the
        // store-buffering outcome); the fence pairs with the one after registering in
        // `sleep`, as `WaitList::has_waiters` does. Normal and shuttle builds need none.
        #[cfg(lockgate_loom)]
        sync::full_fence();
        if self.state.load(Ordering::SeqCst) & SLEEPERS != 0 {
            // Bump the counter within its field (a carry would move the turn).
            let bump = |s: u32| Some((s & !POKES) | (s.wrapping_add(POKE) & POKES));
            let _ = self
                .state
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, bump);
            futex::wake(&self.state, futex::ALL);
        }
    }

    /// Waits until the turn reaches or passes `seq`: `Ok` then (a ticket holder's turn
    /// cannot pass without it, so for one `Ok` means its turn has come), with `true` if the
    /// wait outlasted its spin phase (it yielded or slept: the thread it waited for was
    /// probably not running). Sleeps with `mask`,
    /// the bit the completer of that turn wakes. Gives up when `stop()` holds (checked before
    /// every sleep, after registering) or `how.deadline` passes.
    pub(crate) fn wait(
        &self,
        seq: u64,
        mask: u32,
        how: How<'_>,
        stop: impl Fn() -> bool,
    ) -> Result<bool, Stopped> {
        let How {
            policy,
            deadline,
            spin,
            adapt,
            short,
        } = how;
        // Acquire: pairs with the completer's SeqCst `fetch_add` (a release of its slot work).
        let reached = || distance(self.state.load(Ordering::Acquire), seq) <= 0;
        if reached() {
            return Ok(false);
        }
        match policy {
            WaitPolicy::Park => {}
            WaitPolicy::Spin => {
                let mut i: u32 = 0;
                loop {
                    sync::spin_loop();
                    if reached() {
                        return Ok(i >= 1024);
                    }
                    i = i.wrapping_add(1);
                    if i % 64 == 0 {
                        // Never parks, but lets a preempted ticket holder ahead of us run
                        // now and then: turns are served in order, so only it can help.
                        if i % 1024 == 0 {
                            sync::yield_now();
                        }
                        if stop() {
                            return Err(Stopped::Stop);
                        }
                        if deadline.is_some_and(sync::deadline_passed) {
                            return Err(Stopped::Timeout);
                        }
                    }
                }
            }
            WaitPolicy::Adaptive => {
                // A teaching wait spins to the ceiling, to measure what the turn needs.
                let limit = if adapt {
                    limits::MAX
                } else if short {
                    limits::MIN
                } else {
                    spin.get()
                };
                for i in 0..limit {
                    sync::spin_loop();
                    if reached() {
                        if adapt {
                            spin.learn(Some(i));
                        }
                        return Ok(false);
                    }
                }
                if adapt {
                    spin.learn(None);
                }
                for _ in 0..limits::YIELDS {
                    sync::yield_now();
                    if reached() {
                        return Ok(true);
                    }
                }
            }
        }
        self.sleep(seq, mask, deadline, stop).map(|()| true)
    }

    /// The sleeping phase of [`Turn::wait`].
    #[cold]
    fn sleep(
        &self,
        seq: u64,
        mask: u32,
        deadline: Option<Instant>,
        stop: impl Fn() -> bool,
    ) -> Result<(), Stopped> {
        // A pool's worker reports a long wait to its pool (see `hook.rs`).
        let mut watch = Watch::new();
        loop {
            // SeqCst: the registering CAS below expects this value.
            let state = self.state.load(Ordering::SeqCst);
            if distance(state, seq) <= 0 {
                return Ok(());
            }
            if stop() {
                return Err(Stopped::Stop);
            }
            // Register, unless the count is at its sticky maximum (then every completion
            // wakes, and nobody needs to count).
            let registered = state & SLEEPERS != SLEEPERS;
            let expected = if registered {
                match self.state.compare_exchange(
                    state,
                    state + 1,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(_) => state + 1,
                    Err(_) => continue, // the turn moved, or a peer registered: look again
                }
            } else {
                state
            };
            // Registered once, the thread sleeps until its turn, its stop or its deadline; a
            // futex return with the word changed by anything else (a peer registering or
            // leaving, a poke) only refreshes the value it sleeps against.
            let mut expected = expected;
            let result = loop {
                // SeqCst, after the registration: pairs with the stopper's write and `poke`
                // (under loom with a fence, see `poke`).
                #[cfg(lockgate_loom)]
                sync::full_fence();
                if stop() {
                    break Err(Stopped::Stop);
                }
                super::pause_point!(Parking);
                let passed =
                    watch.park_with(deadline, |d| futex::wait(&self.state, expected, mask, d));
                super::pause_point!(Woke);
                // SeqCst: the next sleep compares against this value.
                let now = self.state.load(Ordering::SeqCst);
                if distance(now, seq) <= 0 {
                    break Ok(());
                }
                if passed {
                    break Err(Stopped::Timeout);
                }
                expected = now;
            };
            self.leave(registered);
            return result;
        }
    }

    /// Takes back a registration (never from the sticky maximum: a count that saturated
    /// stays, since the sleepers it no longer counts must still be woken).
    fn leave(&self, registered: bool) {
        if !registered {
            return;
        }
        let mut s = self.state.load(Ordering::Relaxed);
        // Relaxed: the count orders nothing; only its being non-zero matters, and it stays
        // so until this RMW, which is ours.
        while s & SLEEPERS != SLEEPERS {
            match self
                .state
                .compare_exchange_weak(s, s - 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }
}

/// How a [`Turn::wait`] waits.
#[derive(Clone, Copy)]
pub(crate) struct How<'a> {
    pub(crate) policy: WaitPolicy,
    pub(crate) deadline: Option<Instant>,
    /// The structure's adaptive cutoff.
    pub(crate) spin: &'a SpinCutoff,
    /// Whether this wait teaches the cutoff (one wait in many, so that its line stays
    /// read-mostly).
    pub(crate) adapt: bool,
    /// Spin only the floor of the cutoff: for a thread that has seen its partners
    /// descheduled (late binding in the ring), where a long spin mostly waits for a thread
    /// that is not running.
    pub(crate) short: bool,
}

impl<'a> How<'a> {
    /// Waits by `policy` with no deadline, teaching `spin` if `adapt`.
    pub(crate) fn new(policy: WaitPolicy, spin: &'a SpinCutoff, adapt: bool) -> Self {
        How {
            policy,
            deadline: None,
            spin,
            adapt,
            short: false,
        }
    }
}

/// `seq`, placed in the turn bits.
#[inline(always)]
fn pack(seq: u64) -> u32 {
    (seq as u32) << SHIFT
}

/// How many turns `seq` is ahead of the word `state`'s turn: 0 when it is the turn now,
/// positive while it is to come, negative once it has passed (signed, modulo 2^24).
#[inline(always)]
pub(crate) fn distance(state: u32, seq: u64) -> i32 {
    (pack(seq).wrapping_sub(state & !LOW) as i32) >> SHIFT
}

/// True if the word's turn is odd (a ring slot holding a value).
#[inline(always)]
pub(crate) fn is_odd(state: u32) -> bool {
    (state >> SHIFT) & 1 == 1
}

/// A structure's adaptive spin cutoff (Folly's `TurnSequencer` adapts its spin the same
/// way): a moving average of twice the checks that teaching waits needed before their turn
/// came, within bounds; a teaching wait whose turn did not come within the ceiling pulls it
/// to the floor.
pub(crate) struct SpinCutoff {
    /// Checks to spin. Read and written Relaxed: a heuristic that orders nothing.
    checks: AtomicU32,
}

impl SpinCutoff {
    pub(crate) fn new() -> Self {
        SpinCutoff {
            checks: AtomicU32::new(limits::INITIAL),
        }
    }

    #[inline]
    fn get(&self) -> u32 {
        if cfg!(any(lockgate_loom, lockgate_shuttle)) {
            return limits::INITIAL; // a fixed phase keeps model schedules short
        }
        self.checks.load(Ordering::Relaxed)
    }

    /// Moves the cutoff an eighth of the way to twice the checks a teaching wait `needed`,
    /// or to the floor if it needed more than the ceiling (spinning was no use then: the
    /// partner was not running, or far away).
    fn learn(&self, needed: Option<u32>) {
        if cfg!(any(lockgate_loom, lockgate_shuttle)) {
            return;
        }
        let target = needed.map_or(limits::MIN, |n| {
            n.saturating_mul(2).clamp(limits::MIN, limits::MAX)
        });
        let old = self.checks.load(Ordering::Relaxed);
        let new = (old - old / 8 + target / 8).clamp(limits::MIN, limits::MAX);
        if new != old {
            self.checks.store(new, Ordering::Relaxed);
        }
    }
}

impl core::fmt::Debug for SpinCutoff {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpinCutoff").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle, lockgate_count))))]
mod tests {
    use super::*;

    #[test]
    fn distance_reads_wrapped_turns() {
        let w = Turn::new(10);
        let s = w.load(Ordering::Relaxed);
        assert_eq!(distance(s, 10), 0);
        assert_eq!(distance(s, 13), 3);
        assert_eq!(distance(s, 7), -3);
        // Across the 24-bit wrap.
        let w = Turn::new((1 << 24) - 1);
        let s = w.load(Ordering::Relaxed);
        assert_eq!(distance(s, 1 << 24), 1);
        assert_eq!(distance(s, (1 << 24) + 5), 6);
        assert!(is_odd(s));
    }

    #[test]
    fn complete_keeps_the_sleeper_count() {
        let w = Turn::new(4);
        w.state.fetch_add(3, Ordering::SeqCst); // three registered sleepers
        w.complete(4, 5, futex::ALL);
        let s = w.load(Ordering::Relaxed);
        assert_eq!(distance(s, 5), 0);
        assert_eq!(s & SLEEPERS, 3);
        // A lap of a 1000-slot ring: 5 -> 2 * (2 + 1000).
        w.complete(5, 2004, futex::ALL);
        assert_eq!(distance(w.load(Ordering::Relaxed), 2004), 0);
    }

    #[test]
    fn a_sleeper_is_woken_by_its_turn_and_by_a_poke() {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use std::sync::Arc;
        let w = Arc::new(Turn::new(0));
        let cut = Arc::new(SpinCutoff::new());
        let w2 = w.clone();
        let c2 = cut.clone();
        let t = std::thread::spawn(move || {
            w2.wait(2, 1, How::new(WaitPolicy::Park, &c2, false), || false)
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        w.complete(0, 1, 1);
        w.complete(1, 2, 1);
        assert_eq!(t.join().unwrap(), Ok(true));
        assert_eq!(w.load(Ordering::Relaxed) & SLEEPERS, 0, "the sleeper left");

        let stop = Arc::new(AtomicBool::new(false));
        let (w2, c2, s2) = (w.clone(), cut.clone(), stop.clone());
        let t = std::thread::spawn(move || {
            w2.wait(9, 4, How::new(WaitPolicy::Park, &c2, false), || {
                s2.load(SeqCst)
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        stop.store(true, SeqCst);
        w.poke();
        assert_eq!(t.join().unwrap(), Err(Stopped::Stop));
        // Two pokes never give back the word a late sleeper compares against.
        w.state.fetch_add(1, Ordering::SeqCst); // a registered sleeper
        let before = w.load(Ordering::Relaxed);
        w.poke();
        w.poke();
        let after = w.load(Ordering::Relaxed);
        assert_ne!(before, after);
        assert_eq!(
            distance(after, 9),
            distance(before, 9),
            "a poke moved the turn"
        );
        w.state.fetch_sub(1, Ordering::SeqCst);
        let deadline = Instant::now() + std::time::Duration::from_millis(5);
        let how = How {
            deadline: Some(deadline),
            ..How::new(WaitPolicy::Park, &cut, false)
        };
        let r = w.wait(9, 4, how, || false);
        assert_eq!(r, Err(Stopped::Timeout));
        assert!(Instant::now() >= deadline);
    }
}
