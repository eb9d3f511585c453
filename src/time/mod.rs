//! Timers as channels: Go's `time.After` and `time.Tick`.
//!
//! [`after`] gives a receiver that yields the firing instant once, `d` from now, and is then
//! never ready again (as Go's, its channel is never closed); [`tick`] one that yields every
//! period. Both are driven by the crate's one shared timer thread
//! (the one that fires context deadlines), which sleeps until the earliest entry and costs
//! no CPU when nothing is pending. A ticker's channel holds one tick: a slow receiver misses
//! ticks, it does not queue them (as Go's). A timer whose receivers are all dropped stops: a
//! ticker at its next period, and any dead entry is swept from the timer's heap.
//!
//! Together with the `*_timeout` forms and `Receiver::try_recv` they cover the uses of
//! `time.After` and `time.Tick` in the Go concurrency patterns tutorial.
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! let start = Instant::now();
//! let fired = lockgate::time::after(Duration::from_millis(5)).recv().unwrap();
//! assert!(fired >= start + Duration::from_millis(5));
//!
//! let ticks = lockgate::time::tick(Duration::from_millis(2));
//! let (a, b) = (ticks.recv().unwrap(), ticks.recv().unwrap());
//! assert!(b > a); // each tick fires at or after its own due instant
//! ```

use std::time::{Duration, Instant};

use crate::channel::{bounded, Receiver, Sender, TrySendError};
use crate::sync::Mutex;
use crate::wait::timer::{self, Timed};

/// A receiver that yields once, with the instant it fired, `d` from now (Go's
/// `time.After`). Never early.
///
/// After that one value the channel stays open and empty for good, as Go's does: a second
/// `recv()` blocks forever, `recv_timeout` times out, `try_recv` finds it empty, and
/// `is_closed()` stays false, and a blocking `iter()` (or a stream over it) never ends after
/// the value: take the one value with `recv`. So a timer stored before a `select!` loop fires
/// its arm once and is then never ready again, rather than firing with an error on every
/// pass. Nothing is kept alive for it: the timer holds its side until it fires (or finds
/// every receiver gone), and the channel is freed with the last receiver.
///
/// # Examples
///
/// Go's `timeout := time.After(d)` before a loop:
///
/// ```
/// use lockgate::channel::{bounded, TryRecvError};
/// use lockgate::select;
/// use std::time::Duration;
///
/// let timeout = lockgate::time::after(Duration::from_millis(5));
/// let (tx, work) = bounded::<u32>(1);
/// std::thread::spawn(move || {
///     for n in 0..3 {
///         tx.send(n).unwrap();
///         std::thread::sleep(Duration::from_millis(5));
///     }
/// });
/// let (mut timeouts, mut done) = (0, 0);
/// loop {
///     select! {
///         recv(work) -> n => match n {
///             Ok(_) => done += 1,
///             Err(_) => break, // the producer finished
///         },
///         recv(timeout) -> at => { at.unwrap(); timeouts += 1; }
///     }
/// }
/// assert_eq!(done, 3);
/// assert!(timeouts <= 1); // fires at most once, however long the loop runs on
/// if timeouts == 1 {
///     assert_eq!(timeout.try_recv(), Err(TryRecvError::Empty)); // never closed
/// }
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    let (tx, rx) = bounded(1);
    // The timer entry owns `tx` until it fires; the channel must not end when it drops it.
    tx.never_disconnect();
    timer::schedule(far(d), Box::new(After(tx)));
    rx
}

/// A receiver that yields the firing instant every `period` (Go's `time.Tick`). Holds one
/// tick: a receiver that is late misses ticks instead of queuing them. Stops once every
/// receiver is dropped. Its channel is never closed: while a receiver lives, it ticks (a
/// period whose next instant cannot be represented stops the ticks, and the channel stays
/// open and empty, as a stopped Go ticker's does).
///
/// # Panics
/// If `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    assert!(
        !period.is_zero(),
        "lockgate::time::tick: the period must be non-zero"
    );
    let (tx, rx) = bounded(1);
    // As in `after`: the channel never ends because the timer let go of its side.
    tx.never_disconnect();
    let at = far(period);
    timer::schedule(
        at,
        Box::new(Tick {
            tx,
            period,
            next: Mutex::new(at),
        }),
    );
    rx
}

/// `d` from now, or the latest instant that can be represented if that is too far (then it
/// never fires in practice, and the entry is swept once its receivers are gone).
fn far(d: Duration) -> Instant {
    let now = Instant::now();
    let mut d = d;
    loop {
        if let Some(at) = now.checked_add(d) {
            return at;
        }
        d /= 2;
    }
}

/// An `after` timer's side of its channel: its one sender handle. The channel's sender count
/// also holds one that no handle owns (`never_disconnect`), so dropping this after the
/// firing leaves the channel open; that count owns nothing, so the channel is freed with its
/// last receiver.
struct After(Sender<Instant>);

impl Timed for After {
    fn fire(&self, now: Instant) -> Option<Instant> {
        let _ = self.0.try_send(now); // no receiver left: nothing to do
        None
    }

    fn alive(&self) -> bool {
        self.0.receiver_count() > 0
    }
}

struct Tick {
    tx: Sender<Instant>,
    period: Duration,
    /// The instant this tick was due; the next one is a whole number of periods later (a
    /// late timer skips the ticks it missed rather than firing them in a burst). Only the
    /// timer thread touches it; the mutex makes `Tick` `Send` without `unsafe`.
    next: Mutex<Instant>,
}

impl Timed for Tick {
    fn fire(&self, now: Instant) -> Option<Instant> {
        match self.tx.try_send(now) {
            Err(TrySendError::Disconnected(_)) => return None,
            Ok(()) | Err(TrySendError::Full(_)) => {} // full: the receiver misses this tick
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let mut at = next.checked_add(self.period)?;
        if at <= now {
            // Late by more than a period: skip to the first period after now.
            let p = self.period.as_nanos().max(1);
            let skip = ((now - at).as_nanos() / p + 1) * p;
            at = at.checked_add(Duration::from_nanos(u64::try_from(skip).ok()?))?;
        }
        *next = at;
        Some(at)
    }

    fn alive(&self) -> bool {
        self.tx.receiver_count() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::{after, tick};
    use crate::channel::TryRecvError;
    use std::time::{Duration, Instant};

    /// Polls `done` until it holds; fails after a generous while.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(30), "{what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The count that keeps a fired `after` channel open owns nothing: the channel is freed
    /// with its last receiver, whether that goes after the firing or before it.
    #[test]
    fn after_channels_are_freed_with_their_receivers() {
        let rx = after(Duration::from_millis(1));
        let allocated = rx.allocation_probe();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let clone = rx.clone();
        drop(rx);
        assert_eq!(clone.try_recv(), Err(TryRecvError::Empty));
        assert!(allocated());
        drop(clone);
        eventually("a fired after channel outlived its receivers", || {
            !allocated()
        });

        let rx = after(Duration::from_millis(5));
        let allocated = rx.allocation_probe();
        drop(rx); // before it fires: the timer entry still holds its side, until it is due
        eventually("an after channel dropped unfired was never freed", || {
            !allocated()
        });
    }

    #[test]
    fn tick_channels_are_freed_with_their_receivers() {
        let rx = tick(Duration::from_millis(1));
        let allocated = rx.allocation_probe();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(rx);
        eventually("a ticker outlived its receivers", || !allocated());
    }
}
