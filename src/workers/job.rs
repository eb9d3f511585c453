//! A pool's job. A fire-and-forget job (`execute`) whose closure fits in three words travels
//! inline, in the queue's slot: no allocation. Any other job is a closure and the resolver
//! of its promise, in one shared cell that the
//! queue and the promise both hold, so that either a worker (dequeuing it) or the promise's
//! reader (claiming it through the blocking hook, `wait/hook.rs`) runs it: whoever swaps the
//! claim flag first, exactly once. The other finds the cell empty and moves on. A job the
//! pool drops unrun (abort, a closed queue) is claimed by its queue handle's `Drop`, which
//! drops the resolver: its promise completes as abandoned at once, although the promise still
//! holds the cell.

use core::any::TypeId;
use core::mem::{align_of, size_of, ManuallyDrop, MaybeUninit};
use core::ptr::NonNull;

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
        // consumes it; its `Drop` runs only if it did not run): no election needed. An
        // unshared cell is never handed to a promise: only `Job::submit` clones a cell into
        // one, and it makes shared cells (`execute` and `into_raw` make unshared ones).
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

/// The type-erased head of every job cell: what a queued [`Job`] (one thin pointer, so that
/// a work-stealing deque slot can hold it atomically) needs to run, abandon or recover it.
#[repr(C)]
pub(super) struct Header {
    /// Runs the job unless taken (`Job::run`); consumes the queue's reference.
    run: unsafe fn(NonNull<Header>) -> Option<bool>,
    /// Abandons the job unless taken, and drops the queue's reference.
    abandon: unsafe fn(NonNull<Header>),
    /// The cell's type, checked before a refused job's closure is recovered.
    type_id: fn() -> TypeId,
}

/// A job cell with its header first (`repr(C)`): a pointer to the cell is a pointer to the
/// header, and back.
#[repr(C)]
struct Cell<F, T: Send + 'static> {
    header: Header,
    job: JobCell<F, T>,
}

impl<F, T> Cell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn new(job: JobCell<F, T>) -> StdArc<Self> {
        StdArc::new(Cell {
            header: Header {
                run: Self::run,
                abandon: Self::abandon,
                type_id: TypeId::of::<Self>,
            },
            job,
        })
    }

    /// The queue's reference back from its pointer.
    ///
    /// # Safety
    /// `p` came from `StdArc::into_raw` of a `Cell<F, T>` (see `Job::new`), and the
    /// reference it stands for is consumed by this call (once).
    unsafe fn from_header(p: NonNull<Header>) -> StdArc<Self> {
        // SAFETY: the caller's contract; `repr(C)` puts the header at the cell's address.
        unsafe { StdArc::from_raw(p.as_ptr().cast::<Self>()) }
    }

    unsafe fn run(p: NonNull<Header>) -> Option<bool> {
        // SAFETY: the contract of `Header::run`, which `Job::run` keeps (it forgets itself).
        let cell = unsafe { Self::from_header(p) };
        cell.job.run_claimed()
    }

    unsafe fn abandon(p: NonNull<Header>) {
        // SAFETY: as in `run`: called once, from the queue handle's `Drop`.
        let cell = unsafe { Self::from_header(p) };
        drop(cell.job.take());
    }
}

/// A queued job: inline, or the queue's reference to a job cell. Dropped unrun, it
/// abandons the job (unless its promise's reader took it).
pub(super) struct Job(Repr);

enum Repr {
    /// The queue's reference to a cell, as one thin pointer.
    Cell(NonNull<Header>),
    /// A small closure, by value.
    Inline(Inline),
}

/// The closure's words and what to do with them. Invariant: `data` holds an `F` of the
/// type `vtable` was made for, moved in by `Inline::new` and moved out at most once (by
/// `call`, `drop` or `into_closure`, each of which consumes the `Inline`).
struct Inline {
    vtable: &'static InlineVTable,
    data: MaybeUninit<[usize; INLINE_WORDS]>,
}

/// The words an inline closure may take.
const INLINE_WORDS: usize = 3;

struct InlineVTable {
    /// Moves the closure out of the words and calls it.
    call: unsafe fn(*mut u8),
    /// Moves the closure out of the words and drops it.
    drop: unsafe fn(*mut u8),
    type_id: fn() -> TypeId,
}

impl Inline {
    /// `f` inline, if it fits (size and alignment).
    fn new<F: FnOnce() + Send + 'static>(f: F) -> Result<Inline, F> {
        if size_of::<F>() > size_of::<[usize; INLINE_WORDS]>()
            || align_of::<F>() > align_of::<usize>()
        {
            return Err(f);
        }
        let mut data = MaybeUninit::<[usize; INLINE_WORDS]>::uninit();
        // SAFETY: `F` fits the words and their alignment (checked above); the words are
        // ours and uninitialised, so nothing is overwritten.
        unsafe { data.as_mut_ptr().cast::<F>().write(f) };
        Ok(Inline {
            vtable: Self::vtable::<F>(),
            data,
        })
    }

    fn vtable<F: FnOnce() + Send + 'static>() -> &'static InlineVTable {
        trait Table {
            const TABLE: InlineVTable;
        }
        impl<F: FnOnce() + Send + 'static> Table for F {
            const TABLE: InlineVTable = InlineVTable {
                call: |p| {
                    // SAFETY: `p` holds an `F` (the invariant on `Inline`), moved out once.
                    let f = unsafe { p.cast::<F>().read() };
                    f()
                },
                drop: |p| {
                    // SAFETY: as in `call`.
                    drop(unsafe { p.cast::<F>().read() })
                },
                type_id: TypeId::of::<F>,
            };
        }
        &<F as Table>::TABLE
    }

    /// Runs the closure, containing a panic: whether it panicked.
    fn run(self) -> bool {
        let mut this = ManuallyDrop::new(self);
        let call = this.vtable.call;
        let p = this.data.as_mut_ptr().cast::<u8>();
        // SAFETY: the words hold the closure (the invariant); `this` is never dropped, so
        // it is moved out exactly once, here.
        catch(|| unsafe { call(p) }).is_err()
    }

    fn into_closure<F: 'static>(self) -> F {
        assert!(
            (self.vtable.type_id)() == TypeId::of::<F>(),
            "a refused job is the one just built"
        );
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the words hold an `F` (checked above); `this` is never dropped.
        unsafe { this.data.as_mut_ptr().cast::<F>().read() }
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        // SAFETY: the words hold the closure, moved out here once (`run` and
        // `into_closure` skip this drop).
        unsafe { (self.vtable.drop)(self.data.as_mut_ptr().cast::<u8>()) }
    }
}

