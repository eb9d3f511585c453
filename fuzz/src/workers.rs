//! The worker pool and pipeline checkers.
//!
//! `check_workers` drives a one-worker pool whose worker is held by a gate, so the queue's
//! fill is exact: try_submit, submit and execute against a capacity model, releases of the
//! gate (everything queued runs), shutdown (everything queued runs, later submits are
//! rejected with the job back) and abort (everything queued is dropped, its promises
//! abandoned), checking counters and every promise's outcome.
//!
//! `check_group` drives a `Group` (Go's errgroup) on a one-worker pool held by the same gate,
//! so its jobs run one at a time in spawn order when the gate opens: completion order is
//! spawn order, and the model (a list of queued jobs, the group's context as a flag, the
//! first failure) predicts every result, including which failure is first, what `try_spawn`
//! hands back at the limit, a spawn at the limit given up on a cancelled context, jobs an
//! abort drops and spawns onto a shut pool (`Abandoned`). Jobs never panic here: libFuzzer's
//! panic hook aborts even on a caught panic (tests/group.rs covers panics).
//!
//! `check_stealing` drives a pool of 1-3 workers whose jobs submit children onto their own
//! deques (the other workers steal them), in trees the input shapes, with a shutdown or an
//! abort where the input puts it. Timing decides who runs what, so the model is
//! conservation: every closure is dropped exactly once; every accepted job runs exactly once
//! (after an abort, runs or is dropped unrun, its promise abandoned); every refused one comes
//! back; values come back right.
//!
//! `check_pipeline` builds a pipeline of random stages over a random input and compares its
//! output with the same computation done sequentially (as a multiset once a stage may
//! reorder).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lockgate::barrier::Latch;
use lockgate::context::{Context, ContextError};
use lockgate::future::{Promise, PromiseError};
use lockgate::pipeline::{Pipeline, PipelineError};
use lockgate::workers::{Group, GroupError, Rejected, WorkerPool};

struct Gate {
    latch: Arc<Latch>,
    blocker: Promise<()>,
}

/// Aborts the pool while its worker is held by `g`: the gate opens only once abort has
/// emptied the queue, so the worker takes none of the queued jobs.
fn abort_while_held(pool: &WorkerPool, g: Gate) {
    let latch = g.latch.clone();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !(pool.is_shutdown() && pool.queued() == 0) {
                std::thread::yield_now();
            }
            latch.count_down();
        });
        pool.abort();
    });
    g.blocker.get().expect("blocker");
}

/// Occupies the pool's single worker until the gate opens; returns once the worker runs it
/// (the blocker says so itself: the pool's counters move a moment after a job is taken).
fn close_gate(pool: &WorkerPool) -> Gate {
    let latch = Arc::new(Latch::new(1));
    let started = Arc::new(AtomicUsize::new(0));
    let (l, s) = (latch.clone(), started.clone());
    let blocker = pool
        .submit(move || {
            s.store(1, Ordering::SeqCst);
            l.wait();
        })
        .unwrap_or_else(|_| panic!("the pool is open"));
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    Gate { latch, blocker }
}

