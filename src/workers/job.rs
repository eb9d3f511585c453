//! A pool's job: the closure and the resolver of its promise, in one shared cell that the
//! queue and the promise both hold, so that either a worker (dequeuing it) or the promise's
//! reader (claiming it through the blocking hook, `wait/hook.rs`) runs it: whoever swaps the
//! claim flag first, exactly once. The other finds the cell empty and moves on. A job the
//! pool drops unrun (abort, a closed queue) is claimed by its queue handle's `Drop`, which
//! drops the resolver: its promise completes as abandoned at once, although the promise still
//! holds the cell.

use core::any::Any;

use crate::future::{catch, Promise, Resolver};
use crate::sync::{AtomicBool, Ordering, StdArc, UnsafeCell};
use crate::wait::hook::Claim;

/// The closure, and the resolver of its promise (`None` for `execute`).
type Body<F, T> = (F, Option<Resolver<T>>);

pub(super) struct JobCell<F, T: Send + 'static> {
    /// The pool's identity (`Hook::pool`).
    pool: usize,
    /// Whether a promise holds this cell too (`submit`); without one (`execute`) the queue's
    /// handle is the only one that can take the job, and takes it without the swap.
    shared: bool,
    /// False until one thread takes the job (see `take`).
    claimed: AtomicBool,
    /// Invariant: accessed only by the thread whose swap of `claimed` returned false (the
    /// taker), once; before that by nobody (it was filled before the cell was shared).
    body: UnsafeCell<Option<Body<F, T>>>,
}

// SAFETY: the body moves to the one thread that takes it (`F: Send`, `T: Send`); no two
// threads ever touch it (the invariant on `body`); the rest is an atomic and a number.
unsafe impl<F: Send, T: Send> Sync for JobCell<F, T> {}

impl<F, T> JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    pub(super) fn new(pool: usize, f: F, resolver: Option<Resolver<T>>) -> Self {
        JobCell {
            pool,
            shared: resolver.is_some(),
            claimed: AtomicBool::new(false),
            body: UnsafeCell::new(Some((f, resolver))),
        }
    }

    /// The body, if this call is the first to claim the job.
    fn take(&self) -> Option<Body<F, T>> {
        if self.shared {
            // Relaxed: the swap only elects the taker (an RMW's atomicity); the body was
            // written before the cell was shared (the queue's send and the promise's
            // hand-over order that write before any claim), and the `Arc`'s count orders the
            // cell's final drop.
            if self.claimed.swap(true, Ordering::Relaxed) {
                return None;
            }
        }
        // Unshared, the queue's handle is the only caller, and it calls once (`Job::run`
        // consumes it; its `Drop` runs only if it did not run): no election needed.
        // SAFETY: we are the taker (the swap returned false): the only access to `body`.
        self.body.with_mut(|b| unsafe { (*b).take() })
    }
}

impl<F, T> Claim for JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn pool(&self) -> usize {
        self.pool
    }

    fn run_claimed(&self) -> Option<bool> {
        let (f, resolver) = self.take()?;
        let out = catch(f);
        let panicked = out.is_err();
        match resolver {
            Some(r) => r.complete(out),
            None => drop(out),
        }
        Some(panicked)
    }
}

/// What the queue holds: a job cell, typed away.
pub(super) trait Task: Claim {
    /// Claims and drops the body if nobody took it (its promise becomes abandoned).
    fn abandon(&self);
    /// The cell, for the downcast that hands a refused closure back.
    fn into_any(self: StdArc<Self>) -> StdArc<dyn Any + Send + Sync>;
}

impl<F, T> Task for JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn abandon(&self) {
        drop(self.take());
    }

    fn into_any(self: StdArc<Self>) -> StdArc<dyn Any + Send + Sync> {
        self
    }
}

/// A queued job. Dropped unrun, it abandons the job (unless its promise's reader took it).
pub(super) struct Job(StdArc<dyn Task>);

impl Job {
    /// A job for `submit`: the queue's handle, and its promise holding the same cell.
    pub(super) fn submit<F, T>(pool: usize, f: F) -> (Job, Promise<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (r, p) = Promise::pending();
        let cell = StdArc::new(JobCell::new(pool, f, Some(r)));
        let p = p.with_job(cell.clone());
        (Job(cell), p)
    }

    /// A job for `execute`: nobody waits for its result.
    pub(super) fn execute<F: FnOnce() + Send + 'static>(pool: usize, f: F) -> Job {
        Job(StdArc::new(JobCell::<F, ()>::new(pool, f, None)))
    }

    /// Runs the job here unless someone took it: `None` then, else whether it panicked.
    /// Consumes the handle without its `Drop` (nothing is left to abandon).
    pub(super) fn run(self) -> Option<bool> {
        self.into_cell().run_claimed()
    }

    /// The cell, without this handle's `Drop` (which would abandon the job).
    fn into_cell(self) -> StdArc<dyn Task> {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the `Arc` is moved out exactly once.
        unsafe { core::ptr::read(&this.0) }
    }

    /// The closure of a job the pool refused, for the caller. Precondition: nobody else can
    /// have claimed it (its promise, if any, was dropped unseen), and it was built for
    /// exactly `F` and `T`; both hold for the job a submit just built.
    pub(super) fn into_closure<F, T>(self) -> F
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.into_cell().into_any().downcast::<JobCell<F, T>>() {
            Ok(cell) => match cell.take() {
                // The resolver drops here: its promise was never handed out.
                Some((f, _resolver)) => f,
                None => unreachable!("a refused job is unclaimed"),
            },
            Err(_) => unreachable!("a refused job is the one just built"),
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
