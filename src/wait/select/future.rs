//! The async select: the same steps, one poll at a time, with the nodes inside the pinned
//! future; cancel-safe.

use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use super::*;
use crate::sync::AtomicUsize;
use crate::wait::{Wake, SELECT_ABORTED};

/// How an async select ends when nothing is ready at its first look.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Otherwise {
    /// Wait for an arm.
    Wait,
    /// Return `None` at once (`default`).
    Default,
}

/// The async select: resolves to the index of the arm that fired (or `None` for `default`).
/// Cancel-safe: dropped while waiting, it unlinks every node; a value a peer had already
/// handed to one of its arms is handed on, never lost.
#[doc(hidden)]
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<'a, L: ArmList> {
    arms: &'a mut L,
    otherwise: Otherwise,
    /// The select token; its address is in every linked node, hence `PhantomPinned`.
    token: AtomicUsize,
    /// True while nodes are linked.
    linked: bool,
    /// The arms' fair order for this select: a permutation of `0..arm_count`, drawn once.
    order: &'a [u32],
    _pin: PhantomPinned,
}

impl<'a, L: ArmList> SelectFuture<'a, L> {
    /// A select over `arms`.
    ///
    /// # Safety
    /// The arms must not move, and must not be used, until the future has been dropped:
    /// while it waits, their nodes are linked in the channels' lists, and only the future's
    /// `Drop` unlinks them (a future that is leaked would leave them linked). The macro
    /// keeps the arms in a local it never moves and awaits the future in place.
    ///
    /// `order` is scratch space for the fair order, one slot per arm (as in
    /// [`run_blocking`]).
    ///
    /// # Panics
    /// With no arms and no `default`; if `order` is shorter than the arm list.
    pub unsafe fn new(arms: &'a mut L, order: &'a mut [u32], otherwise: Otherwise) -> Self {
        let n = arms.arm_count();
        assert!(
            n > 0 || otherwise == Otherwise::Default,
            "select! with no arms and no default would wait forever"
        );
        let order = &mut order[..n];
        shuffle(order);
        SelectFuture {
            order,
            arms,
            otherwise,
            token: AtomicUsize::new(SELECT_ABORTED),
            linked: false,
            _pin: PhantomPinned,
        }
    }
}

impl<L: ArmList> Future for SelectFuture<'_, L> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<usize>> {
        // SAFETY: `token` is never moved out of the pinned future; the other fields are not
        // structurally pinned.
        let this = unsafe { self.get_unchecked_mut() };
        if this.arms.arm_count() == 0 {
            return Poll::Ready(None);
        }
        if this.linked {
            // `linked` is cleared only once every arm is unlinked: unlinking drops wakers
            // (user code), and if one panics, `Drop` must still unlink the rest before the
            // token they point at is freed.
            let committed = abort_and_unlink(this.arms, &this.token);
            this.linked = false;
            if let Some(k) = committed {
                return Poll::Ready(Some(k));
            }
        }
        loop {
            if let Some(i) = try_round(this.arms, this.order) {
                return Poll::Ready(Some(i));
            }
            if this.otherwise == Otherwise::Default {
                return Poll::Ready(None);
            }
            if all_disabled(this.arms) {
                all_disabled_panic();
            }
            let waker = cx.waker();
            let wake = || Wake::Waker(waker.clone());
            this.linked = true;
            // SAFETY: the future is pinned, so `token` stays put, and `arms` is borrowed for
            // the future's life; `Drop` unlinks whatever is still linked.
            match unsafe { link_and_check(this.arms, &this.token, &wake, this.order) } {
                Ok(Some(i)) => {
                    this.linked = false;
                    return Poll::Ready(Some(i));
                }
                Err(()) => this.linked = false,
                Ok(None) => return Poll::Pending,
            }
        }
    }
}

impl<L: ArmList> Drop for SelectFuture<'_, L> {
    fn drop(&mut self) {
        if self.linked {
            if let Some(k) = abort_and_unlink(self.arms, &self.token) {
                self.arms.arm(k).abandon();
            }
            // Notifications the unlinked arms hold go to the next waiters of their lists.
            for i in 0..self.arms.arm_count() {
                self.arms.arm(i).pass_on();
            }
        }
    }
}

impl<L: ArmList> core::fmt::Debug for SelectFuture<'_, L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SelectFuture")
            .field("arms", &self.arms.arm_count())
            .field("linked", &self.linked)
            .finish()
    }
}