/// Runs the byte-driven pool sequence and compares every observation with the model.
pub fn check_workers(data: &[u8]) {
    let Some((&cap, ops)) = data.split_first() else {
        return;
    };
    let cap = usize::from(cap % 4) + 1;
    // No stand-ins: the model holds the one worker in a blocked job and counts on the queue
    // staying put behind it (a stand-in would start running it after 50 µs).
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(cap)
        .max_stand_ins(0)
        .build();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut gate = Some(close_gate(&pool));
    // The model: jobs queued behind the held worker (and how many are `execute` jobs),
    // jobs completed, `execute` jobs run, shut down or not.
    let mut queued = 0usize;
    let mut queued_exec = 0usize;
    let mut completed = 0u64;
    let mut expect_ran = 0usize;
    let mut shut = false;
    // Accepted `submit`s not yet settled, with their value; settled ones with their outcome
    // (`None`: abandoned by an abort).
    let mut pending: Vec<(Promise<u8>, u8)> = Vec::new();
    let mut settled: Vec<(Promise<u8>, Option<u8>)> = Vec::new();

    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        match op % 6 {
            0 => match pool.try_submit(move || arg) {
                Ok(p) => {
                    assert!(!shut && queued < cap, "accepted past the model");
                    queued += 1;
                    pending.push((p, arg));
                }
                Err(Rejected::Full(f)) => {
                    assert!(!shut && queued == cap, "full, the model says not");
                    assert_eq!(f(), arg);
                }
                Err(Rejected::Shutdown(f)) => {
                    assert!(shut, "rejected before shutdown");
                    assert_eq!(f(), arg);
                }
            },
            // Blocking forms only where they cannot block: room, or shut down.
            1 if shut || queued < cap => match pool.submit(move || arg) {
                Ok(p) => {
                    assert!(!shut, "accepted after shutdown");
                    queued += 1;
                    pending.push((p, arg));
                }
                Err(e) => {
                    assert!(shut, "rejected before shutdown");
                    assert_eq!(e.into_inner()(), arg);
                }
            },
            2 if shut || queued < cap => {
                let r = ran.clone();
                let accepted = pool
                    .execute(move || {
                        r.fetch_add(1, Ordering::SeqCst);
                    })
                    .is_ok();
                assert_eq!(accepted, !shut, "execute accepted {accepted}, shut {shut}");
                if accepted {
                    queued += 1;
                    queued_exec += 1;
                }
            }
            3 | 4 if !shut => {
                // 3: open the gate, let everything queued run, close it again.
                // 4: open the gate and shut down: the queue drains, the worker exits.
                let g = gate.take().expect("the gate is closed while the pool runs");
                g.latch.count_down();
                if op % 6 == 4 {
                    pool.shutdown();
                    shut = true;
                }
                g.blocker.get().expect("blocker");
                completed += 1 + queued as u64;
                // Everything queued has finished once the counter says so.
                while pool.completed() < completed {
                    std::thread::yield_now();
                }
                expect_ran += queued_exec;
                settled.extend(pending.drain(..).map(|(p, v)| (p, Some(v))));
                (queued, queued_exec) = (0, 0);
                if !shut {
                    gate = Some(close_gate(&pool));
                }
            }
            5 if !shut => {
                // Abort while the worker is held: every queued job is dropped. The gate opens
                // only once abort has emptied the queue, so the worker takes none of them.
                abort_while_held(
                    &pool,
                    gate.take().expect("the gate is closed while the pool runs"),
                );
                shut = true;
                completed += 1;
                settled.extend(pending.drain(..).map(|(p, _)| (p, None)));
                (queued, queued_exec) = (0, 0);
            }
            _ => {}
        }
        assert_eq!(pool.queued(), queued, "queued");
        assert_eq!(pool.completed(), completed, "completed");
    }
    if let Some(g) = gate.take() {
        g.latch.count_down();
        g.blocker.get().expect("blocker");
        completed += 1 + queued as u64;
        expect_ran += queued_exec;
        settled.extend(pending.drain(..).map(|(p, v)| (p, Some(v))));
    }
    pool.shutdown();
    assert_eq!(pool.completed(), completed, "completed at the end");
    for (p, want) in settled {
        match (p.get(), want) {
            (Ok(x), Some(v)) => assert_eq!(x, v),
            (Err(PromiseError::Abandoned), None) => {}
            (got, want) => panic!("got {got:?}, model {want:?}"),
        }
    }
    assert_eq!(ran.load(Ordering::SeqCst), expect_ran, "execute jobs run");
}

/// Counts its drop: one per closure, whether it ran, came back refused, or was dropped by an
/// abort.
struct Tally(Arc<AtomicUsize>);

