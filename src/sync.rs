//! The model-checker switch: the one file in `src/` that names std, loom or shuttle
//! primitives.
//!
//! Three mirrored halves export the same names. Normal builds get std's atomics, threads and
//! `Arc`; builds with `RUSTFLAGS="--cfg lockgate_loom"` get loom's models of them, so every
//! structure in the crate can be model-checked from `loom-tests/` without a line of change.
//! (The same shape as `crossbeam-utils`' and tokio's `loom` modules.) Builds with
//! `RUSTFLAGS="--cfg lockgate_shuttle"` get [shuttle](https://docs.rs/shuttle)'s, for the
//! randomized and PCT schedules of `shuttle-tests/`, which reach more threads and deeper
//! preemption than loom's exhaustive search can afford. The two checkers exclude each other.
//!
//! Neither checker has a clock. Under loom a timed park ([`park_until`]) yields once and then
//! reports that the deadline passed, so a timeout can strike at any interleaving point and the
//! model explores every race between a waiter giving up and a notifier waking it. Under
//! shuttle it yields and then lets the schedule's own random choice decide between a timeout
//! and a spurious return, so a timed waiter may also outlive a few parks and be woken.
//!
//! A timed park is also where model time passes: under either checker the crate's timer
//! (`wait/timer.rs`) is a heap with no thread, which sets the model clock's one alarm (the
//! earliest instant it has something due, and the function that fires it). A timed park whose
//! deadline reaches the alarm fires it and returns as a woken park does; so a timer fires
//! only where some thread would sleep through its instant, and always before that thread's
//! own timeout is reported. With no alarm due, a timed park does what is described above.
//!
//! Shuttle schedules only what goes through its types. Two things do not, and are safe
//! because neither blocks: the `UnsafeCell` (shuttle has no cell checker; std's is used) and
//! crossbeam-epoch (used by the pub-sub), whose atomics and thread-locals are std's, so
//! every shuttle thread shares one epoch participant and an epoch operation runs as one step.

// With both set, the build goes on as a loom build, so this is the one error it reports.
#[cfg(all(lockgate_loom, lockgate_shuttle))]
compile_error!("`--cfg lockgate_loom` and `--cfg lockgate_shuttle` exclude each other: set one");

#[cfg(all(lockgate_count, any(lockgate_loom, lockgate_shuttle)))]
compile_error!(
    "`--cfg lockgate_count` counts std's atomics: it excludes `lockgate_loom` and `lockgate_shuttle`"
);

/// The counting build's atomics, mutex and events (see `count.rs`).
#[cfg(all(lockgate_count, not(any(lockgate_loom, lockgate_shuttle))))]
pub(crate) mod count;

/// Sleeping on a 32-bit word (futex wait/wake with a mask), in every build.
pub(crate) mod futex;

#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
mod imp {
    // The shim exports the whole vocabulary, used or not yet, so both halves stay in step.
    #[allow(unused_imports)]
    pub(crate) use std::sync::atomic::{fence, Ordering};
    #[cfg(not(lockgate_count))]
    #[allow(unused_imports)]
    pub(crate) use std::sync::atomic::{
        AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    };
    // The counting build: the same names, each operation recorded.
    #[cfg(lockgate_count)]
    pub(crate) use super::count::Mutex;
    #[cfg(lockgate_count)]
    #[allow(unused_imports)]
    pub(crate) use super::count::{
        AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
    };
    /// std's `Arc` in every build, for public APIs that take `self: &Arc<Self>`.
    #[allow(unused_imports)]
    pub(crate) use std::sync::Arc as StdArc;
    #[cfg(not(lockgate_count))]
    pub(crate) use std::sync::Mutex;
    pub(crate) use std::sync::{Arc, Condvar, MutexGuard};

    /// A loom-only device (see the loom `Mutex`); nothing in normal builds.
    pub(crate) struct YieldingLocks;

    impl YieldingLocks {
        #[inline(always)]
        pub(crate) fn enter() -> Self {
            YieldingLocks
        }
    }
    #[cfg(not(lockgate_count))]
    pub(crate) use std::thread::yield_now;
    pub(crate) use std::thread::{current, panicking, JoinHandle, Thread};

