//! The shared state of one promise: a write-once result cell, a Treiber stack of
//! continuations, a wait list for blocking readers and an atomic waker for one async reader.
//!
//! Protocol (the shape of Java's `CompletableFuture` and of Scala's `Promise`, with the
//! event-count wake-up of `src/wait`):
//!
//! ```text
//!   resolver (exactly one)                 readers
//!   write the result into `value`          get: state == READY? take (CAS READY -> TAKEN)
//!   state.swap(READY)      (SeqCst RMW)         else wait_blocking on `waiters`
//!   reactions.swap(DONE)   (AcqRel)        then: push a reaction unless the head is DONE,
//!   run the reactions, oldest first               in which case run it at once
//!   waiters.notify_all; waker.wake         poll: register the waker, re-check READY
//! ```
//!
//! Exactly one side runs each continuation: a registrar whose CAS pushed before the resolver's
//! swap has its reaction taken by the resolver; one that finds `DONE` runs it itself. Nothing
//! is locked on the way: resolving a promise nobody waits on costs two RMWs and two loads, and
//! reading a resolved one a load and a CAS.
//!
//! Continuations of continuations (a chain resolved at once) would recurse once per link; a
//! thread-local trampoline runs them in a loop instead, so a chain of any length cannot
//! overflow the stack.

use core::cell::RefCell;
use core::mem::MaybeUninit;
use core::ptr::{self, NonNull};
use std::collections::VecDeque;

use super::PromiseError;
use crate::sync::{thread_local, Arc, AtomicPtr, AtomicUsize, AtomicWaker, Ordering, UnsafeCell};
use crate::wait::{self, Until, WaitList, WaitPolicy, NOTIFIED};

/// No result yet.
const PENDING: usize = 0;
/// The result is in `value`.
const READY: usize = 1;
/// The unique consumer took the result out of `value`.
const TAKEN: usize = 2;

pub(crate) type Outcome<T> = Result<T, PromiseError>;

/// A continuation: runs once with the cell after the result is in.
type React<T> = Box<dyn FnOnce(&Arc<Cell<T>>) + Send>;

struct Reaction<T> {
    /// The next older reaction; only the pusher writes it, before its publishing CAS.
    next: *mut Reaction<T>,
    run: React<T>,
}

pub(crate) struct Cell<T> {
    /// `PENDING` -> `READY` once, by the resolver's SeqCst swap (the condition write that
    /// `waiters`' protocol pairs with; its Release half publishes `value`). `READY` ->
    /// `TAKEN` once, by the unique `Promise` taking the result (never for shared promises).
    state: AtomicUsize,
    /// Written once by the resolver while `PENDING` (no one reads it then); read only after
    /// an Acquire load (or RMW) saw `READY`. Initialized exactly when `state == READY`.
    value: UnsafeCell<MaybeUninit<Outcome<T>>>,
    /// Continuations not yet run, newest first, or `done()` once the resolver took them.
    /// Nodes are `Box`es owned by the stack until taken.
    reactions: AtomicPtr<Reaction<T>>,
    /// Blocking readers.
    waiters: WaitList<()>,
    /// The one async reader (`Promise` is the only future over a cell, and it is unique).
    waker: AtomicWaker,
}

// SAFETY: the result moves between threads as a `T` (needs `T: Send`); shared promises hand
// out clones from `&T` on many threads, which their own impls gate on `T: Sync`. All other
// fields are atomics, a wait list and boxes of `Send` closures.
unsafe impl<T: Send> Send for Cell<T> {}
// SAFETY: as above; concurrent access to `value` follows the state protocol.
unsafe impl<T: Send> Sync for Cell<T> {}

/// The sentinel head of a resolved cell's stack: a well-aligned address no `Box` can have.
fn done<T>() -> *mut Reaction<T> {
    NonNull::dangling().as_ptr()
}

impl<T> Cell<T> {
    pub(crate) fn new() -> Self {
        Cell {
            state: AtomicUsize::new(PENDING),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            reactions: AtomicPtr::new(ptr::null_mut()),
            waiters: WaitList::new(),
            waker: AtomicWaker::new(),
        }
    }

