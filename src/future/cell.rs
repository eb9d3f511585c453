//! The shared state of one promise: a write-once result cell, a Treiber stack of
//! continuations, a wait list for blocking readers and an atomic waker for one async reader.
//!
//! Protocol (the shape of Java's `CompletableFuture` and of Scala's `Promise`, with the
//! event-count wake-up of `src/wait`). One word, `head`, holds the state flags and, while the
//! promise is pending, the Treiber stack of continuations (a tagged pointer):
//!
//! ```text
//!   resolver (exactly one)                 readers
//!   write the result into `value`          get: READY? take it, else wait_blocking on
//!   old = head.swap(READY)   (SeqCst)           `waiters` until READY
//!   run old's continuations, oldest first  then: CAS a node onto the stack, unless READY:
//!   if old had WAKER: wake the waker             then run it at once
//!   waiters.notify_all (one load if none)  poll: register the waker, set WAKER; READY?
//! ```
//!
//! Exactly one side runs each continuation: a registrar whose CAS landed before the
//! resolver's swap has its node taken by the swap; one that finds READY runs it itself. The
//! async reader is woken only if it registered (the WAKER flag travels in the same word), and
//! blocking readers only if some are linked. Resolving a promise nobody waits on is one swap;
//! reading a resolved one is a load and a store. No lock on either path.
//!
//! Continuations run through `trampoline.rs`, so a chain of any length resolved at once
//! cannot overflow the stack.

use core::mem::MaybeUninit;
use core::ptr;

use super::{trampoline, PromiseError};
use crate::sync::{Arc, AtomicPtr, AtomicWaker, Ordering, UnsafeCell};
use crate::wait::{self, OnUnwind, Until, WaitList, WaitPolicy, NOTIFIED};

/// Flag: the result is in `value` (set once, by the resolver's swap).
const READY: usize = 1;
/// Flag: the unique consumer took the result out of `value` (set after READY).
const TAKEN: usize = 2;
/// Flag: an async reader registered a waker (set while pending).
const WAKER: usize = 4;
/// The flag bits of `head`; the rest is the stack pointer (nodes are 8-aligned).
const FLAGS: usize = 7;

pub(crate) type Outcome<T> = Result<T, PromiseError>;

/// A continuation: runs once with the cell after the result is in.
pub(super) type React<T> = Box<dyn FnOnce(&Arc<Cell<T>>) + Send>;

/// A continuation bound to its cell, ready for the trampoline.
fn bind<T: Send + 'static>(cell: Arc<Cell<T>>, run: React<T>) -> trampoline::Job {
    Box::new(move || run(&cell))
}

/// Aligned to 8 so the three low bits of a node's address are free for the flags.
#[repr(align(8))]
struct Reaction<T> {
    /// The next older node (untagged); only the pusher writes it, before its publishing CAS.
    next: *mut Reaction<T>,
    run: React<T>,
}

pub(crate) struct Cell<T> {
    /// Flags (`READY`, `TAKEN`, `WAKER`) in the low bits; while pending, the newest
    /// continuation node in the rest (null if none), each node a leaked `Box` owned by the
    /// stack. The resolver's SeqCst swap to `READY` takes the stack, publishes `value`
    /// (Release) and is the condition write `waiters`' protocol pairs with. After it the
    /// pointer bits stay null. Pointers keep their provenance: tags are byte offsets.
    head: AtomicPtr<Reaction<T>>,
    /// Written once by the resolver before its swap (no one reads it then); read only after
    /// a load saw `READY` (Acquire or stronger). Initialized exactly when `READY` is set and
    /// `TAKEN` is not.
    value: UnsafeCell<MaybeUninit<Outcome<T>>>,
    /// Blocking readers.
    waiters: WaitList<()>,
    /// The one async reader (`Promise` is the only future over a cell, and it is unique).
    waker: AtomicWaker,
}

