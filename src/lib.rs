//! Go's concurrency patterns for Rust, as lock-free, loom-verified, measured primitives.
//!
//! lockgate serves the patterns of the Go concurrency patterns tutorial (pipelines with
//! cancellation, fan-out/fan-in, semaphores, worker pools, pub/sub, barriers, futures,
//! contexts, object pools) with primitives built for low latency: lock-free fast paths, no
//! allocation on hot paths, and one waiting mechanism that spins briefly and then parks, so
//! idle threads burn no CPU.
//!
//! | module | what | tutorial section |
//! |---|---|---|
//! | [`queue`] | [`RingQueue`](queue::RingQueue): bounded lock-free MPMC ring; [`ScqQueue`](queue::ScqQueue): the same on SCQ for heavy contention | the buffer under every channel |
//! | [`channel`] | [`bounded`](channel::bounded): blocking + async MPMC channel; `bounded(0)` is Go's unbuffered channel | Pipeline, Fan-out/fan-in |
//! | [`semaphore`] | [`Semaphore`](semaphore::Semaphore): counting semaphore, one atomic word, FIFO hand-off, RAII permits | Semaphore, Semaphore with timeout |
//! | [`barrier`] | [`Latch`](barrier::Latch), [`WaitGroup`](barrier::WaitGroup), [`CyclicBarrier`](barrier::CyclicBarrier) | Barrier, Cyclic barrier, `sync.WaitGroup` |
//! | [`pool`] | [`ObjectPool`](pool::ObjectPool): a private slot per thread over a shared lock-free ring | Object pool, Object pool with cleanup |
//! | [`pubsub`] | [`PubSub`](pubsub::PubSub): topics, a ring per subscriber, overflow policies, epoch-reclaimed topic map | Pub/Sub |
//! | [`context`] | [`Context`](context::Context): cancellation tree, deadlines, typed values; `*_ctx` on every blocking call | Context (cancellation, timeout, values) |
//! | [`workers`] | [`WorkerPool`](workers::WorkerPool): fixed or elastic pools, `submit` → `Promise`, back-pressure, caller-runs inside jobs, nested waits that never deadlock, shutdown/abort; [`Group`](workers::Group): jobs that fail together, first error cancels a context, optional limit | Worker pool, Dynamic worker pool; Go's `errgroup` |
//! | [`future`] | [`Promise`](future::Promise), [`spawn`]: one-shot results, continuations, `when_all`/`when_any` (and `try_` forms over `Result`), `.await` | Future/Promise; Futures: WhenAll, Chain |
//! | [`pipeline`] | [`Pipeline`](pipeline::Pipeline): generator, stages, fan-out, ordered parallel map, cancellation | Pipeline, Pipeline with cancellation, Fan-out/fan-in |
//! | [`select`](mod@select) | [`select!`], [`select_async!`]: wait on channel sends and receives, contexts, promises and timers at once | Go's `select` |
//! | [`time`] | [`after`](time::after), [`tick`](time::tick): timers as channels on one shared timer thread | `time.After`, `time.Tick` |
//! | [`WaitPolicy`] | how blocking calls wait: spin, adaptive, park | every blocking call |
//!
//! The `tour` example (`cargo run --release --example tour`) runs every example of the
//! tutorial on lockgate, section by section.
//!
//! # Example
//!
//! ```
//! use lockgate::channel::bounded;
//!
//! let (tx, rx) = bounded(16);
//! let producer = std::thread::spawn(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! let sum: i32 = rx.iter().sum(); // ends when the producer drops `tx`
//! producer.join().unwrap();
//! assert_eq!(sum, 4950);
//! ```
//!
//! # Targets
//!
//! lockgate needs 64-bit atomics (`AtomicU64`, `AtomicI64`, `AtomicUsize`): every 64-bit
//! target and the 32-bit targets that have them (`cfg(target_has_atomic = "64")`).
//!
//! # Loom
//!
//! Built with `RUSTFLAGS="--cfg lockgate_loom"`, every atomic, cell, thread and waker comes from
//! [loom](https://docs.rs/loom); the models live in the repository's `loom-tests` crate. Built with
//! `RUSTFLAGS="--cfg lockgate_shuttle"`, they come from [shuttle](https://docs.rs/shuttle) instead,
//! for the randomized and PCT schedules of the repository's `shuttle-tests` crate. Under either,
//! the modules that need a real clock or std threads (`pipeline`, `time`, `spawn`) are left out,
//! and context deadlines fire on a model of the crate's timer, which timed parks advance.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    clippy::undocumented_unsafe_blocks
)]

#[cfg(not(target_has_atomic = "64"))]
compile_error!("lockgate needs 64-bit atomics (cfg(target_has_atomic = \"64\"))");

pub mod barrier;
pub mod channel;
pub mod context;
pub mod future;
// Not under a model checker: pipeline stages run on std threads, and timers need a clock.
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
pub mod pipeline;
pub mod pool;
pub mod pubsub;
pub mod queue;
pub mod select;
pub mod semaphore;
mod sync;
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
pub mod time;
mod wait;
pub mod workers;

pub use wait::WaitPolicy;
#[cfg(not(any(lockgate_loom, lockgate_shuttle)))]
pub use workers::spawn;

// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// What the `select!` and `select_async!` expansions name: the protocol in the crate's wait
/// layer, the arms of each primitive, and the traits that let an arm take a channel end, a
/// reference to one or an `Option` of those. Not part of the API: it may change in any
/// release. (The same role as crossbeam-channel's `internal`.)
#[doc(hidden)]
pub mod __private {
    pub use crate::channel::select::{RecvArm, RecvArmSource, SendArm, SendArmSource};
    pub use crate::context::done::DoneArm;
    pub use crate::future::arm::GetArm;
    pub use crate::wait::select::{
        empty_select, run_blocking, Arm, ArmList, MaybeArm, Otherwise, SelectFuture,
    };
}

/// Internals exposed to the loom models in `loom-tests/`, and only in loom builds.
/// The counting build's report (`--cfg lockgate_count`; see `src/sync/count.rs`): per-thread
/// and per-call-site counts of atomic operations, line transfers, failed CAS, parks and
/// unparks, for the cost report and the budgets test. Not a stable API.
#[cfg(lockgate_count)]
#[doc(hidden)]
pub mod __count {
    pub use crate::sync::count::{
        hot_words, reset, set_interleave, top_sites, totals, Counts, Interleave,
    };
}

#[cfg(lockgate_loom)]
#[doc(hidden)]
pub mod __loom {
    use crate::WaitPolicy;
    use std::time::Instant;

    /// The crate's wait list, for the models of the waiting path itself.
    #[derive(Debug)]
    pub struct WaitList<P>(crate::wait::WaitList<P>);

    impl<P> WaitList<P> {
        /// An empty list.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            WaitList(crate::wait::WaitList::new())
        }

        /// Wakes the first waiter, if any.
        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        /// Wakes every waiter, completing each node with `state`.
        pub fn notify_all(&self, state: usize) {
            self.0.notify_all(state);
        }
    }

    /// The whole waiting path of a blocking call (`wait_blocking` in the crate).
    pub fn wait_blocking<P: Default, R>(
        list: &WaitList<P>,
        policy: WaitPolicy,
        deadline: Option<Instant>,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        crate::wait::wait_blocking(&list.0, policy, deadline, attempt)
    }
}
