//! The rendezvous flavour, `bounded(0)`: Go's unbuffered channel.
//!
//! There is no buffer; a value passes straight from a sender to a receiver through the payload
//! of a wait node (the direct hand-off of `wait::list`):
//!
//! * a sender that finds a parked receiver deposits its value into that receiver's node and
//!   wakes it; otherwise it parks in `senders` with the value in its own node, and returns only
//!   once a receiver has taken it (or it times out, or every receiver leaves, and then takes
//!   the value back);
//! * a receiver that finds a parked sender takes the value out of the sender's node and wakes
//!   it; otherwise it parks in `receivers` until a sender deposits a value.
//!
//! Both queues sit under one mutex so that pairing is atomic, as in crossbeam-channel's zero
//! flavour; nothing allocates on this path. One corner allocates: an async receiver dropped
//! after a value was deposited into it hands the value to the next parked receiver, or keeps
//! it in `orphans` for the next receive, so no value is lost. In that corner the sender has
//! returned although the receive it handed to was cancelled; the value still goes to the
//! next receive, before any newer one.

use core::task::{Context, Poll};
use std::collections::VecDeque;

use super::error::{SendTimeoutError, TryRecvError, TrySendError};
use crate::sync::{self, AtomicUsize, Mutex, MutexGuard};
use crate::wait::{park_node, Notified, Until, WaitQueue, Waiter, Wake, CLOSED, NOTIFIED, WAITING};

struct Inner<T> {
    /// Parked senders; each node's payload holds the value it offers (`Some` while linked).
    senders: WaitQueue<Option<T>>,
    /// Parked receivers; a sender fills the payload of the node it picks.
    receivers: WaitQueue<Option<T>>,
    /// Values deposited into async receivers that were dropped before taking them. They are
    /// delivered before any parked sender's value.
    orphans: VecDeque<T>,
    senders_gone: bool,
    receivers_gone: bool,
}

pub(super) struct Zero<T> {
    inner: Mutex<Inner<T>>,
}

/// What a receive found under the lock.
enum Found<T> {
    Value(T, Wake),
    Disconnected,
    Nothing,
}

impl<T> Inner<T> {
    /// Takes a value from an orphan or a parked sender.
    fn take(&mut self) -> Found<T> {
        if let Some(v) = self.orphans.pop_front() {
            return Found::Value(v, Wake::None);
        }
        let mut out = None;
        if let Some(wake) = self
            .senders
            .pop_claimable_with(NOTIFIED, |p| out = p.take())
        {
            return Found::Value(out.expect("a parked sender holds its value"), wake);
        }
        if self.senders_gone {
            Found::Disconnected
        } else {
            Found::Nothing
        }
    }

    /// Deposits `value` into the oldest parked receiver, or hands it back.
    fn deposit(&mut self, value: T) -> Result<Wake, T> {
        let mut value = Some(value);
        match self
            .receivers
            .pop_claimable_with(NOTIFIED, |p| *p = value.take())
        {
            Some(wake) => Ok(wake),
            None => Err(value.take().expect("no node took the value")),
        }
    }
}

