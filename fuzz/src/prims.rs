//! Checkers for the semaphore and the count-down primitives, single-threaded so every crash
//! replays. Waiters are async acquires polled by hand: a pending future is a queued waiter, so
//! one thread drives the queue, the hand-off, cancellation and close deterministically.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use lockgate::barrier::{Latch, WaitGroup, WaitGuard, WaitZero};
use lockgate::semaphore::{
    Acquire, AcquireError, AcquireTimeoutError, Permit, Semaphore, TryAcquireError, MAX_PERMITS,
};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(f, &Arc::new(Count::default()))
}

fn poll_with<F: Future>(f: Pin<&mut F>, count: &Arc<Count>) -> Poll<F::Output> {
    let waker = Waker::from(count.clone());
    f.poll(&mut Context::from_waker(&waker))
}

/// A pending wait and the waker it registered with.
type PendingWait<'a> = (Pin<Box<WaitZero<'a>>>, Arc<Count>);

/// Permits asked for: mostly 0-4, sometimes more than a semaphore can hold.
fn want(byte: u8) -> usize {
    match byte {
        250..=255 => MAX_PERMITS + 1,
        b => (b % 5) as usize,
    }
}

/// The semaphore as a plain model: free permits, a FIFO of queued requests, and the barging
/// semaphore's starvation counter (failed grants to the head on a release; at
/// `STARVE_PASSES` the fast path closes until the queue drains). Single-threaded, every rule
/// is exact, so any departure fails the check.
struct Model {
    free: usize,
    /// Queued async acquires, oldest first: (future id, permits wanted).
    queue: VecDeque<(usize, usize)>,
    closed: bool,
    fair: bool,
    passes: u32,
    /// The fast path is closed to new callers (fair with a queue, or starving).
    handoff: bool,
}

/// Must match `STARVE_PASSES` in `src/semaphore/raw.rs`.
const STARVE_PASSES: u32 = 8;

impl Model {
    /// Hands free permits to the head of the queue while they cover it; returns the ids served.
    /// `release`: a release called, so an unserved head counts as passed over.
    fn grant(&mut self, release: bool) -> Vec<usize> {
        let mut served = Vec::new();
        loop {
            let Some(&(id, need)) = self.queue.front() else {
                self.passes = 0;
                self.handoff = false;
                return served;
            };
            if need > self.free {
                if release {
                    self.passes += 1;
                    if !self.fair && self.passes >= STARVE_PASSES {
                        self.handoff = true;
                    }
                }
                return served;
            }
            self.free -= need;
            self.queue.pop_front();
            self.passes = 0;
            served.push(id);
        }
    }

    fn release(&mut self, n: usize) -> Vec<usize> {
        self.free += n;
        if n == 0 || self.queue.is_empty() {
            return Vec::new();
        }
        self.grant(true)
    }

    /// Whether a new request for `n` takes free permits now.
    fn may_take(&self, n: usize) -> bool {
        n == 0 || (n <= self.free && !self.handoff)
    }

    fn enqueue(&mut self, id: usize, n: usize) {
        self.queue.push_back((id, n));
        if self.fair {
            self.handoff = true;
        }
    }

    /// A queued request gives up (dropped future): the next head may now be served.
    fn cancel(&mut self, id: usize) -> Vec<usize> {
        if self.queue.front().is_some_and(|&(head, _)| head == id) {
            self.passes = 0;
        }
        self.queue.retain(|&(q, _)| q != id);
        self.grant(false)
    }
}

/// What a pending future is, in the model.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Queued,
    Granted,
    Closed,
}

struct Pending<'a> {
    id: usize,
    n: usize,
    fate: Fate,
    fut: Pin<Box<Acquire<'a>>>,
}

