//! Bounded lock-free MPMC queues.
//!
//! - [`RingQueue`]: Vyukov's sequenced-slot ring (one CAS and one store per operation). The
//!   default, and the buffer under [`channel::bounded`](crate::channel::bounded).
//! - [`ScqQueue`]: Nikolaev's SCQ (positions by `fetch_add`, which never retries), for rings
//!   that many threads hammer at once; it pays four read-modify-writes per operation for that.
//!
//! Both allocate once at construction and never again, hand a rejected value back, drop the
//! values left in them exactly once, and offer `push`, `pop`, `force_push`, `len`,
//! `is_empty`, `is_full` and `capacity`.

mod fastmod;
mod ring;
mod scq;

pub(crate) use ring::Busy;
pub use ring::RingQueue;
pub use scq::ScqQueue;
