//! The ring's blocking operations: [`RingQueue::push_wait`] and [`RingQueue::pop_wait`] on
//! fetch-and-add tickets, and their timed forms, which take a ticket only when its turn has
//! come.
//!
//! # Tickets by fetch-and-add
//!
//! A blocking push takes the next producer ticket with one `fetch_add` on `tail`, which, unlike
//! a CAS, never fails and never retries however many threads contend: the hot counter moves
//! once per item. It then waits for its slot's turn ([`Turn::wait`]: spin, then sleep on the
//! slot's word) and hands the slot on. A blocking pop mirrors it on `head`. Waiting threads
//! queue in ticket order, each on its own slot's word, and a hand-off wakes a sleeper only if
//! one sleeps there: with partners that keep up, an item costs one `fetch_add` per side and
//! one turn hand-off per side, with no lock and no system call. This is Folly's `MPMCQueue`
//! blocking write and read.
//!
//! A ticket taken this way must be served: its holder waits until its turn comes. So the
//! timed forms never take one: they use the CAS of `push`/`pop`, which claims a ticket only
//! when its slot is ready, and between attempts sleep on the slot of the ticket they would
//! take next, until its turn comes or passes or their deadline strikes. A deadline therefore
//! leaves nothing behind.
//!
//! The crate's channel builds its plain `send`/`recv` on [`RingQueue::push_ticket`] and
//! [`RingQueue::pop_ticket`], whose waits end early when a stop condition (the other side
//! gone) or the close's cut says the turn will never come.

use core::cell::Cell;
use std::time::{Duration, Instant};

use super::{RingQueue, CLOSED, CONSUMER, PRODUCER};
use crate::sync::{thread_local, Ordering};
use crate::wait::turn::How;
use crate::wait::{deadline_after, WaitPolicy};

/// One wait in this many teaches the spin cutoff (its line stays read-mostly).
const ADAPT_EVERY: u64 = 64;

/// Ticket operations for which a thread whose turn wait outlasted its spin phase first tries
/// to claim a ready slot by CAS (see `late_binding`).
const LATE_OPS: u32 = 256;

thread_local! {
    /// Ticket operations this thread has left in late-binding mode (see `late_binding`).
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    static LATE: Cell<u32> = Cell::new(0);
}

/// Whether this ticket operation first tries a ready slot by one CAS.
///
/// A ticket binds its holder to one slot, and the holder of the turn before it must run for
/// it to come. On a machine with more threads than cores that holder is often not running,
/// and every such hand-off costs a context switch (measured on 2 cores with 2 producers and
/// 2 consumers: 0.4x crossbeam-channel at capacity 1024, 0.07x at capacity 1). A thread
/// whose turn wait had to yield or sleep therefore spends its next `LATE_OPS` blocking
/// operations in the form the timed ones use: claim a ready slot by CAS, and between
/// attempts sleep on the slot it would take next, holding no ticket, so whichever thread
/// runs takes the next item or room (crossbeam's way, and its cost under contention). Its
/// waits spin only the cutoff's floor before they yield and sleep: with its partners seen
/// descheduled, a long spin mostly waits for a thread that is not running (a 3-stage
/// pipeline, four busy threads on two cores, ran 3.5x faster so). Each such wait that is
/// long renews the mode. A thread whose turns come while it spins (a core
/// per thread) never enters it, and stays on plain `fetch_add`: one RMW, no failed CAS.
fn late_binding() -> bool {
    LATE.try_with(|l| {
        let n = l.get();
        if n > 0 {
            l.set(n - 1);
        }
        n > 0
    })
    .unwrap_or(false)
}

/// True while this thread is in late-binding mode: its waits spin only briefly (its partners
/// were seen descheduled; a long spin would mostly wait for a thread that is not running).
fn in_late_binding() -> bool {
    LATE.try_with(|l| l.get() > 0).unwrap_or(false)
}

/// Records how a turn wait went: one that outlasted its spin phase starts late binding.
fn waited(long: bool) {
    if long {
        let _ = LATE.try_with(|l| l.set(LATE_OPS));
    }
}