    /// `std::thread::yield_now`, counted.
    #[cfg(lockgate_count)]
    #[track_caller]
    pub(crate) fn yield_now() {
        super::count::note(super::count::Event::Yield);
        std::thread::yield_now();
    }

    /// Unparks `t` (counted in the counting build).
    #[inline]
    #[cfg_attr(lockgate_count, track_caller)]
    pub(crate) fn unpark(t: &Thread) {
        #[cfg(lockgate_count)]
        super::count::note(super::count::Event::Unpark);
        t.unpark();
    }
    pub(crate) use std::thread_local;

    /// Starts a named thread.
    pub(crate) fn spawn_named<F: FnOnce() + Send + 'static>(
        name: String,
        f: F,
    ) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new().name(name).spawn(f)
    }

    #[allow(unused_imports)]
    pub(crate) use atomic_waker::AtomicWaker;

    /// Registers `waker` in `slot` (the two `AtomicWaker`s spell this differently).
    #[inline]
    pub(crate) fn register_waker(slot: &AtomicWaker, waker: &core::task::Waker) {
        slot.register(waker);
    }

    use std::time::Instant;

    /// A full memory fence: `fence(SeqCst)`. On x86-64 it is a locked read-modify-write of
    /// the stack top instead of `mfence`, which orders the same (x86 locked instructions are
    /// full barriers for ordinary memory; Linux's `smp_mb` made the same switch) at a fraction
    /// of the cost. The `asm!` block may touch memory, so it is also a compiler barrier.
    #[inline(always)]
    pub(crate) fn full_fence() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `lock or` of zero into the word at the stack pointer changes no value and
        // touches only memory this thread owns (the top of the current frame).
        unsafe {
            core::arch::asm!(
                "lock or dword ptr [rsp], 0",
                // It writes the arithmetic flags, so no `preserves_flags`.
                options(nostack)
            )
        };
        #[cfg(not(target_arch = "x86_64"))]
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    /// A spin-wait hint to the CPU (`pause` on x86).
    #[inline(always)]
    #[cfg_attr(lockgate_count, track_caller)]
    pub(crate) fn spin_loop() {
        #[cfg(lockgate_count)]
        super::count::note(super::count::Event::Spin);
        std::hint::spin_loop();
    }

    /// Parks the current thread until it is unparked or `deadline` passes.
    ///
    /// Returns `true` when the deadline has passed. Spurious returns are allowed: callers
    /// re-check their own condition in a loop.
    #[cfg_attr(lockgate_count, track_caller)]
    pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
        #[cfg(lockgate_count)]
        super::count::note(super::count::Event::Park);
        match deadline {
            None => {
                std::thread::park();
                false
            }
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return true;
                }
                std::thread::park_timeout(d - now);
                Instant::now() >= d
            }
        }
    }

    /// True once `deadline` has passed (a clock read).
    #[inline]
    pub(crate) fn deadline_passed(deadline: Instant) -> bool {
        Instant::now() >= deadline
    }

    pub(crate) use super::plain_cell::UnsafeCell;

    /// `global!(name: Type = init)` defines `fn name() -> &'static Type`, initialized on first
    /// use. (Under loom it is re-created for every model execution.)
    macro_rules! global {
        ($name:ident: $t:ty = $init:expr) => {
            fn $name() -> &'static $t {
                static CELL: std::sync::OnceLock<$t> = std::sync::OnceLock::new();
                CELL.get_or_init(|| $init)
            }
        };
    }
    pub(crate) use global;
}