impl Drop for Tally {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The counters of `check_stealing`.
#[derive(Default)]
struct Counts {
    made: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
    ran: AtomicUsize,
    dropped: Arc<AtomicUsize>,
}

/// A job that bumps `ran` and submits `kids` children from inside (onto its worker's deque),
/// each of which submits `grandkids` more; every closure carries a `Tally`.
fn tree_job(
    pool: Arc<WorkerPool>,
    c: Arc<Counts>,
    kids: u8,
    grandkids: u8,
) -> impl FnOnce() + Send {
    c.made.fetch_add(1, Ordering::SeqCst);
    let tally = Tally(c.dropped.clone());
    move || {
        let _tally = tally;
        c.ran.fetch_add(1, Ordering::SeqCst);
        for _ in 0..kids {
            let job = tree_job(pool.clone(), c.clone(), grandkids, 0);
            match pool.execute(job) {
                Ok(()) => c.accepted.fetch_add(1, Ordering::SeqCst),
                Err(back) => {
                    drop(back.into_inner());
                    c.refused.fetch_add(1, Ordering::SeqCst)
                }
            };
        }
    }
}

/// Runs the byte-driven stealing sequence and checks conservation (see the module docs).
pub fn check_stealing(data: &[u8]) {
    let Some((&conf, ops)) = data.split_first() else {
        return;
    };
    let workers = usize::from(conf % 3) + 1;
    let pool = Arc::new(
        WorkerPool::builder()
            .workers(workers)
            .queue_capacity(usize::from(conf / 3 % 4) + 1)
            .build(),
    );
    let c = Arc::new(Counts::default());
    let mut awaited: Vec<Promise<()>> = Vec::new();
    let mut aborted = false;
    for &op in ops.iter().take(48) {
        let (kids, grandkids) = ((op >> 2) % 4, (op >> 4) % 3);
        match op % 5 {
            0 | 1 => {
                let job = tree_job(pool.clone(), c.clone(), kids, grandkids);
                let r = if op % 5 == 0 {
                    pool.submit(job).map(|p| awaited.push(p))
                } else {
                    pool.execute(job)
                };
                match r {
                    Ok(()) => c.accepted.fetch_add(1, Ordering::SeqCst),
                    Err(back) => {
                        assert!(pool.is_shutdown(), "refused before shutdown");
                        drop(back.into_inner());
                        c.refused.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
            2 => {
                // Wait for what was awaited so far: the pool keeps running meanwhile.
                for p in awaited.drain(..) {
                    match p.get() {
                        Ok(()) => {}
                        Err(PromiseError::Abandoned) => assert!(aborted, "abandoned without abort"),
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            3 => pool.shutdown(),
            _ => {
                pool.abort();
                aborted = true;
            }
        }
    }
    pool.shutdown();
    for p in awaited {
        match p.get() {
            Ok(()) => {}
            Err(PromiseError::Abandoned) => assert!(aborted, "abandoned without abort"),
            Err(e) => panic!("{e}"),
        }
    }
    let (made, accepted, refused) = (
        c.made.load(Ordering::SeqCst),
        c.accepted.load(Ordering::SeqCst),
        c.refused.load(Ordering::SeqCst),
    );
    let ran = c.ran.load(Ordering::SeqCst);
    assert_eq!(
        made,
        accepted + refused,
        "a job neither accepted nor refused"
    );
    assert_eq!(
        c.dropped.load(Ordering::SeqCst),
        made,
        "a closure not dropped exactly once"
    );
    if aborted {
        assert!(ran <= accepted, "ran {ran} of {accepted} accepted");
    } else {
        assert_eq!(ran, accepted, "an accepted job did not run exactly once");
    }
    assert_eq!(pool.workers(), 0);
}

/// Why a group job failed: its own error, or the group's context seen ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobErr {
    Own(u8),
    Stopped,
}

/// What a group job does when it runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Ok(u8),
    Err(u8),
    /// `Err(Stopped)` if the group's context has ended, else `Ok`.
    Check(u8),
}

/// The group model: jobs queued behind the gate, the group's context, the first failure.
struct GroupModel {
    /// Queued group jobs, in spawn order: (index, kind). Each holds a slot of the limit.
    queued: Vec<(usize, Kind)>,
    /// The value of every job, by index, once it succeeded.
    values: Vec<Option<u8>>,
    ctx_done: bool,
    first: Option<GroupError<JobErr>>,
}

impl GroupModel {
    fn fail(&mut self, e: GroupError<JobErr>) {
        if self.first.is_none() {
            self.first = Some(e);
        }
        self.ctx_done = true;
    }

    /// The queued jobs run, one at a time, in spawn order.
    fn run_queued(&mut self) {
        for (i, kind) in std::mem::take(&mut self.queued) {
            match kind {
                Kind::Ok(v) => self.values[i] = Some(v),
                Kind::Check(v) if !self.ctx_done => self.values[i] = Some(v),
                Kind::Check(_) => self.fail(GroupError::Failed(JobErr::Stopped)),
                Kind::Err(v) => self.fail(GroupError::Failed(JobErr::Own(v))),
            }
        }
    }
}

fn group_job(kind: Kind, ctx: Context) -> impl FnOnce() -> Result<u8, JobErr> + Send + 'static {
    move || match kind {
        Kind::Ok(v) => Ok(v),
        Kind::Err(v) => Err(JobErr::Own(v)),
        Kind::Check(_) if ctx.is_done() => Err(JobErr::Stopped),
        Kind::Check(v) => Ok(v),
    }
}

/// Jobs queued behind the gate at most: the pool's queue never fills, so no submit waits.
const GROUP_QUEUE: usize = 48;

/// Runs the byte-driven group sequence and compares every observation with the model.
pub fn check_group(data: &[u8]) {
    let Some((&conf, ops)) = data.split_first() else {
        return;
    };
    // Limit: none, or 1 to 3 jobs in flight; the group under a cancellable parent or not.
    let limit = usize::from(conf % 4);
    let (parent, cancel) = Context::background().with_cancel();
    let pool = WorkerPool::builder()
        .workers(1)
        .queue_capacity(GROUP_QUEUE + 2)
        .max_stand_ins(0) // the held worker must not be compensated (see `check`)
        .build();
    let mut g = Group::<u8, JobErr>::with_context(&parent);
    if limit > 0 {
        g = g.with_limit(limit);
    }
    let mut gate = Some(close_gate(&pool));
    let mut m = GroupModel {
        queued: Vec::new(),
        values: Vec::new(),
        ctx_done: false,
        first: None,
    };
    let mut shut = false;
    let mut parent_cancelled = false;
    for pair in ops.chunks(2) {
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let at_limit = limit > 0 && m.queued.len() == limit;
        // One job in eight fails on its own, one in eight checks the context.
        let kind = match arg % 8 {
            0 => Kind::Err(arg),
            1 => Kind::Check(arg),
            _ => Kind::Ok(arg),
        };
        // Ending ops are rare (they need a high `arg`), so sequences run long before them.
        match op % 16 {
            // A spawn; at the limit only once the context has ended (it gives up at once),
            // never one that would wait for a slot the closed gate keeps.
            0..=5 if m.queued.len() < GROUP_QUEUE && (!at_limit || m.ctx_done) => {
                let index = g.len();
                g.spawn_on(&pool, group_job(kind, g.context().clone()));
                m.values.push(None);
                if at_limit {
                    m.fail(GroupError::Cancelled(ContextError::Canceled));
                } else if shut {
                    m.fail(GroupError::Abandoned);
                } else {
                    m.queued.push((index, kind));
                }
            }
            6 | 7 if m.queued.len() < GROUP_QUEUE => {
                let index = g.len();
                match g.try_spawn_on(&pool, group_job(kind, g.context().clone())) {
                    Ok(()) => {
                        assert!(!at_limit, "try_spawn spawned at the limit");
                        m.values.push(None);
                        if shut {
                            m.fail(GroupError::Abandoned);
                        } else {
                            m.queued.push((index, kind));
                        }
                    }
                    Err(f) => {
                        assert!(at_limit, "try_spawn handed back below the limit");
                        let want = match kind {
                            Kind::Ok(v) => Ok(v),
                            Kind::Err(v) => Err(JobErr::Own(v)),
                            Kind::Check(_) if m.ctx_done => Err(JobErr::Stopped),
                            Kind::Check(v) => Ok(v),
                        };
                        assert_eq!(f(), want, "the job came back whole");
                    }
                }
            }
            // Open the gate: the queued jobs run in order; a job submitted behind them
            // completes after them (one worker), which orders what they did before our reads.
            8..=10 if !shut => {
                let g8 = gate.take().expect("the gate is closed while the pool runs");
                g8.latch.count_down();
                g8.blocker.get().expect("blocker");
                pool.submit(|| ()).expect("open").get().expect("marker");
                m.run_queued();
                gate = Some(close_gate(&pool));
            }
            11 if arg >= 128 => {
                cancel.cancel();
                parent_cancelled = true;
                m.ctx_done = true;
            }
            // Abort while the worker is held: the queued group jobs are dropped unrun.
            12 if arg >= 192 && !shut => {
                abort_while_held(
                    &pool,
                    gate.take().expect("the gate is closed while the pool runs"),
                );
                shut = true;
                if !m.queued.is_empty() {
                    m.queued.clear();
                    m.fail(GroupError::Abandoned);
                }
            }
            // Shut down: the queue drains (the queued jobs run), later spawns are refused.
            13 if arg >= 192 && !shut => {
                let g8 = gate.take().expect("the gate is closed while the pool runs");
                g8.latch.count_down();
                pool.shutdown();
                g8.blocker.get().expect("blocker");
                shut = true;
                m.run_queued();
            }
            _ => {}
        }
        assert_eq!(g.context().is_done(), m.ctx_done, "the group's context");
        assert_eq!(g.len(), m.values.len(), "jobs spawned");
    }
    if let Some(g8) = gate.take() {
        g8.latch.count_down();
        g8.blocker.get().expect("blocker");
        pool.shutdown();
        m.run_queued();
    }
    let got = g.wait();
    match m.first {
        Some(e) => assert_eq!(got, Err(e)),
        None => {
            let want: Vec<u8> = m.values.iter().map(|v| v.expect("every job ran")).collect();
            assert_eq!(got, Ok(want));
        }
    }
    assert_eq!(
        parent.is_done(),
        parent_cancelled,
        "the group never cancels its parent"
    );
}

#[derive(Debug)]
struct Bad;
impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad")
    }
}
impl std::error::Error for Bad {}

/// Builds a pipeline of byte-chosen stages and compares it with the sequential computation.
pub fn check_pipeline(data: &[u8]) {
    let Some((&n_stages, rest)) = data.split_first() else {
        return;
    };
    let n_stages = usize::from(n_stages % 5);
    if rest.len() < n_stages * 2 {
        return;
    }
    let (stages, input) = rest.split_at(n_stages * 2);
    let input: Vec<u32> = input.iter().map(|&b| u32::from(b)).collect();
    let mut p =
        Pipeline::from_iter_with(input.clone(), &lockgate::context::Context::background(), 1);
    // `model`: what must come out (up to a failure); `reach`: every item that could come
    // out before a failure when a reordering stage lets any passing item go first.
    let mut reach: Vec<u32> = input.clone();
    let mut model: Vec<u32> = input;
    let mut reorders = false;
    let mut failed = false;
    for st in stages.chunks(2) {
        let (kind, a) = (st[0] % 6, u32::from(st[1]));
        p = match kind {
            0 => {
                model = model.iter().map(|v| v.wrapping_add(a)).collect();
                reach = reach.iter().map(|v| v.wrapping_add(a)).collect();
                p.map(move |v| v.wrapping_add(a))
            }
            1 => {
                let m = a % 5 + 1;
                model.retain(|v| v % m != 0);
                reach.retain(|v| v % m != 0);
                p.filter(move |v| v % m != 0)
            }
            2 => {
                reorders = true;
                model = model.iter().map(|v| v.wrapping_mul(3)).collect();
                reach = reach.iter().map(|v| v.wrapping_mul(3)).collect();
                p.fan_out(usize::from(st[1] % 3) + 1, |v| v.wrapping_mul(3))
            }
            3 => {
                model = model.iter().map(|v| v ^ a).collect();
                reach = reach.iter().map(|v| v ^ a).collect();
                p.par_map_ordered(usize::from(st[1] % 3) + 1, move |v| v ^ a)
            }
            4 if !failed => {
                // Fails on the first item equal to `a`; the model keeps what came before it.
                if let Some(i) = model.iter().position(|&v| v == a) {
                    model.truncate(i);
                    failed = true;
                }
                reach.retain(|&v| v != a);
                p.try_map(move |v| if v == a { Err(Bad) } else { Ok(v) })
            }
            _ => p.capacity(usize::from(st[1] % 3)),
        };
    }
    let mut got = Vec::new();
    let mut err = None;
    loop {
        match p.recv() {
            Ok(Some(v)) => got.push(v),
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    match (failed, err) {
        (false, None) => {
            if reorders {
                got.sort_unstable();
                model.sort_unstable();
            }
            assert_eq!(got, model);
        }
        (true, Some(PipelineError::Failed(_))) => {
            // Before the failure: exactly the model's prefix when nothing reorders; with a
            // reordering stage, which items passed first is up to the scheduler.
            if !reorders {
                assert_eq!(got, model);
            } else {
                // A sub-multiset of what could pass.
                let mut left = reach.clone();
                for v in &got {
                    let i = left
                        .iter()
                        .position(|w| w == v)
                        .expect("an item that cannot pass");
                    left.swap_remove(i);
                }
            }
        }
        (f, e) => panic!("model failed: {f}, pipeline error: {e:?}"),
    }
}
