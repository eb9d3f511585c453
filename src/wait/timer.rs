//! The crate's one timer: fires context deadlines and the `after`/`tick` channels at their
//! instants.
//!
//! [`schedule`] arranges for an entry (a [`Timed`]) to fire at an instant; an entry may ask to
//! fire again (a ticker). Entries know whether anyone still cares (`Timed::alive`): a context
//! held weakly, a channel with receivers, so nothing is kept alive for its deadline.
//!
//! Algorithm: a binary min-heap of entries under one mutex, ordered by instant and, among
//! equal instants, by scheduling order. An entry is popped when due and fired outside the
//! lock, then pushed back if it asks to fire again. Dead entries (a dropped context, a
//! channel nobody receives from) wait for their instant, each keeping some memory; whenever
//! the heap has doubled since the last sweep (and holds 64 entries or more), a schedule
//! sweeps them, so the heap stays within twice the live entries at amortized O(1) per
//! schedule.
//!
//! # Normal builds: one thread
//!
//! One shared thread, started with the first entry, sleeps on a condition variable until the
//! earliest entry's instant, then fires it. Firing runs user code (wakers, a context value's
//! `Drop`, a channel's receivers woken by its last sender going), so a panic in it is caught
//! and the thread lives on. A schedule that makes a new earliest entry notifies the thread.
//! With nothing pending the thread sleeps without a timeout, so idle timers cost no CPU.
//!
//! # Loom and shuttle builds: a heap that the model advances
//!
//! A model checker cannot run a thread that never ends, nor wake one on a clock, so there the
//! timer has no thread. The heap is the same, in a global re-created for every execution,
//! under the shim's (modelled) mutex, and time passes only where a thread would sleep:
//!
//! - the timer keeps the model clock's alarm (`sync::set_alarm`) at the earliest instant it
//!   has an entry due or in flight, with `fire_due` as what fires it;
//! - a thread that parks with a deadline (`sync::park_until(Some(d))`) lets model time pass:
//!   if the alarm is at or before `d`, the thread sleeps until the alarm and takes the timer
//!   thread's part: it pops the earliest entry and fires it outside the lock, with the
//!   entry's own instant as the time of firing, and its park returns as a woken park does, so
//!   the caller re-checks its condition and parks again (and may fire the next entry);
//! - otherwise the park yields (the other threads run while it sleeps) and then reports its
//!   timeout, unless the alarm is due by `d` by then (an entry scheduled meanwhile, or one
//!   that another thread is firing: the timer fires one entry at a time, in order, as the
//!   thread does), in which case it returns as woken and its caller parks again.
//!
//! A firing needs no yield before it: each of its steps is a point where the checker may run
//! another thread, so the others interleave with it anyway. A yield there would instead hand
//! every runnable thread a step before any deadline could fire (loom never resumes a thread
//! that yielded before another has moved), so a deadline could hardly win a race against a
//! thread still on its way to the same point.
//!
//! So a model is deterministic (the timer reads no clock; the heap orders entries by instant
//! and sequence) and the checker explores a timer firing at every point where a thread parks
//! through its instant, each step of the firing interleaved with the other threads. A wait's
//! timeout is never reported before every entry due by its deadline has fired, which in
//! normal builds the clock check of a context's `err` guarantees instead: a wait that ends
//! with `DeadlineExceeded` finds its context expired. A park finds nothing to do at the cost
//! of reading the alarm, which the checkers do not see, so models without timer entries
//! explore what they always did.
//!
//! How it differs from the thread:
//!
//! - a timer fires only where a thread parks with a deadline. A model whose threads all park
//!   without one while an entry is pending (an async wait under `block_on`, a receive from an
//!   `after` channel) never fires it, and the checker reports a deadlock; so the
//!   `after`/`tick` channels, which their receivers wait on without a deadline, stay out of
//!   model builds;
//! - the firing thread acquires the entry's scheduling through the heap's lock, as the timer
//!   thread does, and then carries that order on into its own code, which the timer thread
//!   would not give it;
//! - entries are compared by their instants, read from the wall clock when a deadline is
//!   made: a model whose deadlines come from separate clock reads, close together, may order
//!   them differently from one execution to the next. Models derive their deadlines from one
//!   instant (`with_deadline(base + ..)`), or far apart, and far in the future, so that no
//!   clock check (`Context::err`) sees one pass;
//! - a panic in a firing is not caught: it fails the model.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Something the timer fires at its instant.
pub(crate) trait Timed: Send {
    /// Fires; returns when to fire again, if ever. Runs outside the timer's lock (on the timer
    /// thread; under a model checker, on the thread whose park reached the instant).
    fn fire(&self, now: Instant) -> Option<Instant>;
    /// False once nobody can observe a firing (the entry is swept).
    fn alive(&self) -> bool;
}

struct Entry {
    at: Instant,
    seq: u64,
    what: Box<dyn Timed>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The entries (a min-heap), the last sequence number, and the heap's length after the last
/// sweep. Used under the timer's lock.
struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    swept: usize,
}

impl Heap {
    fn new() -> Self {
        Heap {
            entries: BinaryHeap::new(),
            seq: 0,
            swept: 0,
        }
    }

    /// The earliest entry's instant.
    fn earliest(&self) -> Option<Instant> {
        self.entries.peek().map(|Reverse(e)| e.at)
    }

