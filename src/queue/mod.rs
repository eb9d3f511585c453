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

/// The largest capacity either queue accepts: 2^40 slots (far beyond any allocation, and
/// small enough that no ticket or position arithmetic can overflow).
const MAX_CAPACITY: usize = 1 << 40;

/// The constructor checks both queues share.
pub(crate) fn check_capacity(capacity: usize, queue: &str) {
    assert!(capacity > 0, "{queue} capacity must be non-zero");
    assert!(
        capacity <= MAX_CAPACITY,
        "{queue} capacity {capacity} exceeds {queue}::MAX_CAPACITY (2^40)"
    );
}

pub(crate) mod deque;
mod fastmod;
mod ring;
mod scq;
mod segmented;

pub use ring::RingQueue;
pub use scq::ScqQueue;
pub(crate) use segmented::{ListQueue, PopError};