/// Semaphore op sequences against [`Model`]: try/timed/async acquires, drops of permits and
/// of pending futures (cancellation, including of one already handed its permits),
/// `add_permits`, `forget`, `close`. Checks every result and the free count after every step.
pub fn check_semaphore(data: &[u8]) {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let fair = first & 1 == 1;
    let start = (first >> 1) as usize % 4;
    let sem = if fair {
        Semaphore::new_fair(start)
    } else {
        Semaphore::new(start)
    };
    let mut m = Model {
        free: start,
        queue: VecDeque::new(),
        closed: false,
        fair,
        passes: 0,
        handoff: false,
    };
    let mut held: Vec<Permit<'_>> = Vec::new();
    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut next_id = 0;
    let mark = |pending: &mut Vec<Pending<'_>>, served: Vec<usize>| {
        for id in served {
            let p = pending.iter_mut().find(|p| p.id == id).expect("served id");
            p.fate = Fate::Granted;
        }
    };
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        match op % 9 {
            0 | 1 => {
                let n = want(arg);
                let r = if op % 9 == 0 {
                    sem.try_acquire_many(n).map_err(|e| match e {
                        TryAcquireError::Closed => "closed",
                        TryAcquireError::NoPermits => "none",
                        TryAcquireError::TooMany(_) => "too many",
                    })
                } else {
                    sem.acquire_many_timeout(n, Duration::ZERO)
                        .map_err(|e| match e {
                            AcquireTimeoutError::Closed => "closed",
                            AcquireTimeoutError::Timeout => "none",
                            AcquireTimeoutError::TooMany(_) => "too many",
                        })
                };
                let expect_err = if n > MAX_PERMITS {
                    Some("too many")
                } else if m.closed {
                    Some("closed")
                } else if m.may_take(n) {
                    None
                } else {
                    Some("none")
                };
                match (r, expect_err) {
                    (Ok(p), None) => {
                        assert_eq!(p.permits(), n);
                        m.free -= n;
                        held.push(p);
                    }
                    (Err(e), Some(x)) => assert_eq!(e, x),
                    (r, x) => panic!("acquire {n}: got {:?}, model says {x:?}", r.map(|_| ())),
                }
            }
            2 => {
                // Give a permit back.
                if !held.is_empty() {
                    let p = held.swap_remove(arg as usize % held.len());
                    let served = m.release(p.permits());
                    drop(p);
                    mark(&mut pending, served);
                }
            }
            3 => {
                // Start an async acquire and poll it once.
                let n = want(arg);
                let mut fut = Box::pin(sem.acquire_many_async(n));
                let r = poll(fut.as_mut());
                if n > MAX_PERMITS {
                    assert!(matches!(r, Poll::Ready(Err(AcquireError::TooMany(_)))));
                } else if m.closed {
                    assert!(matches!(r, Poll::Ready(Err(AcquireError::Closed))));
                } else {
                    match (r, m.may_take(n)) {
                        (Poll::Ready(Ok(p)), true) => {
                            m.free -= n;
                            held.push(p);
                        }
                        (Poll::Pending, false) => {
                            m.enqueue(next_id, n);
                            pending.push(Pending {
                                id: next_id,
                                n,
                                fate: Fate::Queued,
                                fut,
                            });
                            next_id += 1;
                        }
                        (r, may) => panic!(
                            "async acquire {n}: ready {}, model says {may:?}",
                            r.is_ready()
                        ),
                    }
                }
            }
            4 => {
                // Poll a pending future again.
                if !pending.is_empty() {
                    let i = arg as usize % pending.len();
                    let r = poll(pending[i].fut.as_mut());
                    match (pending[i].fate, r) {
                        (Fate::Queued, Poll::Pending) => {}
                        (Fate::Granted, Poll::Ready(Ok(p))) => {
                            assert_eq!(p.permits(), pending[i].n);
                            pending.swap_remove(i);
                            held.push(p);
                        }
                        (Fate::Closed, Poll::Ready(Err(AcquireError::Closed))) => {
                            pending.swap_remove(i);
                        }
                        (fate, r) => panic!("pending future: {fate:?}, ready {}", r.is_ready()),
                    }
                }
            }
            5 => {
                // Drop a pending future: it holds nothing afterwards.
                if !pending.is_empty() {
                    let p = pending.swap_remove(arg as usize % pending.len());
                    let served = match p.fate {
                        Fate::Granted => m.release(p.n),
                        Fate::Queued => m.cancel(p.id),
                        Fate::Closed => Vec::new(),
                    };
                    drop(p);
                    mark(&mut pending, served);
                }
            }
            6 => {
                let n = arg as usize % 4;
                let served = m.release(n);
                sem.add_permits(n);
                mark(&mut pending, served);
            }
            7 => {
                if !held.is_empty() {
                    held.swap_remove(arg as usize % held.len()).forget();
                }
            }
            _ => {
                if arg % 8 == 0 {
                    sem.close();
                    m.closed = true;
                    for p in pending.iter_mut().filter(|p| p.fate == Fate::Queued) {
                        p.fate = Fate::Closed;
                    }
                    m.queue.clear();
                    m.passes = 0;
                    m.handoff = false;
                }
            }
        }
        assert_eq!(sem.available_permits(), m.free, "free permits");
        assert_eq!(sem.is_closed(), m.closed);
    }
    // Everything goes back: held permits, and permits granted to futures never polled again.
    let served: usize = pending
        .iter()
        .filter(|p| p.fate == Fate::Granted)
        .map(|p| p.n)
        .sum();
    let held_sum: usize = held.iter().map(|p| p.permits()).sum();
    drop(pending);
    drop(held);
    assert_eq!(sem.available_permits(), m.free + served + held_sum);
}