// SAFETY: the result moves between threads as a `T` (needs `T: Send`); shared promises hand
// out clones from `&T` on many threads, which their own impls gate on `T: Sync`. All other
// fields are atomics, a wait list and boxes of `Send` closures.
unsafe impl<T: Send> Send for Cell<T> {}
// SAFETY: as above; concurrent access to `value` follows the `head` protocol.
unsafe impl<T: Send> Sync for Cell<T> {}

fn flags<T>(p: *mut Reaction<T>) -> usize {
    p as usize & FLAGS
}

/// The node pointer of a tagged head (null if none).
fn node<T>(p: *mut Reaction<T>) -> *mut Reaction<T> {
    p.cast::<u8>().wrapping_sub(flags(p)).cast()
}

/// `p` (untagged) with `tag` in its low bits.
fn tagged<T>(p: *mut Reaction<T>, tag: usize) -> *mut Reaction<T> {
    p.cast::<u8>().wrapping_add(tag).cast()
}

impl<T> Cell<T> {
    pub(crate) fn new() -> Self {
        Cell {
            head: AtomicPtr::new(ptr::null_mut()),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            waiters: WaitList::new(),
            waker: AtomicWaker::new(),
        }
    }

    /// True once the result is in (one load).
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        // SeqCst: the re-check of `waiters`' protocol; Acquire alone would do for the value.
        flags(self.head.load(Ordering::SeqCst)) & READY != 0
    }

    /// Stores the result and runs every continuation, then wakes every reader.
    ///
    /// # Safety
    /// Called at most once per cell (by its unique resolver).
    pub(crate) unsafe fn complete(this: &Arc<Self>, outcome: Outcome<T>)
    where
        T: Send + 'static,
    {
        // SAFETY: not READY, and we are the only writer (caller contract); no reader touches
        // `value` before it sees READY below.
        this.value.with_mut(|v| unsafe { (*v).write(outcome) });
        // SeqCst RMW: publishes the value (its Release half pairs with readers' loads of
        // READY), takes the stack (its Acquire half pairs with each registrar's Release CAS),
        // and is the condition write blocking readers' SeqCst re-check pairs with.
        let old = tagged(ptr::null_mut(), READY);
        let old = this.head.swap(old, Ordering::SeqCst);
        // Wake the readers first: a continuation may block (user code), and must not hold
        // up the readers of this cell while it does.
        if flags(old) & WAKER != 0 {
            this.waker.wake();
        }
        this.waiters.notify_all(NOTIFIED);
        // Oldest first: reverse the stack.
        let mut head = node(old);
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
        // If a continuation panics (only a user `Drop` can: user closures run under
        // `catch_unwind`), the guard still runs the ones after it, so none is leaked with
        // its downstream resolver.
        let mut rest = OnUnwind(|| {
            while !oldest.is_null() {
                // SAFETY: ours since the swap; each node leaves the list exactly once.
                let n = unsafe { Box::from_raw(oldest) };
                oldest = n.next;
                trampoline::run(bind(this.clone(), n.run));
            }
        });
        (rest.0)();
        drop(rest);
    }

    /// Runs `f` with the cell once the result is in: now if it is, else on the resolver's
    /// thread when it resolves.
    pub(crate) fn on_complete(this: &Arc<Self>, f: React<T>)
    where
        T: Send + 'static,
    {
        let new = Box::into_raw(Box::new(Reaction {
            next: ptr::null_mut(),
            run: f,
        }));
        // Acquire: pairs with the resolver's swap when we find READY (the value is visible).
        let mut head = this.head.load(Ordering::Acquire);
        loop {
            if flags(head) & READY != 0 {
                // SAFETY: never published, so still ours.
                let new = unsafe { Box::from_raw(new) };
                trampoline::run(bind(this.clone(), new.run));
                return;
            }
            // SAFETY: not yet published: only we touch it.
            unsafe { (*new).next = node(head) };
            // Release: publishes the node's contents to the resolver's swap. The flags
            // (WAKER) are kept.
            match this.head.compare_exchange_weak(
                head,
                tagged(new, flags(head)),
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
    /// Only the unique consumer of a non-shared cell calls this, so no other reader of
    /// `value` exists.
    pub(crate) unsafe fn take(&self) -> Option<Outcome<T>> {
        // Acquire (in SeqCst): pairs with the resolver's swap, so the value is visible.
        let h = self.head.load(Ordering::SeqCst);
        if flags(h) & READY == 0 {
            return None;
        }
        assert!(flags(h) & TAKEN == 0, "a promise's result was taken twice");
        // Relaxed: after READY no one else writes `head`; the flag is read by a later `take`
        // of this (unique, hence same-thread or moved-with-synchronization) reader, and by
        // `Drop`, which the `Arc`'s count orders after us.
        self.head
            .store(tagged(ptr::null_mut(), READY | TAKEN), Ordering::Relaxed);
        // SAFETY: READY and not TAKEN means initialized; we are its only reader (caller
        // contract) and TAKEN now tells `Drop` not to drop it again.
        Some(self.value.with(|v| unsafe { (*v).assume_init_read() }))
    }

    /// A reference to the result, once it is in.
    ///
    /// # Safety
    /// The cell is shared-only (no `take` ever happens on it).
    pub(crate) unsafe fn peek(&self) -> Option<&Outcome<T>> {
        let h = self.head.load(Ordering::SeqCst);
        if flags(h) & READY == 0 {
            return None;
        }
        assert!(flags(h) & TAKEN == 0, "a shared promise's result was taken");
        // SAFETY: READY and not taken (checked; the caller contract says no take follows),
        // so initialized and immutable from now on; the SeqCst load above made the
        // resolver's write visible.
        Some(self.value.with(|v| unsafe { (*v).assume_init_ref() }))
    }

    /// True once the unique reader took the result out.
    pub(crate) fn is_taken(&self) -> bool {
        flags(self.head.load(Ordering::SeqCst)) & TAKEN != 0
    }

    /// The list blocking readers (and select arms) wait in; resolving wakes all of it.
    pub(crate) fn waiters(&self) -> &WaitList<()> {
        &self.waiters
    }

    /// Blocks until the result is in or `until` passes; true if it is in.
    pub(crate) fn wait(&self, until: Until<'_>) -> bool {
        // A continuation that blocks on a promise may wait for continuations queued behind
        // it on this very thread's trampoline: run them first.
        while !self.is_done() && trampoline::run_one_queued() {}
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
        // SeqCst RMW after the registration: if it lands before the resolver's swap, the
        // swap returns WAKER and the resolver wakes the waker registered above (it reads
        // the AtomicWaker after its swap); if after, we see READY here and need no wake.
        let old = self.head.fetch_or_tag(WAKER);
        flags(old) & READY != 0
    }
}

/// `fetch_or` on the tag bits of an `AtomicPtr` (a CAS loop: `AtomicPtr::fetch_or` is
/// not in this crate's minimum Rust, and absent from loom).
trait FetchOrTag<T> {
    fn fetch_or_tag(&self, tag: usize) -> *mut Reaction<T>;
}

impl<T> FetchOrTag<T> for AtomicPtr<Reaction<T>> {
    fn fetch_or_tag(&self, tag: usize) -> *mut Reaction<T> {
        let mut h = self.load(Ordering::SeqCst);
        loop {
            // Even with the tag already set, the CAS is the SeqCst RMW the ordering needs.
            let new = tagged(node(h), flags(h) | tag);
            match self.compare_exchange_weak(h, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return h,
                Err(x) => h = x,
            }
        }
    }
}

impl<T> Drop for Cell<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means every other handle is gone (their drops synchronized
        // through the `Arc`'s count).
        let h = self.head.load(Ordering::Relaxed);
        if flags(h) & (READY | TAKEN) == READY {
            // SAFETY: READY and not TAKEN means initialized and not taken.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
        // Nodes left only if the resolver was leaked (`mem::forget`): free them unrun.
        let mut n = node(h);
        while !n.is_null() {
            // SAFETY: owned by the stack, which we own now.
            let b = unsafe { Box::from_raw(n) };
            n = b.next;
        }
    }
}
