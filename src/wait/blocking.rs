//! The blocking path every blocking call takes (steps 2 to 4 of the waiting path): spin,
//! register in a wait list, re-check, park; give up through the timeout path when the
//! deadline passes or the cancellation source fires. Also its async form (one poll) and the
//! unlink a dropped future runs.

use std::time::Instant;

use crate::sync::{self};

use super::hook::Watch;
use super::node::*;
use super::wait_list::*;
use super::{Backoff, Until, WaitPolicy};

/// Parks the calling thread until `node` leaves `WAITING`, or `until` passes (its deadline, or
/// its cancellation source fires). Returns the node's state (`WAITING` means the wait should
/// give up and the node is still linked: the caller's timeout path settles the race).
///
/// With a cancellation source, the thread is also linked into the source's wait list while it
/// parks, so the source's `notify_all` unparks it (see `until.rs`).
pub(crate) fn park_node<P>(node: &Waiter<P>, until: Until<'_>) -> usize {
    let Some(source) = until.cancel else {
        return park_plain(node, until.deadline, || false);
    };
    let list = source.waiters();
    let watch = Waiter::new(());
    // SAFETY: `watch` is fresh and lives on this frame; `_unlink` unregisters it before the
    // frame is left, however it is left.
    unsafe { list.register(&watch, Wake::Thread(sync::current())) };
    // The source wakes every waiter (`notify_all`), so a notification taken by `watch` needs
    // no passing on: the guard only unlinks.
    struct Unlink<'a>(&'a WaitList<()>, &'a Waiter<()>);
    impl Drop for Unlink<'_> {
        fn drop(&mut self) {
            // SAFETY: registered in this list above.
            unsafe { self.0.unregister(self.1) };
        }
    }
    let _unlink = Unlink(list, &watch);
    // `register` ends with the fence that orders this re-check after our link (the source's
    // side is a SeqCst RMW followed by `notify_all`): a firing we miss here will unpark us.
    // A notified `watch` also ends the park: it is off the source's list now, so a source
    // that fired and stopped again (the pool's retirement signal may) could not wake us a
    // second time; the caller's timeout path runs and it may wait again, linked anew. For a
    // context, which stays fired, this changes nothing.
    park_plain(node, until.deadline, || {
        source.is_interrupted() || watch.state() != WAITING
    })
}

fn park_plain<P>(node: &Waiter<P>, deadline: Option<Instant>, stop: impl Fn() -> bool) -> usize {
    // A pool's worker reports a long wait to its pool (see `hook.rs`); dropped on return.
    let mut watch = Watch::new();
    loop {
        let s = node.state();
        if s != WAITING || stop() {
            return s;
        }
        super::pause_point!(Parking);
        let passed = watch.park_until(deadline);
        super::pause_point!(Woke);
        if passed {
            return node.state();
        }
    }
}