/// Latch and WaitGroup op sequences against plain counters: count-downs, adds, guards and
/// their clones, `done` below zero (must panic and change nothing), zero-timeout waits, and
/// async waits polled by hand (ready exactly when the count is zero).
pub fn check_counts(data: &[u8]) {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let latch = Latch::new(first as usize % 6);
    let mut latch_model = first as usize % 6;
    let wg = WaitGroup::new();
    let mut wg_model = 0usize;
    let mut guards: Vec<WaitGuard> = Vec::new();
    let mut latch_waits: Vec<PendingWait<'_>> = Vec::new();
    let mut wg_waits: Vec<PendingWait<'_>> = Vec::new();
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        match op % 10 {
            0 => {
                latch.count_down();
                latch_model = latch_model.saturating_sub(1);
            }
            1 => assert_eq!(latch.wait_timeout(Duration::ZERO), latch_model == 0),
            2 => {
                let n = arg as usize % 3;
                wg.add(n);
                wg_model += n;
            }
            3 => {
                // libFuzzer's panic hook aborts, so the panicking case runs under `cargo test`
                // only.
                if wg_model == 0 && cfg!(fuzzing) {
                    continue;
                }
                let r = catch_unwind(AssertUnwindSafe(|| wg.done()));
                if wg_model == 0 {
                    assert!(r.is_err(), "done below zero must panic");
                } else {
                    assert!(r.is_ok());
                    wg_model -= 1;
                }
            }
            4 => {
                guards.push(wg.guard());
                wg_model += 1;
            }
            5 => {
                if !guards.is_empty() {
                    let i = arg as usize % guards.len();
                    if arg & 1 == 0 {
                        guards.swap_remove(i);
                        // An extra `done` may have taken the guard's unit already.
                        wg_model = wg_model.saturating_sub(1);
                    } else {
                        let g = guards[i].clone();
                        guards.push(g);
                        wg_model += 1;
                    }
                }
            }
            6 => assert_eq!(wg.wait_timeout(Duration::ZERO), wg_model == 0),
            7 => {
                let mut f = Box::pin(if arg & 1 == 0 {
                    latch.wait_async()
                } else {
                    wg.wait_async()
                });
                let zero = if arg & 1 == 0 {
                    latch_model == 0
                } else {
                    wg_model == 0
                };
                let count = Arc::new(Count::default());
                assert_eq!(poll_with(f.as_mut(), &count).is_ready(), zero);
                if !zero {
                    if arg & 1 == 0 {
                        latch_waits.push((f, count));
                    } else {
                        wg_waits.push((f, count));
                    }
                }
            }
            8 => {
                // Poll the oldest pending waits: ready exactly when their count is zero.
                for (waits, zero) in [
                    (&mut latch_waits, latch_model == 0),
                    (&mut wg_waits, wg_model == 0),
                ] {
                    if let Some((f, count)) = waits.first_mut() {
                        assert_eq!(poll_with(f.as_mut(), count).is_ready(), zero);
                        if zero {
                            drop(waits.remove(0));
                        }
                    }
                }
            }
            _ => {
                // Drop a pending wait (cancel).
                if arg & 1 == 0 {
                    latch_waits.pop();
                } else {
                    wg_waits.pop();
                }
            }
        }
        assert_eq!(latch.count(), latch_model);
        assert_eq!(latch.try_wait(), latch_model == 0);
        assert_eq!(wg.count(), wg_model);
        // Reaching zero woke every wait that was pending on that count.
        for (waits, zero) in [(&latch_waits, latch_model == 0), (&wg_waits, wg_model == 0)] {
            if zero {
                for (_, count) in waits {
                    assert!(
                        count.0.load(Ordering::Relaxed) > 0,
                        "a pending wait not woken"
                    );
                }
            }
        }
    }
    let live = guards.len();
    drop(guards);
    assert_eq!(
        wg.count(),
        wg_model.saturating_sub(live),
        "every guard calls done on drop"
    );
}

