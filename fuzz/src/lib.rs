//! Differential checkers: bytes become operation sequences, run against lockgate and against a
//! plain model, and every result is compared. The fuzz targets in `fuzz_targets/` call these;
//! `tests/differential.rs` in the main crate runs the same checkers over the seed corpus and
//! a deterministic batch of inputs on every `cargo test`.
//!
//! The single-threaded checkers replay exactly; `check_ring_queue_threaded` trades replay for
//! real races and checks conservation instead of exact results.

mod prims;
mod promise;
mod select;
mod workers;

pub use prims::{check_context, check_counts, check_pool, check_pubsub, check_semaphore};
pub use promise::check_promise;
pub use select::check_select;
pub use workers::{check_group, check_pipeline, check_stealing, check_workers};

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use lockgate::channel::{
    bounded, unbounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use lockgate::queue::{RingQueue, ScqQueue};

/// The operations both lockgate queues offer, so one checker covers both.
pub trait Queue<T> {
    fn with_capacity(cap: usize) -> Self;
    fn push(&self, v: T) -> Result<(), T>;
    fn pop(&self) -> Option<T>;
    fn force_push(&self, v: T) -> Option<T>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
    fn is_full(&self) -> bool;
    fn capacity(&self) -> usize;
    /// `RingQueue::pop_into`; a loop of pops for queues without a batch form.
    fn pop_batch(&self, out: &mut Vec<T>, max: usize) -> usize;
    /// The queue as a `RingQueue`, for its blocking forms (`push_wait`, `pop_wait` and
    /// their timed forms); `None` for queues without them.
    fn ring(&self) -> Option<&RingQueue<T>>;
}

macro_rules! impl_queue {
    ($q:ident, $batch:expr, $ring:expr) => {
        impl<T> Queue<T> for $q<T> {
            fn with_capacity(cap: usize) -> Self {
                $q::new(cap)
            }
            fn push(&self, v: T) -> Result<(), T> {
                $q::push(self, v)
            }
            fn pop(&self) -> Option<T> {
                $q::pop(self)
            }
            fn force_push(&self, v: T) -> Option<T> {
                $q::force_push(self, v)
            }
            fn len(&self) -> usize {
                $q::len(self)
            }
            fn is_empty(&self) -> bool {
                $q::is_empty(self)
            }
            fn is_full(&self) -> bool {
                $q::is_full(self)
            }
            fn capacity(&self) -> usize {
                $q::capacity(self)
            }
            fn pop_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
                $batch(self, out, max)
            }
            fn ring(&self) -> Option<&RingQueue<T>> {
                $ring(self)
            }
        }
    };
}
impl_queue!(
    RingQueue,
    |q: &RingQueue<T>, out: &mut Vec<T>, max| q.pop_into(out, max),
    Some
);
impl_queue!(
    ScqQueue,
    |q: &ScqQueue<T>, out: &mut Vec<T>, max| {
        let mut n = 0;
        while n < max {
            match q.pop() {
                Some(v) => out.push(v),
                None => break,
            }
            n += 1;
        }
        n
    },
    |_: &ScqQueue<T>| None
);

/// A value that counts its drops, so the checkers prove no leak and no double drop.
struct Tracked {
    id: u64,
    drops: Rc<Cell<u64>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// Capacities worth hitting: the edges (1, powers of two and their neighbours) and a few more.
fn capacity(byte: u8) -> usize {
    const CAPS: [usize; 12] = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64];
    CAPS[byte as usize % CAPS.len()]
}

/// Both queues against `VecDeque`: push, pop, force_push, pop_into, and the size queries.
pub fn check_ring_queue(data: &[u8]) {
    check_queue::<RingQueue<Tracked>>(data);
    check_queue::<ScqQueue<Tracked>>(data);
}

