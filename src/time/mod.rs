//! Timers as channels: Go's `time.After` and `time.Tick`.
//!
//! [`after`] gives a receiver that yields the firing instant once, `d` from now; [`tick`]
//! one that yields every period. Both are driven by the crate's one shared timer thread
//! (the one that fires context deadlines), which sleeps until the earliest entry and costs
//! no CPU when nothing is pending. A ticker's channel holds one tick: a slow receiver misses
//! ticks, it does not queue them (as Go's). A timer whose receivers are all dropped stops: a
//! ticker at its next period, and any dead entry is swept from the timer's heap.
//!
//! Together with the `*_timeout` forms and `Receiver::try_recv` they cover the seed's uses
//! of `time.After` and `time.Tick`.
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

pub(crate) mod timer;

use std::time::{Duration, Instant};

use crate::channel::{bounded, Receiver, Sender, TrySendError};
use timer::Timed;

/// A receiver that yields once, with the instant it fired, `d` from now (Go's
/// `time.After`). Never early.
pub fn after(d: Duration) -> Receiver<Instant> {
    let (tx, rx) = bounded(1);
    timer::schedule(far(d), Box::new(After(tx)));
    rx
}

/// A receiver that yields the firing instant every `period` (Go's `time.Tick`). Holds one
/// tick: a receiver that is late misses ticks instead of queuing them. Stops once every
/// receiver is dropped.
///
/// # Panics
/// If `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    assert!(
        !period.is_zero(),
        "lockgate::time::tick: the period must be non-zero"
    );
    let (tx, rx) = bounded(1);
    let at = far(period);
    timer::schedule(
        at,
        Box::new(Tick {
            tx,
            period,
            next: std::sync::Mutex::new(at),
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
    next: std::sync::Mutex<Instant>,
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
