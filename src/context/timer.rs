//! One shared timer thread for every context deadline.
//!
//! Started on the first deadline, it sleeps on a condition variable until the earliest
//! deadline in its heap, then cancels that context (with `DeadlineExceeded`) if it is still
//! alive. Contexts are held weakly: a dropped context costs the timer one failed upgrade, and
//! nothing keeps a context alive for its deadline. With no deadlines pending the thread
//! sleeps without a timeout, so idle timers cost no CPU.
//!
//! Under loom there is no timer thread (loom cannot model a background OS thread), and the
//! loom models use no deadlines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
// std's primitives directly: this module exists only outside loom (see above).
use std::sync::{Condvar, Mutex, OnceLock, Weak};
use std::time::Instant;

use super::Node;

struct Entry {
    at: Instant,
    seq: u64,
    node: Weak<Node>,
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
                // Expiring runs wakers and may drop the last handle of a context (a user
                // value's `Drop`): user code, which must not kill the timer thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if let Some(node) = e.node.upgrade() {
                        node.expire();
                    }
                }));
                guard = t.heap.lock().unwrap_or_else(|e| e.into_inner());
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

/// Arranges for `node` to expire at `at`.
pub(super) fn schedule(at: Instant, node: Weak<Node>) {
    let t = timer();
    let mut g = t.heap.lock().unwrap_or_else(|e| e.into_inner());
    g.1 += 1;
    let seq = g.1;
    // Entries of contexts that are gone wait for their deadline, each keeping a node's
    // memory (its `Weak`). Sweep them whenever the heap has doubled since the last sweep, so
    // it stays within twice the live timed contexts (amortized O(1) per schedule).
    if g.0.len() >= 64 && g.0.len() >= 2 * g.2 {
        g.0.retain(|Reverse(e)| e.node.strong_count() > 0);
        g.2 = g.0.len();
    }
    let earliest = g.0.peek().map_or(true, |Reverse(e)| at < e.at);
    g.0.push(Reverse(Entry { at, seq, node }));
    drop(g);
    if earliest {
        t.wake.notify_one();
    }
}
