//! Pause points for schedule tests: a unit test arms a list of named points on a thread, and
//! the thread stops at each in turn until the test lets it go, so one exact interleaving of
//! several threads can be forced and replayed. The calls are compiled only into this crate's
//! own unit tests ([`pause_point!`](super::pause_point)); other builds contain nothing.

use std::cell::RefCell;
use std::sync::mpsc::{channel, Receiver, Sender};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Point {
    /// In `IndexRing::enqueue`, right after taking a position from `tail`.
    AfterTailFetchAdd,
    /// In `IndexRing::dequeue`, after the empty pre-check passed, before `head`.
    AfterPrecheck,
    /// In a failed dequeue, after `catchup`, before its threshold subtraction.
    BeforeLateSub,
    /// In a blocking wait, registered and re-checked, right before the thread parks.
    Parking,
    /// In a blocking wait, right after a park returned, before anything is re-checked.
    Woke,
    /// In a pub-sub delivery, inside the subscriber's queue (past its closed check),
    /// before the message is queued.
    DeliveryInside,
}

struct Armed {
    points: Vec<Point>,
    arrived: Sender<Point>,
    go: Receiver<()>,
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// The test's end of one thread's pause points.
pub(crate) struct Gate {
    arrived: Receiver<Point>,
    go: Sender<()>,
}

impl Gate {
    /// Arms `points` (in the order the thread will reach them) on the calling thread.
    pub(crate) fn arm(points: &[Point]) -> Gate {
        let (arrived_tx, arrived) = channel();
        let (go, go_rx) = channel();
        ARMED.with(|a| {
            *a.borrow_mut() = Some(Armed {
                points: points.iter().rev().copied().collect(),
                arrived: arrived_tx,
                go: go_rx,
            })
        });
        Gate { arrived, go }
    }

    /// Waits until the thread stands at `point`.
    pub(crate) fn reached(&self, point: Point) {
        let at = match self
            .arrived
            .recv_timeout(std::time::Duration::from_secs(10))
        {
            Ok(at) => at,
            Err(e) => panic!("the thread never reached {point:?}: {e}"),
        };
        assert_eq!(at, point, "the thread paused at another point");
    }

    /// Lets the thread go on from where it stands.
    pub(crate) fn release(&self) {
        self.go.send(()).unwrap();
    }
}

pub(crate) fn at(point: Point) {
    // `try_with`: a park while this thread's locals are being destroyed pauses nowhere.
    let _ = ARMED.try_with(|a| {
        let mut a = a.borrow_mut();
        let Some(armed) = a.as_mut() else { return };
        if armed.points.last() != Some(&point) {
            return;
        }
        armed.points.pop();
        armed.arrived.send(point).unwrap();
        armed.go.recv().unwrap();
        // Waiting on a std channel parks this thread, and may swallow an unpark meant for
        // the lockgate wait it stands in; give one back (every lockgate wait re-checks its
        // condition after a wake-up, so a spurious one costs a loop).
        std::thread::current().unpark();
    });
}

/// Runs `f` on a new thread with `points` armed; returns the test's gate and the handle.
pub(crate) fn paused<R: Send + 'static>(
    points: &'static [Point],
    f: impl FnOnce() -> R + Send + 'static,
) -> (Gate, std::thread::JoinHandle<R>) {
    let (tx, rx) = channel();
    let handle = std::thread::spawn(move || {
        tx.send(Gate::arm(points)).unwrap();
        f()
    });
    (rx.recv().unwrap(), handle)
}