/// ObjectPool op sequences against a counter model: one thread, so its slot and the shared
/// ring are exact (`get` takes the slot, then the ring, then the factory; a return resets,
/// validates, then fills the slot, then the ring, then drops). Checks every counter, the
/// ring's fill (never above capacity) and that the reset ran on every return.
pub fn check_pool(data: &[u8]) {
    use lockgate::pool::{flush_thread_caches, ObjectPool, Pooled};
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let capacity = 1 + first as usize % 4;
    let resets = Arc::new(AtomicUsize::new(0));
    let r = resets.clone();
    // Objects are (value, good); validation keeps only good ones; reset sets value to 0.
    let pool = ObjectPool::builder(|| (0u8, true), capacity)
        .reset(move |o: &mut (u8, bool)| {
            r.fetch_add(1, Ordering::Relaxed);
            o.0 = 0;
        })
        .validate(|o| o.1)
        .build();
    let (mut local, mut shared) = (false, 0usize);
    let (mut created, mut reused, mut full, mut discarded, mut returns) = (0, 0, 0, 0, 0usize);
    let mut out: Vec<Pooled<'_, (u8, bool)>> = Vec::new();
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        match op % 6 {
            0 | 1 => {
                let idle = local || shared > 0;
                let got = if op % 6 == 0 {
                    Some(pool.get())
                } else {
                    pool.try_get()
                };
                match got {
                    Some(o) => {
                        assert_eq!(o.0, 0, "a returned object was not reset");
                        if local {
                            local = false;
                            reused += 1;
                        } else if shared > 0 {
                            shared -= 1;
                            reused += 1;
                        } else {
                            created += 1;
                        }
                        out.push(o);
                    }
                    None => assert!(!idle, "try_get missed an idle object"),
                }
            }
            2 => {
                if !out.is_empty() {
                    let o = out.swap_remove(arg as usize % out.len());
                    returns += 1;
                    if !o.1 {
                        discarded += 1;
                    } else if !local {
                        local = true;
                    } else if shared < capacity {
                        shared += 1;
                    } else {
                        full += 1;
                    }
                    drop(o);
                }
            }
            3 => {
                if !out.is_empty() {
                    let i = arg as usize % out.len();
                    out[i].0 = arg;
                    if arg % 5 == 0 {
                        out[i].1 = false;
                    }
                }
            }
            4 => {
                if !out.is_empty() {
                    let o = out.swap_remove(arg as usize % out.len());
                    let _kept = o.detach();
                }
            }
            _ => {
                flush_thread_caches();
                if local {
                    local = false;
                    if shared < capacity {
                        shared += 1;
                    } else {
                        full += 1;
                    }
                }
            }
        }
        let s = pool.stats();
        assert_eq!(
            (s.created, s.reused, s.dropped_full, s.discarded),
            (created, reused, full, discarded),
            "counters"
        );
        assert_eq!(pool.shared_idle(), shared);
        assert!(shared <= capacity);
        assert_eq!(
            resets.load(Ordering::Relaxed),
            returns,
            "reset on every return"
        );
    }
}