    /// True once the result is in (one load).
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        // SeqCst: the re-check of `waiters`' protocol; Acquire alone would do for the value.
        self.state.load(Ordering::SeqCst) != PENDING
    }

    /// Stores the result and runs every continuation, then wakes every reader.
    ///
    /// # Safety
    /// Called at most once per cell (by its unique resolver).
    pub(crate) unsafe fn complete(this: &Arc<Self>, outcome: Outcome<T>)
    where
        T: Send + 'static,
    {
        // SAFETY: PENDING, and we are the only writer (caller contract); no reader touches
        // `value` before it sees READY below.
        this.value.with_mut(|v| unsafe { (*v).write(outcome) });
        // SeqCst RMW: publishes the value (Release) and is the condition write that blocking
        // readers' SeqCst re-check pairs with (see `WaitList::has_waiters`).
        this.state.swap(READY, Ordering::SeqCst);
        // AcqRel: Acquire pairs with each registrar's Release CAS (their nodes are complete);
        // Release pairs with a later registrar's Acquire load of `done` (it sees the value).
        let mut head = this.reactions.swap(done(), Ordering::AcqRel);
        // Oldest first: reverse the stack.
        let mut oldest = ptr::null_mut();
        while !head.is_null() {
            // SAFETY: every node on the stack is a leaked `Box` whose ownership the swap
            // gave us; `next` was written before the node was published.
            let next = unsafe { (*head).next };
            // SAFETY: as above.
            unsafe { (*head).next = oldest };
            oldest = head;
            head = next;
        }
        while !oldest.is_null() {
            // SAFETY: ours since the swap; each node is taken out of the list exactly once.
            let node = unsafe { Box::from_raw(oldest) };
            oldest = node.next;
            run_reaction(this.clone(), node.run);
        }
        this.waiters.notify_all(NOTIFIED);
        this.waker.wake();
    }

    /// Runs `f` with the cell once the result is in: now if it is, else on the resolver's
    /// thread when it resolves.
    pub(crate) fn on_complete(this: &Arc<Self>, f: React<T>)
    where
        T: Send + 'static,
    {
        let node = Box::into_raw(Box::new(Reaction {
            next: ptr::null_mut(),
            run: f,
        }));
        // Acquire: pairs with the resolver's AcqRel swap when we find `done`.
        let mut head = this.reactions.load(Ordering::Acquire);
        loop {
            if head == done() {
                // SAFETY: never published, so still ours.
                let node = unsafe { Box::from_raw(node) };
                run_reaction(this.clone(), node.run);
                return;
            }
            // SAFETY: not yet published: only we touch it.
            unsafe { (*node).next = head };
            // Release: publishes the node's contents to the resolver's Acquire swap.
            match this.reactions.compare_exchange_weak(
                head,
                node,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Takes the result out. `None` if it is not in yet.
    ///
    /// # Safety
    /// Only the unique consumer of a non-shared cell calls this (at most one take succeeds
    /// anyway, but a shared reader may hold a reference into `value`).
    pub(crate) unsafe fn take(&self) -> Option<Outcome<T>> {
        // Acquire (in SeqCst): pairs with the resolver's swap, so the value is visible.
        match self
            .state
            .compare_exchange(READY, TAKEN, Ordering::SeqCst, Ordering::SeqCst)
        {
            // SAFETY: READY means initialized, and our CAS made us its only reader; TAKEN now
            // tells `Drop` not to drop it again.
            Ok(_) => Some(self.value.with(|v| unsafe { (*v).assume_init_read() })),
            Err(PENDING) => None,
            Err(_) => panic!("a promise's result was taken twice"),
        }
    }

    /// A reference to the result, once it is in.
    ///
    /// # Safety
    /// The cell is shared-only (no `take` ever happens on it).
    pub(crate) unsafe fn peek(&self) -> Option<&Outcome<T>> {
        if !self.is_done() {
            return None;
        }
        // SAFETY: READY and never taken (caller contract), so initialized and immutable from
        // now on; the SeqCst load above made the resolver's write visible.
        Some(self.value.with(|v| unsafe { (*v).assume_init_ref() }))
    }

    /// Blocks until the result is in or `until` passes; true if it is in.
    pub(crate) fn wait(&self, until: Until<'_>) -> bool {
        if self.is_done() {
            return true;
        }
        wait::wait_blocking(&self.waiters, WaitPolicy::Adaptive, until, || {
            self.is_done().then_some(())
        })
        .is_some()
            || self.is_done()
    }

    /// Registers the async reader's waker; true if the result is in (then no wake-up comes).
    pub(crate) fn register_waker(&self, waker: &core::task::Waker) -> bool {
        if self.is_done() {
            return true;
        }
        crate::sync::register_waker(&self.waker, waker);
        // The resolver stores READY before it wakes: a READY we miss here is followed by a
        // wake of the waker we just registered.
        self.is_done()
    }
}

impl<T> Drop for Cell<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means every other handle is gone (their drops synchronized
        // through the `Arc`'s count).
        if self.state.load(Ordering::Relaxed) == READY {
            // SAFETY: READY means initialized and not taken.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
        // Reactions left only if the resolver was leaked (`mem::forget`): free them unrun.
        let mut head = self.reactions.load(Ordering::Relaxed);
        while !head.is_null() && head != done() {
            // SAFETY: owned by the stack, which we own now.
            let node = unsafe { Box::from_raw(head) };
            head = node.next;
        }
    }
}

/// A continuation bound to its cell, queued on the trampoline.
type Job = Box<dyn FnOnce()>;

thread_local! {
    /// Continuations deferred by a completion that runs inside another completion on this
    /// thread; `Some` while the outermost one drains it.
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static TRAMPOLINE: RefCell<Option<VecDeque<Job>>> = RefCell::new(None);
}

/// Runs a continuation now, or, inside another completion on this thread, queues it for the
/// outermost one (which runs the queue in a loop, oldest first): a chain resolved at once runs with
/// constant stack depth.
fn run_reaction<T: Send + 'static>(cell: Arc<Cell<T>>, run: React<T>) {
    let job: Job = Box::new(move || run(&cell));
    let queued = TRAMPOLINE.with(|t| match &mut *t.borrow_mut() {
        Some(q) => {
            q.push_back(job);
            None
        }
        None => Some(job),
    });
    let Some(first) = queued else { return };
    // The outermost completion on this thread: drain the queue.
    TRAMPOLINE.with(|t| *t.borrow_mut() = Some(VecDeque::new()));
    // If a continuation panics (they catch user panics, so only a bug or an allocation
    // failure could), the guard still clears the trampoline for the next completion; the
    // continuations still queued are dropped, and their promises complete as abandoned.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            let rest = TRAMPOLINE.with(|t| t.borrow_mut().take());
            drop(rest);
        }
    }
    let _reset = Reset;
    first();
    loop {
        let next = TRAMPOLINE.with(|t| t.borrow_mut().as_mut().and_then(|q| q.pop_front()));
        match next {
            Some(job) => job(),
            None => break,
        }
    }
}
