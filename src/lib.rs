//! Go's concurrency patterns for Rust, as lock-free, loom-verified, measured primitives.
//!
//! lockgate serves the patterns of a Go concurrency tutorial (pipelines with cancellation,
//! fan-out/fan-in, semaphores, worker pools, pub-sub, barriers, futures, contexts, object
//! pools) with primitives built for low latency: lock-free fast paths, no allocation on hot
//! paths, and one waiting mechanism that spins briefly and then parks, so idle threads burn no
//! CPU.
//!
//! | module | what | seed pattern |
//! |---|---|---|
//! | [`queue`] | [`RingQueue`](queue::RingQueue): bounded lock-free MPMC ring; [`ScqQueue`](queue::ScqQueue): the same on SCQ for heavy contention | the buffer under every channel |
//! | [`channel`] | [`bounded`](channel::bounded): blocking + async MPMC channel; `bounded(0)` is Go's unbuffered channel | pipeline, fan-out, fan-in |
//! | [`semaphore`] | [`Semaphore`](semaphore::Semaphore): counting semaphore, one atomic word, FIFO hand-off, RAII permits | "Семафор" |
//! | [`barrier`] | [`Latch`](barrier::Latch), [`WaitGroup`](barrier::WaitGroup), [`CyclicBarrier`](barrier::CyclicBarrier) | "Барьер", "Циклический барьер", `sync.WaitGroup` |
//! | [`pool`] | [`ObjectPool`](pool::ObjectPool): a private slot per thread over a shared lock-free ring | "Пул объектов" |
//! | [`pubsub`] | [`PubSub`](pubsub::PubSub): topics, a ring per subscriber, overflow policies, epoch-reclaimed topic map | "Издатель-Подписчик" |
//! | [`context`] | [`Context`](context::Context): cancellation tree, deadlines, typed values; `*_ctx` on every blocking call | "Контекст" |
//! | [`workers`] | [`WorkerPool`](workers::WorkerPool): fixed or elastic pools, `submit` → `Promise`, back-pressure, caller-runs inside jobs, shutdown/abort | "Воркер-пул", dynamic pool |
//! | [`future`] | [`Promise`](future::Promise), [`spawn`]: one-shot results, continuations, `when_all`/`when_any`, `.await` | "Будущее (Future/Promise)" |
//! | [`select`](mod@select) | [`select!`], [`select_async!`]: wait on channel sends and receives, contexts, promises and timers at once | Go's `select` |
//! | [`time`] | [`after`](time::after), [`tick`](time::tick): timers as channels on one shared timer thread | `time.After`, `time.Tick` |
//! | [`WaitPolicy`] | how blocking calls wait: spin, adaptive, park | every blocking call |
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
//! [loom](https://docs.rs/loom); the models live in the `loom-tests/` crate. Built with
//! `RUSTFLAGS="--cfg lockgate_shuttle"`, they come from [shuttle](https://docs.rs/shuttle)
//! instead, for the randomized and PCT schedules of the `shuttle-tests/` crate. Under either,
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

/// Internals exposed to the loom models in `loom-tests/`, and only in loom builds.
#[cfg(lockgate_loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::wait::{wait_blocking, WaitList};
}