/// PubSub op sequences against a model of topics → subscribers, each a `VecDeque` with its
/// lost and reported-lost counts, for the policy the first byte picks: subscribe,
/// unsubscribe, publish (zero timeout for `Block`, which then counts a full subscriber's
/// message as lost), try_recv (lag reported first, then messages in order, then `Closed`
/// once closed and drained), subscriber counts, close.
pub fn check_pubsub(data: &[u8]) {
    use lockgate::pubsub::{Overflow, PubSub, Subscription, TryRecvError};
    struct Sub {
        real: Subscription<u8, u8>,
        topic: u8,
        queue: VecDeque<u8>,
        lost: u64,
        reported: u64,
    }
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let policy = [Overflow::DropNewest, Overflow::DropOldest, Overflow::Block][first as usize % 3];
    let cap = 1 + (first as usize / 3) % 3;
    let hub: PubSub<u8, u8> = PubSub::with_overflow(cap, policy);
    let mut subs: Vec<Sub> = Vec::new();
    let mut closed = false;
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let topic = arg % 3;
        match op % 6 {
            0 => match hub.subscribe(topic) {
                Ok(real) => {
                    assert!(!closed, "subscribed after close");
                    subs.push(Sub {
                        real,
                        topic,
                        queue: VecDeque::new(),
                        lost: 0,
                        reported: 0,
                    });
                }
                Err(_) => assert!(closed),
            },
            1 => {
                if !subs.is_empty() {
                    subs.swap_remove(arg as usize % subs.len())
                        .real
                        .unsubscribe();
                }
            }
            2 | 3 => {
                let r = hub.publish_timeout(&topic, arg, Duration::ZERO);
                if closed {
                    assert_eq!(r.map_err(|e| e.into_inner()), Err(arg));
                    continue;
                }
                let mut expect = 0;
                for s in subs.iter_mut().filter(|s| s.topic == topic) {
                    if s.queue.len() < cap {
                        s.queue.push_back(arg);
                        expect += 1;
                    } else if policy == Overflow::DropOldest {
                        s.queue.pop_front();
                        s.queue.push_back(arg);
                        s.lost += 1;
                        expect += 1;
                    } else {
                        s.lost += 1;
                    }
                }
                assert_eq!(r.ok(), Some(expect), "delivered count");
            }
            4 => {
                if !subs.is_empty() {
                    let i = arg as usize % subs.len();
                    let s = &mut subs[i];
                    let want = if s.lost > s.reported {
                        let n = s.lost - s.reported;
                        s.reported = s.lost;
                        Err(TryRecvError::Lagged(n))
                    } else if let Some(v) = s.queue.pop_front() {
                        Ok(v)
                    } else if closed {
                        Err(TryRecvError::Closed)
                    } else {
                        Err(TryRecvError::Empty)
                    };
                    assert_eq!(s.real.try_recv(), want);
                    assert_eq!(s.real.lost(), s.lost);
                }
            }
            _ => {
                if arg % 4 == 0 {
                    hub.close();
                    closed = true;
                }
            }
        }
        for t in 0..3u8 {
            let n = if closed {
                0
            } else {
                subs.iter().filter(|s| s.topic == t).count()
            };
            assert_eq!(hub.subscriber_count(&t), n, "subscribers of {t}");
        }
    }
}