fn check_queue<Q: Queue<Tracked>>(data: &[u8]) {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let cap = capacity(first);
    let drops = Rc::new(Cell::new(0u64));
    let mut created = 0u64;
    let mut dropped_by_us = 0u64;
    let q = Q::with_capacity(cap);
    let mut model: VecDeque<u64> = VecDeque::new();
    let make = |created: &mut u64| {
        *created += 1;
        Tracked {
            id: *created,
            drops: drops.clone(),
        }
    };
    for &op in ops {
        match op % 5 {
            0 => {
                let v = make(&mut created);
                let id = v.id;
                // The ring's blocking forms, where they cannot block: a `push_wait` only with
                // room (it would wait for a pop otherwise), a timed push with no time to wait.
                let pushed = match (q.ring(), (op / 5) % 3) {
                    (Some(r), 1) if model.len() < cap => {
                        r.push_wait(v);
                        Ok(())
                    }
                    (Some(r), 1 | 2) => r.push_wait_timeout(v, Duration::ZERO),
                    _ => q.push(v),
                };
                match pushed {
                    Ok(()) => {
                        assert!(model.len() < cap, "push succeeded on a full queue");
                        model.push_back(id);
                    }
                    Err(back) => {
                        assert_eq!(model.len(), cap, "push failed on a queue with room");
                        assert_eq!(back.id, id, "push handed back another value");
                        dropped_by_us += 1;
                    }
                }
            }
            1 => {
                let popped = match (q.ring(), (op / 5) % 3) {
                    (Some(r), 1) if !model.is_empty() => Some(r.pop_wait()),
                    (Some(r), 1 | 2) => r.pop_wait_timeout(Duration::ZERO),
                    _ => q.pop(),
                };
                let got = popped.map(|v| {
                    dropped_by_us += 1;
                    v.id
                });
                assert_eq!(got, model.pop_front(), "pop");
            }
            2 => {
                let v = make(&mut created);
                let id = v.id;
                let evicted = q.force_push(v).map(|v| {
                    dropped_by_us += 1;
                    v.id
                });
                let expect = if model.len() == cap {
                    model.pop_front()
                } else {
                    None
                };
                model.push_back(id);
                assert_eq!(evicted, expect, "force_push");
            }
            3 => {
                let max = (op / 5) as usize % (cap + 2);
                let mut out = Vec::new();
                let n = q.pop_batch(&mut out, max);
                assert_eq!(n, out.len(), "pop_into count");
                assert_eq!(n, max.min(model.len()), "pop_into took the wrong number");
                for v in out {
                    assert_eq!(Some(v.id), model.pop_front(), "pop_into order");
                    dropped_by_us += 1;
                }
            }
            _ => {
                assert_eq!(q.len(), model.len(), "len");
                assert_eq!(q.is_empty(), model.is_empty(), "is_empty");
                assert_eq!(q.is_full(), model.len() == cap, "is_full");
                assert_eq!(q.capacity(), cap, "capacity");
            }
        }
        assert_eq!(
            drops.get(),
            dropped_by_us,
            "a value was dropped inside the queue"
        );
    }
    drop(q);
    assert_eq!(
        drops.get(),
        created,
        "leak or double drop when the queue was dropped"
    );
}