impl<T> RingQueue<T> {
    /// Appends `value`, waiting while the queue is full.
    ///
    /// Takes its place in line with one `fetch_add`, so producers that wait are served in the
    /// order they arrived, and then waits for its slot: a short adaptive spin, then a sleep on
    /// the slot's own word that the consumer ahead of it ends. Do not combine with
    /// [`force_push`](RingQueue::force_push) on one queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use lockgate::queue::RingQueue;
    /// use std::sync::Arc;
    ///
    /// let q = Arc::new(RingQueue::new(1));
    /// let q2 = q.clone();
    /// let producer = std::thread::spawn(move || {
    ///     for i in 0..100 {
    ///         q2.push_wait(i); // waits whenever the one slot is taken
    ///     }
    /// });
    /// let got: Vec<i32> = (0..100).map(|_| q.pop_wait()).collect();
    /// producer.join().unwrap();
    /// assert_eq!(got, (0..100).collect::<Vec<_>>());
    /// ```
    pub fn push_wait(&self, value: T) {
        if self
            .push_ticket(value, WaitPolicy::Adaptive, || false)
            .is_err()
        {
            unreachable!("a RingQueue is never closed and never stops a wait");
        }
    }

    /// Removes the oldest value, waiting while the queue is empty. Takes its place in line
    /// with one `fetch_add`, as [`push_wait`](RingQueue::push_wait) does. Do not combine with
    /// [`force_push`](RingQueue::force_push) on one queue.
    pub fn pop_wait(&self) -> T {
        match self.pop_ticket(WaitPolicy::Adaptive, || false) {
            Some(v) => v,
            None => unreachable!("a RingQueue is never closed and never stops a wait"),
        }
    }

    /// Like [`push_wait`](RingQueue::push_wait), giving up after `timeout`: the value comes
    /// back. Never returns early, and takes no place in line while it waits, so giving up
    /// leaves nothing behind.
    pub fn push_wait_timeout(&self, value: T, timeout: Duration) -> Result<(), T> {
        self.push_until(value, deadline_after(timeout), WaitPolicy::Adaptive, || {
            false
        })
    }

    /// Like [`push_wait_timeout`](RingQueue::push_wait_timeout), giving up at `deadline`.
    pub fn push_wait_deadline(&self, value: T, deadline: Instant) -> Result<(), T> {
        self.push_until(value, Some(deadline), WaitPolicy::Adaptive, || false)
    }

    /// Like [`pop_wait`](RingQueue::pop_wait), giving up after `timeout` (`None` then).
    /// Never returns early; takes nothing while it waits.
    ///
    /// ```
    /// use lockgate::queue::RingQueue;
    /// use std::time::Duration;
    ///
    /// let q = RingQueue::<u8>::new(4);
    /// assert_eq!(q.pop_wait_timeout(Duration::from_millis(5)), None);
    /// q.push(1).unwrap();
    /// assert_eq!(q.pop_wait_timeout(Duration::from_millis(5)), Some(1));
    /// ```
    pub fn pop_wait_timeout(&self, timeout: Duration) -> Option<T> {
        self.pop_until(deadline_after(timeout), WaitPolicy::Adaptive, || false)
    }

    /// Like [`pop_wait_timeout`](RingQueue::pop_wait_timeout), giving up at `deadline`.
    pub fn pop_wait_deadline(&self, deadline: Instant) -> Option<T> {
        self.pop_until(Some(deadline), WaitPolicy::Adaptive, || false)
    }