#[cfg(lockgate_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    #[allow(unused_imports)]
    pub(crate) use loom::future::AtomicWaker;

    /// Registers `waker` in `slot` (the two `AtomicWaker`s spell this differently).
    pub(crate) fn register_waker(slot: &AtomicWaker, waker: &core::task::Waker) {
        slot.register_by_ref(waker);
    }
    #[allow(unused_imports)]
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    pub(crate) use loom::sync::{Arc, MutexGuard};
    // Loom's condition variable waits with the guards the `Mutex` below hands out (loom's
    // own). No model-build code waits on one (the timer there has no thread), but the name
    // is exported in step.
    #[allow(unused_imports)]
    pub(crate) use loom::sync::Condvar;
    pub(crate) use loom::thread::{current, yield_now, JoinHandle, Thread};

    /// Unparks `t`.
    #[inline]
    pub(crate) fn unpark(t: &Thread) {
        t.unpark();
    }

    /// Loom's mutex, with one difference for threads inside a select (see [`YieldingLocks`]):
    /// there it is taken by `try_lock` and a yield per failed try instead of loom's blocking
    /// acquire. Our notifiers unpark a thread after releasing a lock, so an unpark can arrive
    /// late, while its target waits for some mutex; std's `park` tolerates that (a spurious
    /// return), but loom makes a thread blocked on a mutex runnable on any unpark and then
    /// fails its "expected to be able to acquire lock" assertion. A select meets exactly this
    /// (woken through one list, it unlinks from another whose notifier holds that list's
    /// lock); a yielding acquire is indifferent to stray unparks. Everywhere else the
    /// blocking acquire is kept, so the other models explore what they always did.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    mod yielding {
        loom::thread_local! {
            pub(super) static YIELDING: core::cell::Cell<bool> = core::cell::Cell::new(false);
        }
    }
    use yielding::YIELDING;

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> std::sync::LockResult<MutexGuard<'_, T>> {
            if !YIELDING.with(|y| y.get()) {
                return self.0.lock();
            }
            loop {
                match self.0.try_lock() {
                    Ok(g) => return Ok(g),
                    Err(std::sync::TryLockError::Poisoned(e)) => return Err(e),
                    Err(std::sync::TryLockError::WouldBlock) => loom::thread::yield_now(),
                }
            }
        }
    }

    /// While alive, this thread takes locks by yielding (see [`Mutex`]); loom builds only.
    pub(crate) struct YieldingLocks(bool);

    impl YieldingLocks {
        pub(crate) fn enter() -> Self {
            YieldingLocks(YIELDING.with(|y| y.replace(true)))
        }
    }

    impl Drop for YieldingLocks {
        fn drop(&mut self) {
            let before = self.0;
            YIELDING.with(|y| y.set(before));
        }
    }

    pub(crate) use loom::thread_local;

    /// Starts a named (model) thread.
    pub(crate) fn spawn_named<F: FnOnce() + Send + 'static>(
        name: String,
        f: F,
    ) -> std::io::Result<JoinHandle<()>> {
        loom::thread::Builder::new().name(name).spawn(f)
    }
    /// std's `Arc` in every build, for public APIs that take `self: &Arc<Self>` (loom's `Arc`
    /// cannot be a method receiver).
    #[allow(unused_imports)]
    pub(crate) use std::sync::Arc as StdArc;
    // Loom runs every model thread on the test's OS thread, so std's flag is the right one.
    pub(crate) use std::thread::panicking;

    use std::time::Instant;

    /// A full memory fence; loom models `fence(SeqCst)` exactly.
    #[inline(always)]
    pub(crate) fn full_fence() {
        fence(Ordering::SeqCst);
    }

    /// Under loom a spin is a yield, so the model scheduler runs someone else.
    #[inline(always)]
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    /// Loom has no clock: an untimed park parks. A timed park lets model time pass: if the
    /// timer's alarm is due by its deadline, it fires it and returns as if woken (the caller
    /// re-checks and parks again); else it yields once and then reports a timeout, unless
    /// the alarm became due meanwhile (then it returns as woken). So the model explores a
    /// timeout, and a timer firing, striking at every point of the protocol where the thread
    /// would sleep (see `wait/timer.rs` for why a firing does not yield first).
    pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                loom::thread::park();
                false
            }
            Some(d) => {
                if super::model_clock::pass_time(d) {
                    return false;
                }
                loom::thread::yield_now();
                !super::model_clock::due_by(d)
            }
        }
    }

    pub(crate) use super::model_clock::set_alarm;

    /// Never, under loom: a model must not branch on the wall clock (an exploration would
    /// not replay), so deadlines strike only where a wait parks (`park_until` above), which
    /// loom explores at every point. A `WaitPolicy::Spin` wait never parks, so under loom it
    /// ends only by success (or at loom's branch limit): no model uses `Spin`.
    pub(crate) fn deadline_passed(_deadline: Instant) -> bool {
        false
    }

    /// `global!(name: Type = init)`: a lazily built global, re-created for every model
    /// execution (loom's `lazy_static!`), so no loom object outlives its execution.
    macro_rules! global {
        ($name:ident: $t:ty = $init:expr) => {
            fn $name() -> &'static $t {
                loom::lazy_static! {
                    static ref CELL: $t = $init;
                }
                &CELL
            }
        };
    }
    pub(crate) use global;
}