/// Context tree op sequences against a plain tree model: make children (cancellable, with a
/// far deadline, with a value), cancel, drop handles, and check every held context's error
/// and every node's live-children count (a dropped subtree, and a child cancelled by its own
/// handle, must leave its parent's map).
pub fn check_context(data: &[u8]) {
    use lockgate::context::{CancelHandle, Context, ContextError, Key};
    struct Tag;
    impl Key for Tag {
        type Value = u8;
    }
    struct Node {
        parent: Option<usize>,
        canceled: bool,
        held: bool,
        tag: Option<u8>,
    }
    let mut model: Vec<Node> = vec![Node {
        parent: None,
        canceled: false,
        held: true,
        tag: None,
    }];
    let mut handles: Vec<Option<(Context, Option<CancelHandle>)>> =
        vec![Some((Context::background(), None))];
    // A node lives while held or while a live child holds it.
    fn alive(model: &[Node], i: usize) -> bool {
        model[i].held || (0..model.len()).any(|c| model[c].parent == Some(i) && alive(model, c))
    }
    for pair in data.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let held: Vec<usize> = (0..model.len()).filter(|&i| model[i].held).collect();
        if held.is_empty() || model.len() > 64 {
            break;
        }
        let i = held[arg as usize % held.len()];
        match op % 6 {
            0..=2 => {
                let (ctx, _) = handles[i].as_ref().expect("held");
                let (child, handle) = match op % 6 {
                    0 => {
                        let (c, h) = ctx.with_cancel();
                        (c, Some(h))
                    }
                    1 => (ctx.with_timeout(Duration::from_secs(3600)), None),
                    _ => (ctx.with_value::<Tag>(arg), None),
                };
                model.push(Node {
                    parent: Some(i),
                    canceled: model[i].canceled,
                    held: true,
                    tag: if op % 6 == 2 { Some(arg) } else { None },
                });
                handles.push(Some((child, handle)));
            }
            3 => {
                if let Some((_, Some(h))) = handles[i].as_ref() {
                    h.cancel();
                    let mut todo = vec![i];
                    while let Some(n) = todo.pop() {
                        model[n].canceled = true;
                        todo.extend((0..model.len()).filter(|&c| model[c].parent == Some(n)));
                    }
                }
            }
            4 => {
                if i != 0 {
                    handles[i] = None;
                    model[i].held = false;
                }
            }
            _ => {
                // A cancelled node's map is empty: its cancel took the children, and later
                // ones are born cancelled without registering. Under a live node, a child
                // cancelled by its own handle has left the map at once.
                let want = if model[i].canceled {
                    0
                } else {
                    (0..model.len())
                        .filter(|&c| {
                            model[c].parent == Some(i) && !model[c].canceled && alive(&model, c)
                        })
                        .count()
                };
                let (ctx, _) = handles[i].as_ref().expect("held");
                assert_eq!(ctx.child_count(), want, "live children of node {i}");
            }
        }
        for (n, h) in handles.iter().enumerate() {
            if let Some((ctx, _)) = h {
                let want = model[n].canceled.then_some(ContextError::Canceled);
                assert_eq!(ctx.err(), want, "node {n}");
                let mut tag = None;
                let mut m = Some(n);
                while let Some(k) = m {
                    if let Some(t) = model[k].tag {
                        tag = Some(t);
                        break;
                    }
                    m = model[k].parent;
                }
                assert_eq!(ctx.value::<Tag>().copied(), tag, "value at node {n}");
            }
        }
    }
}