/// The channel's non-blocking API against a model: `try_send`, `try_recv`, zero timeouts,
/// cloning and dropping handles (disconnection), `close` from either end, for buffered,
/// unbounded and rendezvous channels.
pub fn check_channel(data: &[u8]) {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    // 0: rendezvous; 1: unbounded (its capacity is `usize::MAX`); else a small buffer.
    let cap = match first % 5 {
        0 => 0,
        1 => usize::MAX,
        _ => capacity(first),
    };
    let drops = Rc::new(Cell::new(0u64));
    let mut created = 0u64;
    let mut dropped_by_us = 0u64;
    let (tx, rx) = if cap == usize::MAX {
        unbounded::<Tracked>()
    } else {
        bounded::<Tracked>(cap)
    };
    let mut senders: Vec<Sender<Tracked>> = vec![tx];
    let mut receivers: Vec<Receiver<Tracked>> = vec![rx];
    // The model: the buffered values, and whether each side still has a handle.
    let mut model: VecDeque<u64> = VecDeque::new();
    let mut closed = false;
    for pair in ops.chunks(2) {
        let op = pair[0];
        let pick = pair.get(1).copied().unwrap_or(0) as usize;
        // A closed channel looks, to each side, as if the other side were gone.
        let receivers_alive = !receivers.is_empty() && !closed;
        let senders_alive_raw = !senders.is_empty();
        let senders_alive = senders_alive_raw && !closed;
        let receivers_alive_raw = !receivers.is_empty();
        match op % 10 {
            0 | 1 if senders_alive_raw => {
                let tx = &senders[pick % senders.len()];
                created += 1;
                let id = created;
                let v = Tracked {
                    id,
                    drops: drops.clone(),
                };
                // A plain `send` (the fetch-and-add ticket path) where it cannot block: a
                // buffer with room, or a channel that refuses it.
                let plain =
                    (op / 10) % 2 == 1 && cap != 0 && (!receivers_alive || model.len() < cap);
                let r = if op % 10 == 0 && plain {
                    tx.send(v).map_err(|e| (true, e.into_inner()))
                } else if op % 10 == 0 {
                    tx.try_send(v).map_err(|e| match e {
                        TrySendError::Full(v) => (false, v),
                        TrySendError::Disconnected(v) => (true, v),
                    })
                } else {
                    tx.send_timeout(v, Duration::ZERO).map_err(|e| match e {
                        SendTimeoutError::Timeout(v) => (false, v),
                        SendTimeoutError::Disconnected(v) => (true, v),
                    })
                };
                match r {
                    Ok(()) => {
                        assert!(
                            receivers_alive && model.len() < cap,
                            "send should have failed"
                        );
                        model.push_back(id);
                    }
                    Err((disconnected, back)) => {
                        assert_eq!(back.id, id, "send handed back another value");
                        assert_eq!(disconnected, !receivers_alive, "send error kind");
                        if receivers_alive {
                            assert_eq!(model.len(), cap, "send failed with room");
                        }
                        dropped_by_us += 1;
                    }
                }
            }
            2 | 3 if receivers_alive_raw => {
                let rx = &receivers[pick % receivers.len()];
                // A plain `recv` (a ticket) where it cannot block: a value is buffered, or
                // no value can come.
                let plain = (op / 10) % 2 == 1 && (!model.is_empty() || !senders_alive);
                let got = if op % 10 == 2 && plain {
                    rx.recv().map_err(|_| true)
                } else if op % 10 == 2 {
                    rx.try_recv().map_err(|e| e == TryRecvError::Disconnected)
                } else {
                    rx.recv_timeout(Duration::ZERO)
                        .map_err(|e| e == RecvTimeoutError::Disconnected)
                };
                match (got, model.pop_front()) {
                    (Ok(v), Some(id)) => {
                        assert_eq!(v.id, id, "recv order");
                        dropped_by_us += 1;
                    }
                    (Err(disconnected), None) => {
                        assert_eq!(disconnected, !senders_alive, "recv error kind");
                    }
                    (got, want) => panic!("recv: got {:?}, model {want:?}", got.map(|v| v.id)),
                }
            }
            4 if senders_alive_raw => senders.push(senders[pick % senders.len()].clone()),
            5 if receivers_alive_raw => receivers.push(receivers[pick % receivers.len()].clone()),
            6 if senders_alive_raw => drop(senders.swap_remove(pick % senders.len())),
            7 if receivers_alive_raw => drop(receivers.swap_remove(pick % receivers.len())),
            8 if senders_alive_raw => {
                senders[pick % senders.len()].close();
                closed = true;
            }
            9 if receivers_alive_raw => {
                receivers[pick % receivers.len()].close();
                closed = true;
            }
            _ => {}
        }
        if let Some(h) = senders.first() {
            let open = !receivers.is_empty() && !closed;
            assert_eq!(h.is_closed(), !open, "Sender::is_closed");
            assert_eq!(h.len(), model.len(), "len");
            assert_eq!(h.capacity(), cap, "capacity");
            assert_eq!(h.is_full(), model.len() == cap, "is_full");
        }
        if let Some(h) = receivers.first() {
            let open = !senders.is_empty() && !closed;
            assert_eq!(h.is_closed(), !open, "Receiver::is_closed");
        }
        if senders.is_empty() && receivers.is_empty() {
            // The last handle dropped the channel and the values still in it.
            break;
        }
        assert_eq!(
            drops.get(),
            dropped_by_us,
            "a value was dropped inside the channel"
        );
    }
    drop(senders);
    drop(receivers);
    assert_eq!(
        drops.get(),
        created,
        "leak or double drop when the channel was dropped"
    );
}

