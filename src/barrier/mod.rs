//! Barriers: the one-shot [`Latch`], Go's [`WaitGroup`], and the reusable [`CyclicBarrier`].
//!
//! Serves the Go concurrency patterns tutorial's "Barrier" section (workers finish phase 1
//! before any starts phase 2; built there on a `sync.WaitGroup`) and its "Cyclic barrier" (a
//! barrier reused round after round, with an action run between rounds), and the
//! `sync.WaitGroup` the tutorial uses everywhere.
//!
//! - [`Latch`]: counts down once; `wait` returns when it reaches zero (C++20 `std::latch`).
//! - [`WaitGroup`]: `add`/`done`/`wait`, reusable, with a [`WaitGuard`] that calls `done` on
//!   drop.
//! - [`CyclicBarrier`]: `parties` threads per round, a trip action run by the last to arrive,
//!   generation numbers, and Java's semantics for timeouts, resets and panicking actions.
//!
//! All of them wait on the crate's one waiting path: a short spin, then park. Counting down
//! and arriving are single atomic read-modify-writes.

mod count;
mod cyclic;
mod error;

pub use count::{Latch, WaitGroup, WaitGuard, WaitZero};
pub use cyclic::{BarrierWaitResult, CyclicBarrier, MAX_PARTIES};
pub use error::{BarrierCtxError, BrokenBarrier, WaitTimeoutError};
