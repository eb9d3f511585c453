//! The pool's shared state and its workers.
//!
//! Jobs go through the scheduler (`sched.rs`): per-worker deques and the shared injector, a
//! bounded lockgate channel (back-pressure on outside submitters). Idle workers park on
//! their slot's turn word under the wake rule, so an idle pool uses no CPU. The life cycle:
//!
//! - **Intake** is the injector's own close (`Sender::close`): a send either lands before the
//!   close, and is received and run (workers drain the injector before they see its end), or
//!   fails with the job handed back. So a submit adds no shared read-modify-write of its own,
//!   and nothing is lost between accepted and rejected. A job that a job submits on a worker
//!   goes to that worker's deque after a look at the closed flag; the worker runs its own
//!   deque empty before it leaves, so such a job also runs.
//! - **Elastic growth and retirement** (`state`: live workers | idle workers | a submit
//!   tick): after its send, a submit of an elastic pool does one CAS on `state` that bumps
//!   the tick and, if no worker is idle (or more jobs wait than workers are idle) and the
//!   pool is below `max`, counts a new worker in, which it then starts. A worker idle for
//!   `keep_alive` retires with one CAS on the same word (if the pool is above `min`), then
//!   takes one more look for work: a submit whose CAS came first (and so counted this
//!   worker idle) sent its job before that CAS, which our retiring CAS read, so the look
//!   finds the job; the worker then rejoins to run it. One word for both sides makes the
//!   argument a plain read-from chain of RMWs. No thread polls: growth happens on submit,
//!   shrinking on a worker's own timed-out park.
//! - **Exit** (`state`'s live count): shutdown waits for the live count to reach zero, then
//!   joins the threads.

use core::cell::Cell;
use std::time::Duration;

use super::Rejected;
use crossbeam_utils::CachePadded;

use super::job::Job;
use super::sched::{Local, Sched, Woke};
use super::stand_in::StandIns;
use crate::channel::{Receiver, RecvTimeoutError, Sender};
use crate::future::Promise;
use crate::sync::{
    spawn_named, thread_local, Arc, AtomicBool, AtomicU64, AtomicUsize, JoinHandle, Mutex, Ordering,
};
use crate::wait::hook;
use crate::wait::{self, Until, WaitList, WaitPolicy, NOTIFIED};

/// `state` fields: live workers (bits 0-15), idle workers (16-31), submit tick (32-63).
const LIVE_ONE: u64 = 1;
const IDLE_ONE: u64 = 1 << 16;
const TICK_ONE: u64 = 1 << 32;
const FIELD: u64 = 0xFFFF;

/// The most workers a pool can have (the width of `state`'s fields).
pub const MAX_WORKERS: usize = FIELD as usize;

fn live(s: u64) -> usize {
    (s & FIELD) as usize
}

fn idle(s: u64) -> usize {
    ((s >> 16) & FIELD) as usize
}

/// One worker's counters. Relaxed RMWs: statistics, read as a sum (a snapshot that may be
/// a moment old), ordering nothing. RMWs rather than plain stores because an elastic
/// pool's slot can be shared by two workers whose ids differ by `max`.
#[derive(Default)]
struct Stats {
    active: AtomicUsize,
    completed: AtomicU64,
    panicked: AtomicU64,
}

