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
//! # Loom and shuttle builds
//!
//! Left out for now: a model checker cannot run a thread that never ends, and the models use
//! no context deadlines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Something the timer fires at its instant.
pub(crate) trait Timed: Send {
    /// Fires; returns when to fire again, if ever. Runs on the timer thread, outside its lock.
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

pub(crate) use imp::schedule;