    /// Removes the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        if self.earliest()? <= now {
            self.entries.pop().map(|Reverse(e)| e)
        } else {
            None
        }
    }

    fn push(&mut self, at: Instant, what: Box<dyn Timed>) {
        self.seq += 1;
        let seq = self.seq;
        self.entries.push(Reverse(Entry { at, seq, what }));
    }

    /// Sweeps dead entries if the heap has doubled since the last sweep (see the module docs).
    fn sweep_if_grown(&mut self) {
        if self.entries.len() >= 64 && self.entries.len() >= 2 * self.swept {
            self.entries.retain(|Reverse(e)| e.what.alive());
            self.swept = self.entries.len();
        }
    }
}

/// Fires `entry` at `now` and hands it back if it asks to fire again; an entry that is done
/// is dropped here, before the caller takes the lock again (dropping a timer channel's last
/// sender wakes its receivers: user code).
fn fire(entry: Entry, now: Instant) -> Option<(Instant, Box<dyn Timed>)> {
    let Entry { what, .. } = entry;
    match what.fire(now) {
        Some(at) => Some((at, what)),
        None => None, // `what` drops here
    }
}

#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
mod imp {
    use std::time::Instant;

    use super::{fire, Heap, Timed};
    use crate::sync::{global, spawn_named, Condvar, Mutex};

    struct Timer {
        heap: Mutex<Heap>,
        /// Wakes the thread for a new earliest entry.
        wake: Condvar,
    }

    // The first use starts the thread, which takes the timer through `timer()` itself: it
    // waits there until this initialization is done.
    global!(timer: Timer = {
        spawn_named("lockgate-timer".into(), || run(timer()))
            .expect("spawning lockgate's timer thread");
        Timer {
            heap: Mutex::new(Heap::new()),
            wake: Condvar::new(),
        }
    });

    fn run(t: &'static Timer) {
        let mut guard = t.heap.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let now = Instant::now();
            if let Some(e) = guard.pop_due(now) {
                drop(guard);
                // Firing is user code, which must not kill the timer thread.
                let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fire(e, now)))
                    .unwrap_or(None);
                guard = t.heap.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, what)) = again {
                    guard.push(at, what);
                }
                continue;
            }
            guard = match guard.earliest() {
                Some(at) => {
                    t.wake
                        .wait_timeout(guard, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => t.wake.wait(guard).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// Arranges for `what` to fire at `at`.
    pub(crate) fn schedule(at: Instant, what: Box<dyn Timed>) {
        let t = timer();
        let mut g = t.heap.lock().unwrap_or_else(|e| e.into_inner());
        g.sweep_if_grown();
        let earliest = g.earliest().map_or(true, |first| at < first);
        g.push(at, what);
        drop(g);
        if earliest {
            t.wake.notify_one();
        }
    }
}

#[cfg(any(lockgate_loom, lockgate_shuttle))]
mod imp {
    use std::time::Instant;

    use super::{fire, Heap, Timed};
    use crate::sync::{self, global, Mutex};

    struct State {
        heap: Heap,
        /// The instant of the entry being fired, if one is: the timer fires one at a time.
        firing: Option<Instant>,
    }

    impl State {
        /// Points the model clock's alarm at the earliest instant with an entry due or in
        /// flight (or clears it). Called under the lock, after every change.
        fn set_alarm(&self) {
            let next = match (self.firing, self.heap.earliest()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            sync::set_alarm(next.map(|at| (at, fire_due as fn(Instant) -> bool)));
        }
    }

    struct Timer(Mutex<State>);

    impl Drop for Timer {
        /// The execution is over: its alarm must not ring in the next one.
        fn drop(&mut self) {
            sync::set_alarm(None);
        }
    }

    global!(timer: Timer = Timer(Mutex::new(State {
        heap: Heap::new(),
        firing: None,
    })));

    /// Arranges for `what` to fire at `at`: once some thread parks with a deadline at or
    /// after `at` (see the module docs).
    pub(crate) fn schedule(at: Instant, what: Box<dyn Timed>) {
        let mut g = timer().0.lock().unwrap_or_else(|e| e.into_inner());
        g.heap.sweep_if_grown();
        g.heap.push(at, what);
        g.set_alarm();
    }

    /// The alarm's function, run by a thread whose timed park reached the alarm (`deadline`
    /// is that park's): fires the earliest entry if it is due by `deadline` and no other
    /// firing is in flight, and returns true; else returns false (the park yields and
    /// returns as woken, and its caller parks again, by when that firing may be done).
    pub(super) fn fire_due(deadline: Instant) -> bool {
        let t = timer();
        let entry = {
            let mut g = t.0.lock().unwrap_or_else(|e| e.into_inner());
            if g.firing.is_some() {
                return false;
            }
            let Some(e) = g.heap.pop_due(deadline) else {
                return false;
            };
            g.firing = Some(e.at);
            g.set_alarm();
            e
        };
        let at = entry.at;
        // Model time is the entry's instant: it fires on time.
        let again = fire(entry, at);
        let mut g = t.0.lock().unwrap_or_else(|e| e.into_inner());
        g.firing = None;
        if let Some((at, what)) = again {
            g.heap.push(at, what);
        }
        g.set_alarm();
        true
    }
}

pub(crate) use imp::schedule;
