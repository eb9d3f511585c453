//! One shared timer thread for every deadline of the crate: context deadlines and the
//! `after`/`tick` channels.
//!
//! Started on the first entry, it sleeps on a condition variable until the earliest entry in
//! its heap, then fires it; an entry may ask to fire again (a ticker). Entries know whether
//! anyone still cares (`Timed::alive`): a context held weakly, a channel with receivers, so
//! nothing is kept alive for its deadline, and dead entries are swept. With nothing pending
//! the thread sleeps without a timeout, so idle timers cost no CPU.
//!
//! Under loom there is no timer thread (loom cannot model a background OS thread), and the
//! loom models use no deadlines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
// std's primitives directly: this module exists only outside loom (see above).
use std::sync::{Condvar, Mutex, OnceLock};
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

struct Timer {
    /// The entries, the last sequence number, and the heap's length after the last sweep.
    heap: Mutex<(BinaryHeap<Reverse<Entry>>, u64, usize)>,
    wake: Condvar,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new((BinaryHeap::new(), 0, 0)),
            wake: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("lockgate-timer".into())
            .spawn(move || run(t))
            .expect("spawning lockgate's timer thread");
        t
    })
}

fn run(t: &'static Timer) {
    let mut guard = t.heap.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = Instant::now();
        let next = guard.0.peek().map(|Reverse(e)| e.at);
        match next {
            Some(at) if at <= now => {
                let Reverse(e) = guard.0.pop().expect("peeked");
                drop(guard);
                // Firing runs wakers and may drop the last handle of a context (a user
                // value's `Drop`): user code, which must not kill the timer thread.
                // An entry that is done is dropped here too, before the lock is taken again:
                // dropping a timer channel's last sender wakes its receivers (user code).
                let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    match e.what.fire(now) {
                        Some(at) => Some((at, e.what)),
                        None => None, // `e` drops here, inside the guard
                    }
                }))
                .unwrap_or(None);
                guard = t.heap.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, what)) = again {
                    guard.1 += 1;
                    let seq = guard.1;
                    guard.0.push(Reverse(Entry { at, seq, what }));
                }
            }
            Some(at) => {
                guard = t
                    .wake
                    .wait_timeout(guard, at - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            None => guard = t.wake.wait(guard).unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Arranges for `what` to fire at `at`.
pub(crate) fn schedule(at: Instant, what: Box<dyn Timed>) {
    let t = timer();
    let mut g = t.heap.lock().unwrap_or_else(|e| e.into_inner());
    g.1 += 1;
    let seq = g.1;
    // Dead entries (a dropped context, a timer channel nobody receives from) wait for their
    // instant, each keeping some memory. Sweep them whenever the heap has doubled since the
    // last sweep, so it stays within twice the live entries (amortized O(1) per schedule).
    if g.0.len() >= 64 && g.0.len() >= 2 * g.2 {
        g.0.retain(|Reverse(e)| e.what.alive());
        g.2 = g.0.len();
    }
    let earliest = g.0.peek().map_or(true, |Reverse(e)| at < e.at);
    g.0.push(Reverse(Entry { at, seq, what }));
    drop(g);
    if earliest {
        t.wake.notify_one();
    }
}