/// The whole waiting path for a blocking call: `attempt` is the call's own non-blocking form,
/// returning `Some` when the call is finished (succeeded or failed for good) and `None` when it
/// must wait. Returns `None` if `until` passed first (deadline or cancellation); `attempt` has
/// then run once more after it, so nothing that became ready in time is lost.
pub(crate) fn wait_blocking<'u, P: Default, R>(
    list: &WaitList<P>,
    policy: WaitPolicy,
    until: impl Into<Until<'u>>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let until = until.into();
    let _yielding = until.yielding_locks();
    if let Some(r) = attempt() {
        return Some(r);
    }
    // Step 2: spin.
    let mut backoff = Backoff::new();
    match policy {
        WaitPolicy::Park => {}
        WaitPolicy::Adaptive => {
            while !backoff.is_completed() {
                backoff.snooze();
                if let Some(r) = attempt() {
                    return Some(r);
                }
                if until.passed() {
                    return None;
                }
            }
        }
        WaitPolicy::Spin => loop {
            backoff.spin();
            if let Some(r) = attempt() {
                return Some(r);
            }
            if until.passed() {
                return None;
            }
        },
    }
    // Steps 3 and 4: register, re-check, park. The guard unlinks the node (passing on a
    // notification it was picked for) however this frame is left, unwinding included: an
    // `attempt` may wake a peer, and a peer's waker is user code that may panic.
    let node = Waiter::new(P::default());
    let _guard = CancelOnDrop { list, node: &node };
    loop {
        // SAFETY: `node` is not linked (fresh, or completed and handled below) and lives on
        // this frame, which cannot be left before `_guard` unlinks it.
        unsafe { list.register(&node, Wake::Thread(sync::current())) };
        if let Some(r) = attempt() {
            return Some(r); // `_guard` unlinks, or passes on a notification we got meanwhile
        }
        if park_node(&node, until) == WAITING {
            // Timed out (or cancelled) while linked; `unregister` decides the race with a notifier.
            // SAFETY: registered above.
            let picked = unsafe { list.unregister(&node) };
            let last = attempt();
            if last.is_some() && picked != Notified::No {
                // We acted on the notification we were picked for.
                list.reset(&node);
            }
            return last; // `_guard` passes on a notification we did not use
        }
        // Notified (or closed): the node is ours again; act on it by re-checking.
        list.reset(&node);
    }
}

/// Unlinks a wait node when the frame that owns it is left, normally or by unwinding.
struct CancelOnDrop<'a, P> {
    list: &'a WaitList<P>,
    node: &'a Waiter<P>,
}

impl<P> Drop for CancelOnDrop<'_, P> {
    fn drop(&mut self) {
        // SAFETY: the node is only ever registered in `list`.
        unsafe { cancel_wait(self.list, self.node) };
    }
}

/// The async form of [`wait_blocking`]: one poll of a future whose wait node is `node`.
///
/// # Safety
/// `node` is pinned (it does not move until it is dropped), is only ever registered in `list`,
/// and its owner calls [`cancel_wait`] before dropping it.
pub(crate) unsafe fn poll_wait<P, R>(
    list: &WaitList<P>,
    node: &Waiter<P>,
    cx: &mut core::task::Context<'_>,
    mut attempt: impl FnMut() -> Option<R>,
) -> core::task::Poll<R> {
    use core::task::Poll;
    let state = node.state();
    if state == NOTIFIED || state == CLOSED {
        // We were woken: the node is ours again and this poll acts on the notification.
        list.reset(node);
    }
    let finish = |r: R| {
        // SAFETY: `node` is only registered in `list` (caller contract).
        if let Notified::Yes(_) = unsafe { list.unregister(node) } {
            // Picked while we succeeded on our own: the wake-up is someone else's.
            list.reset(node);
            list.notify_one();
        }
        Poll::Ready(r)
    };
    if let Some(r) = attempt() {
        return finish(r);
    }
    // SAFETY: caller contract; `update_waker` only touches a node linked in `list`.
    if state == WAITING && unsafe { list.update_waker(node, cx.waker()) } {
        return Poll::Pending;
    }
    if node.state() != IDLE {
        // Completed between our first look and now: act on it in this poll.
        list.reset(node);
    }
    // SAFETY: the node is IDLE and pinned (caller contract).
    unsafe { list.register(node, Wake::Waker(cx.waker().clone())) };
    match attempt() {
        Some(r) => finish(r),
        None => Poll::Pending,
    }
}

/// Called when a future that may have a node in `list` is dropped: unlinks the node and, if a
/// notifier had already picked it, passes the notification on so that no wake-up is lost.
///
/// # Safety
/// `node` is only ever registered in `list`.
pub(crate) unsafe fn cancel_wait<P>(list: &WaitList<P>, node: &Waiter<P>) {
    match node.state() {
        IDLE => {}
        WAITING => {
            // SAFETY: caller contract.
            if let Notified::Yes(NOTIFIED) = unsafe { list.unregister(node) } {
                list.notify_one();
            }
        }
        NOTIFIED => {
            list.notify_one();
        }
        _ => {}
    }
}