pub(super) struct Inner {
    /// The injector: outside submits send here; its close is the intake gate.
    pub(super) tx: Sender<Job>,
    pub(super) rx: Receiver<Job>,
    /// The deques and the wake rule.
    pub(super) sched: Sched,
    /// Set (SeqCst, before the injector closes) by `abort`: workers drop the jobs they find.
    aborted: AtomicBool,
    /// Shutdown waiting for workers to exit.
    pub(super) gate: WaitList<()>,
    /// Live workers | idle workers | submit tick (see the module docs). Elastic pools only
    /// touch idle and tick; every pool counts live workers here. AcqRel RMWs throughout:
    /// the read-from chain the retirement argument needs.
    state: AtomicU64,
    /// Per-worker statistics, one padded slot per worker (worker `k` writes slot
    /// `k % max`), plus a last one for jobs run on submitting threads; summed when read, so
    /// workers never share a counter's cache line.
    stats: Box<[CachePadded<Stats>]>,
    pub(super) min: usize,
    pub(super) max: usize,
    /// `Some` for an elastic pool.
    pub(super) keep_alive: Option<Duration>,
    pub(super) name: String,
    #[cfg(feature = "affinity")]
    pub(super) pin: bool,
    next_id: AtomicUsize,
    /// Joins running on this pool's own workers: `join` does not wait for those threads.
    joining_workers: AtomicUsize,
    /// Threads started and not yet joined.
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// Claim-inline and compensation for jobs that block (`stand_in.rs`).
    pub(super) stand_ins: StandIns,
}

thread_local! {
    /// The pool whose worker this thread is (its `Inner`'s address), or 0; and the deque
    /// slot this thread owns in it, plus one (0: none).
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static CURRENT: Cell<(usize, usize)> = Cell::new((0, 0));
}

/// Where a submit on a pool's own thread can put its job.
pub(super) enum OnWorker {
    /// Not one of the pool's threads.
    No,
    /// One of its threads without a deque slot (a stand-in).
    NoSlot,
    /// A worker owning this slot.
    Slot(usize),
}

impl Inner {
    pub(super) fn new(
        min: usize,
        max: usize,
        keep_alive: Option<Duration>,
        queue: usize,
        name: String,
        #[cfg(feature = "affinity")] pin: bool,
        stand_ins: StandIns,
    ) -> Arc<Inner> {
        let (tx, rx) = crate::channel::bounded(queue);
        Arc::new(Inner {
            tx,
            rx,
            sched: Sched::new(max),
            aborted: AtomicBool::new(false),
            gate: WaitList::new(),
            state: AtomicU64::new(0),
            stats: (0..=max)
                .map(|_| CachePadded::new(Stats::default()))
                .collect(),
            min,
            max,
            keep_alive,
            name,
            #[cfg(feature = "affinity")]
            pin,
            next_id: AtomicUsize::new(0),
            joining_workers: AtomicUsize::new(0),
            handles: Mutex::new(Vec::new()),
            stand_ins,
        })
    }

    pub(super) fn id(this: &Arc<Self>) -> usize {
        Arc::as_ptr(this) as usize
    }

    /// True on one of this pool's worker threads.
    pub(super) fn on_worker(this: &Arc<Self>) -> bool {
        !matches!(Inner::where_am_i(this), OnWorker::No)
    }

    /// Whether this thread is one of the pool's, and its slot if it owns one.
    pub(super) fn where_am_i(this: &Arc<Self>) -> OnWorker {
        let id = Inner::id(this);
        match CURRENT.try_with(Cell::get) {
            Ok((pool, slot)) if pool == id => match slot.checked_sub(1) {
                Some(i) => OnWorker::Slot(i),
                None => OnWorker::NoSlot,
            },
            _ => OnWorker::No,
        }
    }

    /// Starts `n` workers, counted live first.
    ///
    /// # Panics
    /// If a thread cannot be started (as `std::thread::spawn`): a pool built without its
    /// workers would accept jobs it can never run.
    pub(super) fn start(this: &Arc<Self>, n: usize) {
        for _ in 0..n {
            this.state.fetch_add(LIVE_ONE, Ordering::AcqRel);
            if !Inner::spawn_worker(this) {
                panic!("WorkerPool: failed to start a worker thread");
            }
        }
    }

    /// Starts one worker already counted in `state`; false (and the count taken back) if
    /// the thread cannot be started. An elastic pool then grows on a later submit.
    fn spawn_worker(this: &Arc<Self>) -> bool {
        // Relaxed: a name and a slot hint, ordering nothing.
        let k = this.next_id.fetch_add(1, Ordering::Relaxed);
        let me = this.clone();
        match spawn_named(format!("{}-{k}", this.name), move || Inner::work(me, k)) {
            Ok(h) => {
                this.keep_handle(h);
                true
            }
            Err(_) => {
                this.state.fetch_sub(LIVE_ONE, Ordering::AcqRel);
                crate::sync::full_fence();
                this.gate.notify_all(NOTIFIED);
                false
            }
        }
    }