// SAFETY: a `Job` is an `Arc` reference to a cell whose closure and result are `Send`, and
// whose shared part is `Sync` (see `JobCell`), or an inline closure that is `Send` (`new`
// requires it); moving either to another thread is sound.
unsafe impl Send for Job {}

impl Job {
    fn new<F, T>(cell: StdArc<Cell<F, T>>) -> Job
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let p = StdArc::into_raw(cell).cast_mut().cast::<Header>();
        // SAFETY: `Arc::into_raw` never returns null.
        Job(Repr::Cell(unsafe { NonNull::new_unchecked(p) }))
    }

    /// A job for `submit`: the queue's handle, and its promise holding the same cell.
    pub(super) fn submit<F, T>(pool: usize, f: F) -> (Job, Promise<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (r, p) = Promise::pending();
        let cell = Cell::new(JobCell::new(pool, f, Some(r)));
        let claim: StdArc<dyn Claim> = cell.clone();
        let p = p.with_job(claim);
        (Job::new(cell), p)
    }

    /// A job for `execute`: nobody waits for its result. Inline if `f` fits.
    pub(super) fn execute<F: FnOnce() + Send + 'static>(pool: usize, f: F) -> Job {
        match Inline::new(f) {
            Ok(i) => Job(Repr::Inline(i)),
            Err(f) => Job::new(Cell::new(JobCell::<F, ()>::new(pool, f, None))),
        }
    }

    /// Runs the job here unless someone took it: `None` then, else whether it panicked.
    /// Consumes the handle without its `Drop` (nothing is left to abandon).
    pub(super) fn run(self) -> Option<bool> {
        match self.into_repr() {
            Repr::Inline(i) => Some(i.run()),
            Repr::Cell(p) => {
                // SAFETY: `p` is this handle's reference, given up by `into_repr`; the
                // header's functions are those of the cell's own type (set in `Cell::new`).
                unsafe { (p.as_ref().run)(p) }
            }
        }
    }

    /// The representation, without this handle's `Drop`.
    fn into_repr(self) -> Repr {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again; the field is moved out once.
        unsafe { core::ptr::read(&this.0) }
    }

    /// The handle as one thin pointer (for a deque slot); `from_raw` takes it back. An
    /// inline job moves into a cell of its own here (an allocation: deque slots hold one
    /// word).
    pub(super) fn into_raw(self) -> NonNull<Header> {
        match self.into_repr() {
            Repr::Cell(p) => p,
            Repr::Inline(i) => {
                let boxed = Job::new(Cell::new(JobCell::<_, ()>::new(
                    0,
                    move || {
                        // A panic propagates to the cell's own `catch`.
                        if i.run() {
                            std::panic::resume_unwind(Box::new("a pool job panicked"));
                        }
                    },
                    None,
                )));
                boxed.into_raw()
            }
        }
    }

    /// A handle back from [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    /// `p` came from `into_raw` and is taken back once.
    pub(super) unsafe fn from_raw(p: NonNull<Header>) -> Job {
        Job(Repr::Cell(p))
    }

    /// The closure of a job the pool refused, for the caller. Precondition: nobody else can
    /// have claimed it (its promise, if any, was dropped unseen), and it was built for
    /// exactly `F` and `T`; both hold for the job a submit just built.
    pub(super) fn into_closure<F, T>(self) -> F
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let p = match self.into_repr() {
            Repr::Inline(i) => return i.into_closure::<F>(),
            Repr::Cell(p) => p,
        };
        // SAFETY: the header lives as long as the cell, which this handle keeps alive.
        let type_id = unsafe { (p.as_ref().type_id)() };
        assert!(
            type_id == TypeId::of::<Cell<F, T>>(),
            "a refused job is the one just built"
        );
        // SAFETY: the type was checked above; the handle's reference is consumed here.
        let cell = unsafe { Cell::<F, T>::from_header(p) };
        match cell.job.take() {
            // The resolver drops here: its promise was never handed out.
            Some((f, _resolver)) => f,
            None => unreachable!("a refused job is unclaimed"),
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Repr::Cell(p) = self.0 {
            // SAFETY: this handle's reference, consumed once (we are its `Drop`); the
            // header matches the cell's type.
            unsafe { (p.as_ref().abandon)(p) }
        }
        // An inline job's closure drops with the field (`Inline`'s own `Drop`).
    }
}

/// The promise's view of a job cell: `Claim` on the whole cell (header included).
impl<F, T> Claim for Cell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn pool(&self) -> usize {
        self.job.pool()
    }

    fn run_claimed(&self) -> Option<bool> {
        self.job.run_claimed()
    }
}