/// Three threads run op sequences on one small queue (each kind in turn) at once. Checked: every accepted
/// value is popped exactly once (during the run or in the final drain), evicted values are
/// ones that were accepted, and each thread sees every other thread's values in the order
/// they were pushed.
pub fn check_ring_queue_threaded(data: &[u8]) {
    check_queue_threaded::<RingQueue<u64>>(data);
    check_queue_threaded::<ScqQueue<u64>>(data);
}

fn check_queue_threaded<Q: Queue<u64> + Send + Sync + 'static>(data: &[u8]) {
    use std::sync::Arc;
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let cap = capacity(first).min(8);
    let q = Arc::new(Q::with_capacity(cap));
    let per_thread: Vec<Vec<u8>> = (0..3)
        .map(|t| ops.iter().skip(t).step_by(3).copied().collect())
        .collect();
    let handles: Vec<_> = per_thread
        .into_iter()
        .enumerate()
        .map(|(t, ops)| {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut out = Vec::new();
                for (i, op) in ops.into_iter().enumerate() {
                    let v = ((t as u64) << 32) | i as u64;
                    // The timed forms take a ticket only when its turn has come, so they mix
                    // with `force_push`; they wait a moment for a partner thread.
                    let wait = Duration::from_micros(u64::from(op / 5) * 10);
                    match (op % 5, q.ring()) {
                        (0, _) | (3, None) => {
                            if q.push(v).is_ok() {
                                accepted.push(v);
                            }
                        }
                        (1, _) | (4, None) => out.extend(q.pop()),
                        (3, Some(r)) => {
                            if r.push_wait_timeout(v, wait).is_ok() {
                                accepted.push(v);
                            }
                        }
                        (4, Some(r)) => out.extend(r.pop_wait_timeout(wait)),
                        _ => {
                            out.extend(q.force_push(v));
                            accepted.push(v);
                        }
                    }
                }
                (accepted, out)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut out = Vec::new();
    for h in handles {
        let (a, o) = h.join().unwrap();
        accepted.extend(a);
        // Per-producer order as seen by this thread.
        let mut last = [None::<u64>; 3];
        for &v in &o {
            let p = (v >> 32) as usize;
            assert!(
                !matches!(last[p], Some(l) if l >= v),
                "values of one producer out of order"
            );
            last[p] = Some(v);
        }
        out.extend(o);
    }
    while let Some(v) = q.pop() {
        out.push(v);
    }
    accepted.sort_unstable();
    out.sort_unstable();
    assert_eq!(accepted, out, "a value was lost or duplicated");
    if let Some(r) = q.ring() {
        check_tickets_threaded(r, ops);
    }
}

/// The ring's fetch-and-add ticket path with threads: two producers `push_wait` their shares
/// and two consumers `pop_wait` theirs (the same total, so nobody waits forever), the shares
/// drawn from the input. Every value arrives once, each producer's in order per consumer.
fn check_tickets_threaded(q: &RingQueue<u64>, ops: &[u8]) {
    let share = |i: usize| ops.get(i).map_or(0, |&b| usize::from(b % 64));
    let pushes = [share(0), share(1)];
    let total = pushes[0] + pushes[1];
    let first = if total == 0 {
        0
    } else {
        share(2) % (total + 1)
    };
    let pops = [first, total - first];
    let (popped, pushed) = std::thread::scope(|s| {
        let consumers: Vec<_> = pops
            .iter()
            .map(|&n| s.spawn(move || (0..n).map(|_| q.pop_wait()).collect::<Vec<u64>>()))
            .collect();
        for (p, &n) in pushes.iter().enumerate() {
            s.spawn(move || {
                for i in 0..n {
                    q.push_wait(((p as u64) << 32) | i as u64);
                }
            });
        }
        let popped: Vec<Vec<u64>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        (popped, total)
    });
    let mut all = Vec::new();
    for got in popped {
        for p in 0..2u64 {
            let mine: Vec<u64> = got.iter().copied().filter(|v| v >> 32 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "ticket order broken");
        }
        all.extend(got);
    }
    assert_eq!(all.len(), pushed, "a ticket was served twice or not at all");
    all.sort_unstable();
    let mut want: Vec<u64> = (0..2u64)
        .flat_map(|p| (0..pushes[p as usize] as u64).map(move |i| (p << 32) | i))
        .collect();
    want.sort_unstable();
    assert_eq!(all, want, "a value was lost or duplicated");
    assert!(q.is_empty());
}