    /// Keeps a started thread's handle for `join` (dropping those of finished threads).
    pub(super) fn keep_handle(&self, h: JoinHandle<()>) {
        let mut hs = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        // (Loom's and shuttle's `JoinHandle`s cannot tell; their pools are small.)
        #[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
        hs.retain(|h| !h.is_finished());
        hs.push(h);
    }

    /// A number for a stand-in's thread name.
    pub(super) fn stand_in_ids(&self) -> usize {
        // Relaxed: a name, ordering nothing.
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Marks this thread as one of the pool's (for caller-runs and in-pool joins), owning
    /// deque slot `slot` if any.
    pub(super) fn enter_thread(this: &Arc<Self>, slot: Option<usize>) {
        let id = Inner::id(this);
        let _ = CURRENT.try_with(|c| c.set((id, slot.map_or(0, |i| i + 1))));
    }

    /// This thread is no longer the pool's (its thread-local outlives the worker loop); wakes
    /// a shutdown waiting for the workers (its condition is the live counts).
    pub(super) fn leave_thread(this: &Arc<Self>) {
        let _ = CURRENT.try_with(|c| c.set((0, 0)));
        crate::sync::full_fence();
        this.gate.notify_all(NOTIFIED);
    }

    // --- intake ---

    /// Puts a job where it runs soonest without waiting: the calling worker's own deque if
    /// it owns one, else the injector if it has room. The job back (with whether the pool is
    /// shut) if neither takes it.
    pub(super) fn try_put(this: &Arc<Self>, job: Job) -> Result<(), (Job, bool)> {
        if let OnWorker::Slot(i) = Inner::where_am_i(this) {
            // SeqCst: a job pushed after this look runs anyway (its worker drains its own
            // deque before it leaves); the look only makes a submit after `close` fail.
            if this.tx.is_closed() {
                return Err((job, true));
            }
            match this.sched.push_local(i, job) {
                Ok(()) => return Ok(()),
                Err(back) => return Inner::try_inject(this, back),
            }
        }
        Inner::try_inject(this, job)
    }

    /// Moves the jobs on the calling worker's own deque to the injector (while it has
    /// room), for a worker about to block inside a job: the others and the stand-ins then
    /// run them meanwhile.
    pub(super) fn flush_local(this: &Arc<Self>) {
        let OnWorker::Slot(i) = Inner::where_am_i(this) else {
            return;
        };
        let mut moved = false;
        while let Some(job) = this.sched.pop_local(i) {
            match this.tx.try_send(job) {
                Ok(()) => moved = true,
                Err(e) => {
                    // Full or closed: the rest stays on the deque, for stealing.
                    let back = this.sched.push_local(i, e.into_inner());
                    debug_assert!(back.is_ok(), "a slot just popped has room");
                    break;
                }
            }
        }
        if moved {
            this.sched.notify();
        }
    }

    /// Sends `job` to the injector without waiting.
    fn try_inject(this: &Arc<Self>, job: Job) -> Result<(), (Job, bool)> {
        match this.tx.try_send(job) {
            Ok(()) => {
                this.sched.notify();
                Ok(())
            }
            Err(crate::channel::TrySendError::Full(job)) => Err((job, false)),
            Err(crate::channel::TrySendError::Disconnected(job)) => Err((job, true)),
        }
    }

    /// After a job was sent: bumps the tick, and grows an elastic pool with no idle worker.
    pub(super) fn after_send(this: &Arc<Self>) {
        if this.keep_alive.is_none() {
            return;
        }
        // Acquire: pairs with the AcqRel RMWs on `state`; the CAS below re-checks it.
        let mut s = this.state.load(Ordering::Acquire);
        loop {
            // Grow when no worker is idle, or when more jobs wait than idle workers can take
            // (a burst against one parked worker must not queue behind it).
            let grow = live(s) < this.max && (idle(s) == 0 || this.queued() > idle(s));
            let new = s
                .wrapping_add(TICK_ONE)
                .wrapping_add(if grow { LIVE_ONE } else { 0 });
            // AcqRel: Release publishes our send to a retiring worker's CAS (which reads
            // this value or a later one); Acquire for the fields we decide on.
            match this
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if grow {
                        let _ = Inner::spawn_worker(this);
                    }
                    return;
                }
                Err(x) => s = x,
            }
        }
    }

    /// Runs a job here (caller-runs, or a worker), keeping the counters; a job its
    /// promise's reader took meanwhile is skipped (not counted).
    pub(super) fn run(&self, job: Job, slot: usize) {
        self.count(slot, true, || job.run());
    }

    /// Runs `run` (a job) counted in `slot`'s statistics (as an active worker meanwhile if
    /// `active`): `None` from it means the job was taken elsewhere and counts nothing.
    pub(super) fn count(
        &self,
        slot: usize,
        active: bool,
        run: impl FnOnce() -> Option<bool>,
    ) -> bool {
        let st = &self.stats[slot.min(self.max)];
        if active {
            st.active.fetch_add(1, Ordering::Relaxed);
        }
        // The user's closure runs under `catch` inside the job; this also contains what can
        // unwind around it (a panicking `Drop` of a result or of a continuation).
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or(Some(true));
        if active {
            st.active.fetch_sub(1, Ordering::Relaxed);
        }
        let Some(panicked) = ran else {
            return false;
        };
        if panicked {
            st.panicked.fetch_add(1, Ordering::Relaxed);
        }
        st.completed.fetch_add(1, Ordering::Relaxed);
        true
    }

    // --- workers ---

    fn work(this: Arc<Self>, k: usize) {
        let mut local = this.sched.local(k % this.max);
        Inner::enter_thread(&this, local.slot);
        #[cfg(feature = "affinity")]
        if this.pin {
            if let Some(ids) = core_affinity::get_core_ids() {
                if !ids.is_empty() {
                    core_affinity::set_for_current(ids[k % ids.len()]);
                }
            }
        }
        let mut counted = true;
        Inner::hooked(&this, || {
            counted = match this.keep_alive {
                None => {
                    while let Ok(job) = Inner::next_job(&this, &mut local, Until::FOREVER) {
                        this.run_or_drop(job, k % this.max);
                    }
                    true
                }
                Some(keep_alive) => {
                    Inner::work_elastic(&this, &mut local, keep_alive, k % this.max)
                }
            };
        });
        this.sched.release(&mut local);
        if counted {
            this.state.fetch_sub(LIVE_ONE, Ordering::AcqRel);
        }
        Inner::leave_thread(&this);
    }

    /// Runs a job a worker found, or drops it (abandoning its promise) after `abort`.
    pub(super) fn run_or_drop(&self, job: Job, slot: usize) {
        // SeqCst: set before the injector closed; a job found after that close is dropped.
        if self.aborted.load(Ordering::SeqCst) {
            drop(job);
        } else {
            self.run(job, slot);
        }
    }

    /// The next job for a worker: found at once, or after searching, or after parking
    /// (bounded by `until`'s deadline) with the hook lifted, since a worker waiting for work
    /// is idle, not blocked. `Disconnected` once the pool is shut and no job is left.
    pub(super) fn next_job(
        this: &Arc<Inner>,
        local: &mut Local,
        until: Until<'_>,
    ) -> Result<Job, RecvTimeoutError> {
        let mut round = 0;
        loop {
            match this.sched.find(local, &this.rx) {
                Ok(job) => {
                    this.sched.found(local);
                    return Ok(job);
                }
                Err(true) => {
                    // Shut and drained: wake the others so they leave too.
                    this.sched.notify_all();
                    return Err(RecvTimeoutError::Disconnected);
                }
                Err(false) => {}
            }
            if local.slot.is_none() {
                // No deque slot, so no place in the sleeper list: block on the injector.
                return hook::without_hook(|| this.rx.recv_until(until));
            }
            if until.passed() {
                // No longer looking: a worker woken as a searcher whose deadline passed must
                // not stay counted searching (submits would count on it), and if it was the
                // last searcher, the next one takes over.
                this.sched.found(local);
                return Err(RecvTimeoutError::Timeout);
            }
            if this.sched.start_searching(local, this.workers()) && Sched::pause(round) {
                round += 1;
                continue;
            }
            round = 0;
            let woke = hook::without_hook(|| this.sched.park(local, &this.rx, until.deadline));
            if let Woke::Timeout = woke {
                return Err(RecvTimeoutError::Timeout);
            }
        }
    }

    /// The elastic worker loop; returns whether this worker is still counted live. At `min`
    /// a worker waits without a timeout (no polling when the pool is idle at its floor);
    /// above it, it waits at most `keep_alive`, then retires.
    fn work_elastic(
        this: &Arc<Self>,
        local: &mut Local,
        keep_alive: Duration,
        slot: usize,
    ) -> bool {
        loop {
            let s = this.state.fetch_add(IDLE_ONE, Ordering::AcqRel);
            let got = if live(s) <= this.min {
                Inner::next_job(this, local, Until::FOREVER)
            } else {
                Inner::next_job(this, local, wait::deadline_after(keep_alive).into())
            };
            match got {
                Ok(job) => {
                    // Until this decrement a submit counts us idle although we hold a job;
                    // so we check for it: if jobs still wait and no worker is idle, grow.
                    // (The submit's CAS and ours are ordered on `state`: whichever comes
                    // second sees the other's job or our busy state.)
                    let s = this.state.fetch_sub(IDLE_ONE, Ordering::AcqRel) - IDLE_ONE;
                    if idle(s) == 0 && live(s) < this.max && this.queued() > 0 {
                        Inner::grow(this);
                    }
                    this.run_or_drop(job, slot);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    this.state.fetch_sub(IDLE_ONE, Ordering::AcqRel);
                    return true;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !this.retire() {
                        continue; // at `min`: stay (idle taken back by `retire`)
                    }
                    // Retired. A submit that counted us idle sent its job before its CAS,
                    // which our retiring CAS read: this look finds it. We then count
                    // ourselves back in (briefly above `max` if the pool grew meanwhile),
                    // so every thread running jobs is counted and joined.
                    match this.sched.find(local, &this.rx) {
                        Ok(job) => {
                            this.state.fetch_add(LIVE_ONE, Ordering::AcqRel);
                            this.run_or_drop(job, slot);
                        }
                        Err(_) => return false,
                    }
                }
            }
        }
    }

    /// Counts one more worker in, if below `max`, and starts it.
    fn grow(this: &Arc<Self>) {
        // Acquire: pairs with the AcqRel RMWs on `state`; the CAS below re-checks it.
        let mut s = this.state.load(Ordering::Acquire);
        loop {
            if live(s) >= this.max {
                return;
            }
            match this.state.compare_exchange_weak(
                s,
                s + LIVE_ONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    let _ = Inner::spawn_worker(this);
                    return;
                }
                Err(x) => s = x,
            }
        }
    }

    /// Leaves idle; also leaves live if the pool is above `min`. True if retired.
    fn retire(&self) -> bool {
        // Acquire: pairs with the AcqRel RMWs on `state`; the CAS below re-checks it.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let out = live(s) > self.min;
            let new = s - IDLE_ONE - if out { LIVE_ONE } else { 0 };
            // AcqRel: Acquire reads submits' Release CASes (their jobs are visible to our
            // look at the queue); see `after_send`.
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return out,
                Err(x) => s = x,
            }
        }
    }

    // --- shutdown ---

    /// Stops intake (closes the injector: sends in flight land or get their job back) and
    /// wakes every parked worker; with `abort`, drops the queued jobs (their promises
    /// complete as abandoned) instead of letting workers run them. Jobs that land later (a
    /// plain submit that was waiting for room took its place before the close) are dropped
    /// by the workers, which see `aborted`.
    pub(super) fn stop(this: &Arc<Self>, abort: bool) {
        if abort {
            this.aborted.store(true, Ordering::SeqCst);
        }
        this.tx.close();
        this.sched.notify_all();
        if abort {
            while let Ok(job) = this.rx.try_recv() {
                drop(job);
            }
            this.sched.abandon_stealable();
        }
    }

    /// Waits until every worker has exited, or `until` passes; then joins them. True if none
    /// is left. Workers that are themselves in `join` (a job that shuts its own pool down)
    /// are not waited for: they exit once their job returns.
    pub(super) fn join(this: &Arc<Self>, until: Until<'_>) -> bool {
        let own = Inner::on_worker(this);
        if own {
            this.joining_workers.fetch_add(1, Ordering::SeqCst);
            this.gate.notify_all(NOTIFIED); // another in-pool joiner may be waiting for us
        }
        // Stand-ins count as workers here: every thread the pool started is joined.
        let done = || {
            live(this.state.load(Ordering::SeqCst)) + this.stand_ins.live()
                <= this.joining_workers.load(Ordering::SeqCst)
        };
        let r = wait::wait_blocking(&this.gate, WaitPolicy::Park, until, || done().then_some(()));
        let all = r.is_some() || done();
        if own {
            this.joining_workers.fetch_sub(1, Ordering::SeqCst);
        }
        if all && !own {
            // Until none is left: a thread still running when we looked may start another
            // (a worker blocked in its last job starts a stand-in) before it exits.
            loop {
                let hs =
                    core::mem::take(&mut *this.handles.lock().unwrap_or_else(|e| e.into_inner()));
                if hs.is_empty() {
                    break;
                }
                for h in hs {
                    let _ = h.join();
                }
            }
        }
        all
    }

    // --- counters ---

    pub(super) fn workers(&self) -> usize {
        // Acquire: pairs with the AcqRel RMWs on `state` (a count read by callers).
        live(self.state.load(Ordering::Acquire))
    }

    pub(super) fn active(&self) -> usize {
        self.stats
            .iter()
            .map(|s| s.active.load(Ordering::Relaxed))
            .sum()
    }

    pub(super) fn completed(&self) -> u64 {
        self.stats
            .iter()
            .map(|s| s.completed.load(Ordering::Relaxed))
            .sum()
    }

    pub(super) fn panicked(&self) -> u64 {
        self.stats
            .iter()
            .map(|s| s.panicked.load(Ordering::Relaxed))
            .sum()
    }

    /// True once the pool is shut and no job is queued: none is left for a new thread to run.
    pub(super) fn is_drained(&self) -> bool {
        self.tx.is_closed() && self.queued() == 0
    }

    pub(super) fn is_shutdown(&self) -> bool {
        self.tx.is_closed()
    }

    /// Jobs queued now: the injector's and the deques'.
    pub(super) fn queued(&self) -> usize {
        self.rx.len() + self.sched.queued()
    }
}

/// Runs `f` here and returns its (already resolved) promise: the caller-runs path.
#[cfg_attr(any(lockgate_loom, lockgate_shuttle), allow(dead_code))] // no `spawn` under a model checker
pub(super) fn run_here<F, T>(inner: &Arc<Inner>, f: F) -> Promise<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (job, p) = Job::submit(Inner::id(inner), f);
    inner.run(job, inner.max);
    p
}

/// Hands a job the pool could not take back as a `Rejected`.
pub(super) fn rejected<F, T>(job: Job, full: bool) -> Rejected<F>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let f = job.into_closure::<F, T>();
    if full {
        Rejected::Full(f)
    } else {
        Rejected::Shutdown(f)
    }
}