#[cfg(all(lockgate_shuttle, not(lockgate_loom)))]
mod imp {
    // Shuttle models every atomic access as SeqCst, whatever the ordering named: orderings
    // weaker than SeqCst are loom's to check.
    #[allow(unused_imports)]
    pub(crate) use shuttle::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    // Shuttle's `Arc` is std's.
    pub(crate) use shuttle::sync::{Arc, Mutex, MutexGuard};
    // No model-build code waits on a condition variable (the timer there has no thread), but
    // the name is exported in step.
    #[allow(unused_imports)]
    pub(crate) use shuttle::sync::Condvar;
    #[allow(unused_imports)]
    pub(crate) use std::sync::Arc as StdArc;
    // Shuttle runs every model thread on the test's OS thread (as loom does), so std's flag
    // is the right one; `shuttle::thread::panicking` is the same function.
    pub(crate) use shuttle::thread::{current, panicking, yield_now, JoinHandle, Thread};

    /// Unparks `t`.
    #[inline]
    pub(crate) fn unpark(t: &Thread) {
        t.unpark();
    }
    pub(crate) use shuttle::thread_local;

    pub(crate) use super::plain_cell::UnsafeCell;

    /// A loom-only device (see loom's `Mutex`); nothing under shuttle, whose `unpark` of a
    /// thread blocked on a mutex only leaves it a token for its next `park`, as std does.
    pub(crate) struct YieldingLocks;

    impl YieldingLocks {
        #[inline(always)]
        pub(crate) fn enter() -> Self {
            YieldingLocks
        }
    }

    /// Starts a named (model) thread.
    pub(crate) fn spawn_named<F: FnOnce() + Send + 'static>(
        name: String,
        f: F,
    ) -> std::io::Result<JoinHandle<()>> {
        shuttle::thread::Builder::new().name(name).spawn(f)
    }

    /// Shuttle has no `AtomicWaker`: this one keeps the waker behind a shuttle mutex, so every
    /// registration and wake is a step the scheduler sees. It keeps the contract callers rely
    /// on: a `wake` that follows a registration wakes the waker registered last.
    #[derive(Debug, Default)]
    pub(crate) struct AtomicWaker(Mutex<Option<core::task::Waker>>);

    impl AtomicWaker {
        pub(crate) fn new() -> Self {
            AtomicWaker(Mutex::new(None))
        }

        /// Takes the registered waker out, if any, and wakes it (outside the lock).
        pub(crate) fn wake(&self) {
            let w = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(w) = w {
                w.wake();
            }
        }
    }

    /// Registers `waker` in `slot`; the one it displaces is dropped outside the lock.
    pub(crate) fn register_waker(slot: &AtomicWaker, waker: &core::task::Waker) {
        let displaced = {
            let mut g = slot.0.lock().unwrap_or_else(|e| e.into_inner());
            match &*g {
                Some(w) if w.will_wake(waker) => None,
                _ => g.replace(waker.clone()),
            }
        };
        drop(displaced);
    }

    use std::time::Instant;

    /// A full memory fence. Shuttle's executions are sequentially consistent, so its
    /// `fence(SeqCst)` orders nothing more and is no scheduling point: this is it.
    #[inline(always)]
    pub(crate) fn full_fence() {
        fence(Ordering::SeqCst);
    }

    /// Under shuttle a spin is a yield, so the scheduler runs someone else (and PCT lowers
    /// the spinner's priority, so a spin loop cannot starve the thread it waits for).
    #[inline(always)]
    pub(crate) fn spin_loop() {
        shuttle::hint::spin_loop();
    }

    /// Shuttle has no clock: an untimed park parks. A timed park lets model time pass: if the
    /// timer's alarm is due by its deadline, it fires it and returns as if woken (as under
    /// loom). Otherwise it yields and then, unless the alarm became due meanwhile (then it
    /// returns as woken), reports a timeout or, by the schedule's own random choice (one in
    /// two), a spurious return, after which the caller re-checks and parks again. A timeout
    /// can so strike at every park while a timed waiter can also stay long enough to be
    /// woken. It never really sleeps: shuttle cannot wake a parked thread on a timer, and
    /// would call that a deadlock.
    pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
        match deadline {
            None => {
                shuttle::thread::park();
                false
            }
            Some(d) => {
                use shuttle::rand::Rng;
                if super::model_clock::pass_time(d) {
                    return false;
                }
                shuttle::thread::yield_now();
                if super::model_clock::due_by(d) {
                    return false;
                }
                shuttle::rand::thread_rng().gen::<bool>()
            }
        }
    }

    pub(crate) use super::model_clock::set_alarm;

    /// Never, under shuttle, as under loom: a schedule must not branch on the wall clock (a
    /// failing schedule would not replay), so deadlines strike only where a wait parks
    /// ([`park_until`] above). A `WaitPolicy::Spin` wait never parks, so under shuttle it
    /// ends only by success (or at shuttle's step bound): no model uses `Spin` with a timeout.
    pub(crate) fn deadline_passed(_deadline: Instant) -> bool {
        false
    }

    /// `global!(name: Type = init)`: a lazily built global, re-created for every execution
    /// (shuttle's `lazy_static!`, which drops it when the execution ends), so no shuttle object
    /// outlives its execution.
    macro_rules! global {
        ($name:ident: $t:ty = $init:expr) => {
            fn $name() -> &'static $t {
                shuttle::lazy_static! {
                    static ref CELL: $t = $init;
                }
                &CELL
            }
        };
    }
    pub(crate) use global;
}