impl<T> Zero<T> {
    pub(super) fn new() -> Self {
        Zero {
            inner: Mutex::new(Inner {
                senders: WaitQueue::new(),
                receivers: WaitQueue::new(),
                orphans: VecDeque::new(),
                senders_gone: false,
                receivers_gone: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // Only queue surgery and moves of values run under this lock: wakers are cloned,
        // woken and dropped outside it, and no value is dropped under it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut g = self.lock();
        if g.receivers_gone {
            return Err(TrySendError::Disconnected(value));
        }
        match g.deposit(value) {
            Ok(wake) => {
                drop(g);
                wake.wake();
                Ok(())
            }
            Err(v) => Err(TrySendError::Full(v)),
        }
    }

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let found = self.lock().take();
        match found {
            Found::Value(v, wake) => {
                wake.wake();
                Ok(v)
            }
            Found::Disconnected => Err(TryRecvError::Disconnected),
            Found::Nothing => Err(TryRecvError::Empty),
        }
    }

    pub(super) fn send(&self, value: T, until: Until<'_>) -> Result<(), SendTimeoutError<T>> {
        let _yielding = until.yielding_locks();
        let node = Waiter::new(None);
        {
            let mut g = self.lock();
            if g.receivers_gone {
                return Err(SendTimeoutError::Disconnected(value));
            }
            let value = match g.deposit(value) {
                Ok(wake) => {
                    drop(g);
                    wake.wake();
                    return Ok(());
                }
                Err(v) => v,
            };
            // SAFETY: the node is fresh (IDLE) and owned by us.
            unsafe { node.with_payload(|p| *p = Some(value)) };
            // SAFETY: `node` is IDLE and stays on this frame until it is unlinked below.
            unsafe { g.senders.push_back(&node, Wake::Thread(sync::current())) };
        }
        let mut state = park_node(&node, until);
        if state == WAITING {
            // SAFETY: the node is linked in `senders` or was completed by it.
            let (picked, _wake) = unsafe { self.lock().senders.remove(&node) };
            state = match picked {
                Notified::No => WAITING,
                Notified::Yes(s) => s,
            };
        }
        // SAFETY: the node is unlinked (completed or removed), so its payload is ours.
        let back = || unsafe { node.with_payload(|p| p.take()) }.expect("value kept");
        match state {
            NOTIFIED => Ok(()),
            CLOSED => Err(SendTimeoutError::Disconnected(back())),
            _ => Err(SendTimeoutError::Timeout(back())),
        }
    }

    pub(super) fn recv(&self, until: Until<'_>) -> Option<Result<T, ()>> {
        let _yielding = until.yielding_locks();
        loop {
            let node = Waiter::new(None);
            {
                let mut g = self.lock();
                match g.take() {
                    Found::Value(v, wake) => {
                        drop(g);
                        wake.wake();
                        return Some(Ok(v));
                    }
                    Found::Disconnected => return Some(Err(())),
                    Found::Nothing => {}
                }
                // SAFETY: `node` is IDLE and stays on this frame until it is unlinked below.
                unsafe { g.receivers.push_back(&node, Wake::Thread(sync::current())) };
            }
            let mut state = park_node(&node, until);
            if state == WAITING {
                // SAFETY: the node is linked in `receivers` or was completed by it.
                let (picked, _wake) = unsafe { self.lock().receivers.remove(&node) };
                match picked {
                    Notified::No => return None,
                    Notified::Yes(s) => state = s,
                }
            }
            if state == NOTIFIED {
                // SAFETY: completed by a sender, so the payload is ours and holds its value.
                let v = unsafe { node.with_payload(|p| p.take()) };
                return Some(Ok(v.expect("a notified receiver holds a value")));
            }
            // CLOSED: every sender left; loop once more to drain orphans and report it.
        }
    }

    pub(super) fn poll_send(
        &self,
        node: &Waiter<Option<T>>,
        slot: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        // Cloned before the lock: waker code never runs under it.
        let waker = cx.waker().clone();
        let mut g = self.lock();
        match node.state() {
            NOTIFIED => return Poll::Ready(Ok(())),
            CLOSED => {
                // SAFETY: completed, so the payload is ours.
                let v = unsafe { node.with_payload(|p| p.take()) };
                return Poll::Ready(Err(v.expect("value kept")));
            }
            WAITING => {
                // SAFETY: the node is linked in `senders` (the only queue it joins).
                let (_, displaced) = unsafe { g.senders.update_waker(node, waker) };
                drop(g);
                drop(displaced);
                return Poll::Pending;
            }
            _ => {}
        }
        let value = slot.take().expect("send future polled after completion");
        if g.receivers_gone {
            return Poll::Ready(Err(value));
        }
        match g.deposit(value) {
            Ok(wake) => {
                drop(g);
                wake.wake();
                Poll::Ready(Ok(()))
            }
            Err(v) => {
                // SAFETY: IDLE, so the payload is ours.
                unsafe { node.with_payload(|p| *p = Some(v)) };
                // SAFETY: the node is IDLE and pinned in its future, which calls
                // `cancel_send` before it is dropped.
                unsafe { g.senders.push_back(node, Wake::Waker(waker)) };
                Poll::Pending
            }
        }
    }

    pub(super) fn poll_recv(
        &self,
        node: &Waiter<Option<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ()>> {
        // Cloned before the lock: waker code never runs under it.
        let waker = cx.waker().clone();
        let mut g = self.lock();
        match node.state() {
            NOTIFIED => {
                // SAFETY: completed by a sender: the payload is ours and holds the value.
                let v = unsafe { node.with_payload(|p| p.take()) };
                return Poll::Ready(Ok(v.expect("a notified receiver holds a value")));
            }
            WAITING => {
                // SAFETY: the node is linked in `receivers` (the only queue it joins).
                let (_, displaced) = unsafe { g.receivers.update_waker(node, waker) };
                drop(g);
                drop(displaced);
                return Poll::Pending;
            }
            _ => {} // IDLE, or CLOSED: look again below.
        }
        match g.take() {
            Found::Value(v, wake) => {
                drop(g);
                wake.wake();
                Poll::Ready(Ok(v))
            }
            Found::Disconnected => Poll::Ready(Err(())),
            Found::Nothing => {
                // SAFETY: not linked (IDLE or CLOSED), pinned in its future, which calls
                // `cancel_recv` before it is dropped.
                unsafe { g.receivers.push_back(node, Wake::Waker(waker)) };
                Poll::Pending
            }
        }
    }

    pub(super) fn cancel_send(&self, node: &Waiter<Option<T>>) {
        if node.state() == WAITING {
            // SAFETY: linked in `senders` or completed by it. An unsent value drops with the
            // node, i.e. with the future that owned it.
            let (_, _wake) = unsafe { self.lock().senders.remove(node) };
        }
    }

    pub(super) fn cancel_recv(&self, node: &Waiter<Option<T>>) {
        // Declared before the guard so that it drops after the lock is released.
        let mut _wake = Wake::None;
        let mut g = self.lock();
        if node.state() == WAITING {
            // SAFETY: linked in `receivers` or completed by it.
            (_, _wake) = unsafe { g.receivers.remove(node) };
        }
        if node.state() != NOTIFIED {
            return;
        }
        // A sender deposited a value we will never take: pass it on, never lose it.
        // SAFETY: completed, so the payload is ours.
        if let Some(v) = unsafe { node.with_payload(|p| p.take()) } {
            match g.deposit(v) {
                Ok(wake) => {
                    drop(g);
                    wake.wake();
                }
                Err(v) => g.orphans.push_back(v),
            }
        }
    }

    /// Go's `close(ch)`: parked senders fail and get their values back, parked receivers see
    /// the end (after any orphans), and every later send fails. Under the one lock, so nothing
    /// is in flight.
    pub(super) fn close(&self) {
        self.disconnect_receivers();
        self.disconnect_senders();
    }

    pub(super) fn is_closed_for_send(&self) -> bool {
        self.lock().receivers_gone
    }

    pub(super) fn is_closed_for_recv(&self) -> bool {
        self.lock().senders_gone
    }

    /// A select's receive arm: true if a receive would not wait (a value is offered by a
    /// waiter other than the select `token` itself, an orphan waits, or senders are gone).
    pub(super) fn recv_ready(&self, token: *const AtomicUsize) -> bool {
        let g = self.lock();
        !g.orphans.is_empty() || g.senders_gone || g.senders.has_claimable(token)
    }

    /// A select's send arm: true if a send would not wait.
    pub(super) fn send_ready(&self, token: *const AtomicUsize) -> bool {
        let g = self.lock();
        g.receivers_gone || g.receivers.has_claimable(token)
    }

    /// Links a select's receive node (its claim set), so that a sender can claim the select
    /// and deposit into it.
    ///
    /// # Safety
    /// `node` is not linked and stays put until `unlink_recv` has run.
    pub(super) unsafe fn link_recv(&self, node: &Waiter<Option<T>>, wake: Wake) {
        // SAFETY: forwarded caller contract.
        unsafe { self.lock().receivers.push_back(node, wake) };
    }

    /// Links a select's send node, offering `value` through its payload.
    ///
    /// # Safety
    /// As `link_recv`.
    pub(super) unsafe fn link_send(&self, node: &Waiter<Option<T>>, value: T, wake: Wake) {
        // SAFETY: not linked (caller contract), so the payload is ours.
        unsafe { node.with_payload(|p| *p = Some(value)) };
        // SAFETY: forwarded caller contract.
        unsafe { self.lock().senders.push_back(node, wake) };
    }

    /// Unlinks a select's receive node: the value a sender deposited after claiming the arm,
    /// if one did. The node is idle afterwards.
    ///
    /// # Safety
    /// `node` was linked by `link_recv` (it may have been completed since).
    pub(super) unsafe fn unlink_recv(&self, node: &Waiter<Option<T>>) -> Option<T> {
        let (_, _wake) = {
            let mut g = self.lock();
            // SAFETY: forwarded caller contract.
            unsafe { g.receivers.remove(node) }
        };
        // SAFETY: unlinked (removed or completed), so the payload is ours.
        let v = unsafe { node.with_payload(|p| p.take()) };
        node_reset(node);
        v
    }

    /// Unlinks a select's send node: `Ok` if a receiver claimed the arm and took the value,
    /// else the value back.
    ///
    /// # Safety
    /// `node` was linked by `link_send`.
    pub(super) unsafe fn unlink_send(&self, node: &Waiter<Option<T>>) -> Result<(), T> {
        let (_, _wake) = {
            let mut g = self.lock();
            // SAFETY: forwarded caller contract.
            unsafe { g.senders.remove(node) }
        };
        // SAFETY: unlinked, so the payload is ours.
        let v = unsafe { node.with_payload(|p| p.take()) };
        node_reset(node);
        match v {
            Some(v) => Err(v),
            None => Ok(()),
        }
    }

    /// A value that a select's receive arm was handed but will not deliver (its async select
    /// was dropped): to the next parked receiver, or kept for the next receive.
    pub(super) fn hand_on(&self, v: T) {
        let mut g = self.lock();
        match g.deposit(v) {
            Ok(wake) => {
                drop(g);
                wake.wake();
            }
            Err(v) => g.orphans.push_back(v),
        }
    }

    pub(super) fn disconnect_senders(&self) {
        self.lock().senders_gone = true;
        // Wake every parked receiver, one lock round each, so nothing allocates.
        loop {
            let w = self.lock().receivers.pop_front(CLOSED);
            match w {
                Some(w) => w.wake(),
                None => break,
            }
        }
    }

    pub(super) fn disconnect_receivers(&self) {
        self.lock().receivers_gone = true;
        loop {
            let w = self.lock().senders.pop_front(CLOSED);
            match w {
                Some(w) => w.wake(),
                None => break,
            }
        }
    }
}

/// Makes an unlinked node idle again, whatever completed it.
fn node_reset<T>(node: &Waiter<Option<T>>) {
    if node.state() != crate::wait::IDLE {
        // A queue completed it; `WaitList::reset` is the same store for list-owned nodes.
        node.make_idle();
    }
}