    /// The blocking push on a `fetch_add` ticket. Hands the value back if the ring was closed
    /// before the ticket was taken, or if `stop()` holds while the turn has not come (the
    /// ticket is then abandoned: only for a stop after which nothing is ever popped).
    pub(crate) fn push_ticket(
        &self,
        value: T,
        policy: WaitPolicy,
        stop: impl Fn() -> bool,
    ) -> Result<(), T> {
        if late_binding() {
            return self.push_until(value, None, policy, stop);
        }
        // SeqCst: ordered with `close`'s `fetch_or`, which decides which tickets land.
        let t = self.tail.fetch_add(1, Ordering::SeqCst);
        if t & CLOSED != 0 {
            return Err(value); // past the cut: the ticket is void
        }
        let (slot, lap) = self.slot(t);
        let how = How::new(policy, &self.spin, t % ADAPT_EVERY == 0);
        match slot
            .turn
            .wait(2 * lap, Self::mask(2 * lap + PRODUCER), how, stop)
        {
            Ok(long) => {
                waited(long);
                self.write(slot, lap, value);
                Ok(())
            }
            Err(_) => Err(value),
        }
    }

    /// The blocking pop on a `fetch_add` ticket. `None` once the ticket is at or past the
    /// close's cut (nothing will come), or if `stop()` holds while the value has not come.
    pub(crate) fn pop_ticket(&self, policy: WaitPolicy, stop: impl Fn() -> bool) -> Option<T> {
        // Tickets taken past the cut are burnt: a drained ring takes none, so only threads
        // racing the close can burn one, and `head` stays within a few laps of the cut (a
        // turn distance must stay far below the 24-bit wrap, see `wait/turn.rs`).
        if self.drained_to_cut() {
            return None;
        }
        if late_binding() {
            return self.pop_until(None, policy, stop);
        }
        let h = self.head.fetch_add(1, Ordering::SeqCst);
        let past_cut = || self.cut().is_some_and(|c| h >= c);
        if past_cut() {
            return None; // never read the turn of a ticket that is not served
        }
        let (slot, lap) = self.slot(h);
        let how = How::new(policy, &self.spin, h % ADAPT_EVERY == 0);
        match slot
            .turn
            .wait(2 * lap + 1, Self::mask(2 * lap + CONSUMER), how, || {
                past_cut() || stop()
            }) {
            Ok(long) => {
                waited(long);
                Some(self.read(slot, lap))
            }
            Err(_) => None,
        }
    }

    /// The timed push: `push` attempts, sleeping between them on the slot of the ticket it
    /// would take next until that ticket's turn comes or passes. After the deadline (or once
    /// `stop()` holds), one last attempt. Also the late-binding form of the blocking push
    /// (no deadline), which holds no ticket while it waits.
    pub(crate) fn push_until(
        &self,
        mut value: T,
        deadline: Option<Instant>,
        policy: WaitPolicy,
        stop: impl Fn() -> bool,
    ) -> Result<(), T> {
        loop {
            match self.push(value) {
                Ok(()) => return Ok(()),
                Err(v) => value = v,
            }
            let t = self.tail.load(Ordering::SeqCst);
            if t & CLOSED != 0 {
                return Err(value);
            }
            let (slot, lap) = self.slot(t);
            let how = How {
                deadline,
                short: in_late_binding(),
                ..How::new(policy, &self.spin, false)
            };
            let mask = Self::mask(2 * lap + PRODUCER);
            match slot
                .turn
                .wait(2 * lap, mask, how, || self.is_closed() || stop())
            {
                Ok(long) => waited(long),
                Err(_) => return self.push(value),
            }
        }
    }

    /// The timed pop, mirroring `push_until`.
    pub(crate) fn pop_until(
        &self,
        deadline: Option<Instant>,
        policy: WaitPolicy,
        stop: impl Fn() -> bool,
    ) -> Option<T> {
        loop {
            if let Some(v) = self.pop() {
                return Some(v);
            }
            let h = self.head.load(Ordering::SeqCst);
            let past_cut = || self.cut().is_some_and(|c| h >= c);
            if past_cut() {
                return None;
            }
            let (slot, lap) = self.slot(h);
            let how = How {
                deadline,
                short: in_late_binding(),
                ..How::new(policy, &self.spin, false)
            };
            let mask = Self::mask(2 * lap + CONSUMER);
            match slot
                .turn
                .wait(2 * lap + 1, mask, how, || past_cut() || stop())
            {
                Ok(long) => waited(long),
                Err(_) => return self.pop(),
            }
        }
    }
}