/// The model clock of loom and shuttle builds: one alarm, which the crate's timer
/// (`wait/timer.rs`) sets to the earliest instant it has something due (or in flight), with
/// the function that fires it; a timed park whose deadline reaches it calls that function.
///
/// The alarm is a std thread-local, on purpose: both checkers run every model thread of an
/// execution on the test's own OS thread, so all of them share it, and neither checker sees
/// it, so reading it is no step of the model and orders nothing. A timed park in a model
/// with no timer entry costs what it always did (no lock, no new interleaving), and a park
/// takes the timer's (modelled) lock only when it will fire something, as the timer thread
/// would. The timer clears the alarm when its state is dropped at the end of each execution,
/// so nothing carries over to the next.
#[cfg(any(lockgate_loom, lockgate_shuttle))]
mod model_clock {
    use std::cell::Cell;
    use std::time::Instant;

    /// The earliest instant the timer has something due, and what fires it: called with the
    /// parked thread's deadline, it fires the earliest entry due by then and returns true, or
    /// returns false if another thread is firing one (the timer fires one at a time).
    pub(crate) type Alarm = (Instant, fn(Instant) -> bool);

    std::thread_local! {
        static ALARM: Cell<Option<Alarm>> = const { Cell::new(None) };
    }

    /// Sets (or, with `None`, clears) the alarm; the timer calls it under its lock.
    pub(crate) fn set_alarm(alarm: Option<Alarm>) {
        ALARM.with(|a| a.set(alarm));
    }

    /// Lets model time pass to the alarm, if it is due by `deadline`: runs it, and returns true
    /// if it fired an entry (the park then returns as a woken one does).
    pub(super) fn pass_time(deadline: Instant) -> bool {
        match ALARM.with(Cell::get) {
            Some((at, fire)) if at <= deadline => fire(deadline),
            _ => false,
        }
    }

    /// True if the alarm is due by `deadline`: a park must not time out yet.
    pub(super) fn due_by(deadline: Instant) -> bool {
        ALARM.with(Cell::get).is_some_and(|(at, _)| at <= deadline)
    }
}

/// The cell of std and shuttle builds: std's, behind loom's access API. (Shuttle has no cell
/// checker: a data race under it shows only as the wrong value it lets through.)
#[cfg(not(lockgate_loom))]
mod plain_cell {
    /// `std::cell::UnsafeCell` with loom's closure-based access API (std and shuttle builds).
    #[derive(Debug, Default)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline(always)]
        pub(crate) const fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }
    }

    impl<T: ?Sized> UnsafeCell<T> {
        /// Runs `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with a unique raw pointer to the contents.
        #[inline(always)]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

pub(crate) use imp::*;
