//! [`SelectRecv`]: a select over a set of receivers known only at run time (a fan-in over a
//! `Vec<Receiver<T>>`), on the same protocol as the macro.
//!
//! The macro's arms are a nested tuple fixed at compile time; here they are a vector of
//! receive arms of one item type. A removed arm becomes a vacancy that never fires, so the
//! indices of the others do not change (as with crossbeam's `Select::remove`).

use core::fmt;
use std::time::{Duration, Instant};

use crate::channel::select::RecvArm;
use crate::channel::{Receiver, RecvError};
use crate::sync::AtomicUsize;
use crate::wait::select::{run_blocking, Arm, ArmList};
use crate::wait::Wake;

/// An arm that never fires: what a removed receiver leaves behind.
struct Vacant;

impl Arm for Vacant {
    fn attempt(&mut self) -> bool {
        false
    }
    unsafe fn link(&mut self, _: &AtomicUsize, _: usize, _: Wake) {}
    fn woken(&self) -> bool {
        false
    }
    fn unlink(&mut self, _claimed: bool) {}
    fn disabled(&self) -> bool {
        true
    }
}

enum Slot<'a, T> {
    Live(RecvArm<'a, T>),
    Vacant(Vacant),
}

impl<T> ArmList for [Slot<'_, T>] {
    fn arm_count(&self) -> usize {
        self.len()
    }

    fn arm(&mut self, i: usize) -> &mut dyn Arm {
        match &mut self[i] {
            Slot::Live(a) => a,
            Slot::Vacant(v) => v,
        }
    }
}

/// Receives from whichever of a run-time set of receivers has a value first: Go's `select`
/// over a slice of channels (`reflect.Select`), crossbeam's `Select` for receives.
///
/// Each call blocks (or tries, or waits with a timeout) until one receiver is ready and
/// receives from it, with the guarantees of [`select!`](crate::select!): exactly one
/// receive happens, the others take nothing, each of the receivers ready at once is equally
/// likely to be the one received from, and a blocked call parks once for all of them. A receiver whose channel has ended is ready (it
/// returns `Err(RecvError)`): [`remove`](SelectRecv::remove) it to stop selecting it.
///
/// # Examples
///
/// Fan-in over any number of channels on one thread:
///
/// ```
/// use lockgate::channel::bounded;
/// use lockgate::select::SelectRecv;
///
/// let chans: Vec<_> = (0..4).map(|_| bounded::<u32>(4)).collect();
/// for (i, (tx, _)) in chans.iter().enumerate() {
///     tx.send(i as u32).unwrap();
/// }
/// let mut sel = SelectRecv::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// let mut got: Vec<u32> = (0..4).map(|_| sel.select().1.unwrap()).collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 3]);
/// assert!(sel.try_select().is_none());
/// ```
pub struct SelectRecv<'a, T> {
    /// One slot per `recv` call, in call order; removed ones are vacant.
    slots: Vec<Slot<'a, T>>,
    /// Live (not removed) receivers.
    live: usize,
    /// Scratch for the fair order of a select, one slot per entry of `slots` (grown with it,
    /// so a select allocates nothing).
    order: Vec<u32>,
}

impl<'a, T> SelectRecv<'a, T> {
    /// An empty select.
    pub fn new() -> Self {
        SelectRecv {
            slots: Vec::new(),
            live: 0,
            order: Vec::new(),
        }
    }

    /// Adds a receiver; returns its index, which stays its index until it is removed.
    pub fn recv(&mut self, rx: &'a Receiver<T>) -> usize {
        self.slots.push(Slot::Live(RecvArm::new(rx)));
        self.order.push(0);
        self.live += 1;
        self.slots.len() - 1
    }

    /// Stops selecting receiver `index`; the other indices do not change.
    ///
    /// # Panics
    /// If `index` was never returned by [`recv`](Self::recv) or was already removed.
    pub fn remove(&mut self, index: usize) {
        match self.slots.get(index) {
            Some(Slot::Live(_)) => {
                self.slots[index] = Slot::Vacant(Vacant);
                self.live -= 1;
            }
            _ => panic!("SelectRecv::remove: no receiver at index {index}"),
        }
    }

    /// The number of receivers selected over (added and not removed).
    pub fn len(&self) -> usize {
        self.live
    }

    /// True if no receiver is selected over.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn outcome(&mut self, fired: Option<usize>) -> Option<(usize, Result<T, RecvError>)> {
        let i = fired?;
        match &mut self.slots[i] {
            Slot::Live(a) => Some((i, a.take())),
            Slot::Vacant(_) => unreachable!("a removed receiver fired"),
        }
    }

    /// Blocks until one receiver is ready; receives from it and returns its index and the
    /// outcome.
    ///
    /// # Panics
    /// If no receiver is selected over (it would block forever).
    pub fn select(&mut self) -> (usize, Result<T, RecvError>) {
        assert!(
            self.live > 0,
            "SelectRecv::select with no receivers would block forever"
        );
        let fired = run_blocking(&mut self.slots[..], &mut self.order, false, None);
        self.outcome(fired)
            .expect("a select without a deadline fires")
    }

    /// Receives from a receiver that is ready now, if any (Go's `select` with `default`).
    pub fn try_select(&mut self) -> Option<(usize, Result<T, RecvError>)> {
        let fired = run_blocking(&mut self.slots[..], &mut self.order, true, None);
        self.outcome(fired)
    }

    /// As [`select`](Self::select), giving up after `timeout` (`None`). Never gives up early.
    pub fn select_timeout(&mut self, timeout: Duration) -> Option<(usize, Result<T, RecvError>)> {
        self.select_deadline_opt(crate::wait::deadline_after(timeout))
    }

    /// As [`select`](Self::select), giving up at `deadline` (`None`).
    pub fn select_deadline(&mut self, deadline: Instant) -> Option<(usize, Result<T, RecvError>)> {
        self.select_deadline_opt(Some(deadline))
    }

    fn select_deadline_opt(
        &mut self,
        deadline: Option<Instant>,
    ) -> Option<(usize, Result<T, RecvError>)> {
        if deadline.is_none() {
            return Some(self.select()); // a timeout too large to represent: forever
        }
        let fired = run_blocking(&mut self.slots[..], &mut self.order, false, deadline);
        self.outcome(fired)
    }
}

impl<T> Default for SelectRecv<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for SelectRecv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectRecv")
            .field("receivers", &self.live)
            .finish()
    }
}
