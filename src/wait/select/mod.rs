//! The select loop: one waiter linked in every arm's wait list at once.
//!
//! # Protocol
//!
//! Each arm is one operation (a receive, a send, a context's end, a promise's result) with
//! its own wait node, linked in its own structure's wait list. One word, the *token*, says
//! whether the select still waits (`SELECT_OPEN`), has stopped on its own
//! (`SELECT_ABORTED`), or has been committed to arm `k` by a peer (`k + 2`).
//!
//! Most arms are never committed by a peer: a notifier only wakes their node, and the arm
//! fires by its own non-blocking attempt (a ring pop, a load). Only rendezvous-channel arms
//! are *claimable*: a peer hands a value into (or takes one out of) the node, which it may do
//! only after winning the token with a CAS, under the channel's lock (the scheme of
//! crossbeam-channel's `Context::try_select` and Go's `sellock`/`selectgo`).
//!
//! ```text
//!   1. try round: every arm's attempt, in a random order     -> fired: done
//!      (the blocking form spins and retries briefly first, as every blocking call does)
//!   2. token = ABORTED; link every node (nothing claimable yet)
//!   3. attempt the unclaimable arms again (event count)       -> fired: unlink all, done
//!   4. token = OPEN (SeqCst); re-check the claimable arms     -> ready: abort, unlink, 1
//!   5. park until the token moves, a node is woken or the deadline passes
//!   6. CAS token OPEN -> ABORTED: lost to arm k -> unlink all, arm k fired; else unlink, 1
//! ```
//!
//! Exactly one arm fires: attempts in steps 1 and 3 run while no node is claimable, and after
//! step 4 only a peer's claim (which the CAS in 6 or 4 decides) can fire an arm. Nothing is
//! lost: an attempt that fails takes nothing, a claim moves the value under the channel's
//! lock together with the CAS, and a node unlinked without being claimed gives its value
//! back (a send) or holds none (a receive). The steps 3 and 4 re-checks follow the event
//! count: link first (the lists' SeqCst registration), check after, so a wake-up between the
//! check and the park is not lost. A notification that arrives at an arm which then does not
//! fire is passed on to the next waiter of that list, as a timed-out blocking wait does.
//!
//! Fairness: each select shuffles its arms' indices once (a Fisher-Yates shuffle driven by a
//! per-thread xorshift, in a buffer the caller provides: the macro's is a stack array with one
//! slot per arm, so nothing is allocated), and steps 1 and 3 try the arms in that order, as
//! Go's `selectgo` polls in its shuffled `pollorder`. The order is drawn before and without
//! regard to which arms are ready, and every order is equally likely, so whichever arms are
//! ready, the first of them in the order is each one with the same probability. (Trying the
//! arms in rotation from a random start would not be: a ready arm right after `k` arms that
//! are not ready would win with probability `(k + 1) / n`.)

mod blocking;
mod future;
mod order;

pub use blocking::run_blocking;
pub use future::{Otherwise, SelectFuture};
use order::random_below;
pub(crate) use order::shuffle;

use std::time::Instant;

use super::{Notified, WaitList, Waiter, Wake, SELECT_ABORTED, SELECT_OPEN, WAITING};
use crate::sync::{AtomicUsize, Ordering};

/// One operation of a select. Implemented by the arm types of the channel, context and
/// promise modules; used only through the [`select!`](crate::select!) macros.
#[doc(hidden)]
pub trait Arm {
    /// The non-blocking attempt. On success the arm keeps its outcome and returns true.
    /// Called only while the arm's node is not claimable (unlinked, or the token not open).
    fn attempt(&mut self) -> bool;
    /// True for arms whose node a peer may claim (rendezvous-channel arms).
    fn claimable(&self) -> bool {
        false
    }
    /// For a claimable arm: true if `attempt` would not wait (a partner other than the
    /// select `token` itself is there, or the channel is closed).
    fn ready(&self, _token: &AtomicUsize) -> bool {
        false
    }
    /// Links the arm's node, to be woken with `wake` and claimed through `token` as arm
    /// `index`.
    ///
    /// # Safety
    /// The arm does not move until `unlink` has run, and `token` outlives that.
    unsafe fn link(&mut self, token: &AtomicUsize, index: usize, wake: Wake);
    /// True once a notifier completed the linked node.
    fn woken(&self) -> bool;
    /// Unlinks the node. `claimed` says that a peer committed this arm (the token named
    /// it): the arm then finishes the operation the peer did and keeps the outcome. An
    /// unclaimed arm remembers a notification it got, for `pass_on`.
    fn unlink(&mut self, claimed: bool);
    /// Hands a remembered notification to the next waiter of the arm's list (the arm did
    /// not fire), and forgets it.
    fn pass_on(&mut self) {}
    /// Forgets a remembered notification: the arm's attempt ran after it, so it was used.
    fn forget_notification(&mut self) {}
    /// A deadline after which the arm fires by itself (a context's), for blocking waits.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    /// Called instead of handing the outcome over when an async select that a peer had
    /// committed to this arm is dropped: a value received must not be lost.
    fn abandon(&mut self) {}
    /// True for an arm that can never fire (a disabled one: Go's nil channel). A select whose
    /// arms are all disabled, with no `default` or timeout, would wait forever.
    fn disabled(&self) -> bool {
        false
    }
}

/// The wait node of an arm that is only ever woken, never claimed: its source wakes every
/// waiter when it fires (`notify_all`: a context's end, a promise's result), so a wake-up it
/// does not use needs no passing on, and nothing is handed into it. The context's and the
/// promise's arms are this node plus their own attempt.
pub(crate) struct WokenNode {
    node: Waiter<()>,
    /// Linked in a list by `link` and not yet unlinked.
    linked: bool,
}

impl WokenNode {
    pub(crate) fn new() -> Self {
        WokenNode {
            node: Waiter::new(()),
            linked: false,
        }
    }

    /// Links the node in `list`, to be woken with `wake`.
    ///
    /// # Safety
    /// The node is not linked; it does not move until [`unlink`](Self::unlink) has run with
    /// the same `list`, which outlives that.
    pub(crate) unsafe fn link(&mut self, list: &WaitList<()>, wake: Wake) {
        // SAFETY: the caller's contract; the node is idle (not linked).
        unsafe { list.register(&self.node, wake) };
        self.linked = true;
    }

    /// True once the source woke the linked node.
    pub(crate) fn woken(&self) -> bool {
        self.linked && self.node.state() != WAITING
    }

    /// Unlinks the node if it is linked; a notification it got is dropped (its source woke
    /// every waiter, so none is owed to another).
    ///
    /// # Safety
    /// `list` is the list the node was linked in.
    pub(crate) unsafe fn unlink(&mut self, list: &WaitList<()>) {
        if core::mem::take(&mut self.linked) {
            // SAFETY: linked in `list` (the caller's contract) by `link`.
            if let Notified::Yes(_) = unsafe { list.unregister(&self.node) } {
                list.reset(&self.node);
            }
        }
    }

    pub(crate) fn is_linked(&self) -> bool {
        self.linked
    }
}

/// An arm that may be disabled, Go's nil channel in a `select`: `MaybeArm(None)` never
/// fires, links nothing and is never woken; `MaybeArm(Some(arm))` is `arm`.
#[doc(hidden)]
#[derive(Debug)]
pub struct MaybeArm<A>(pub Option<A>);

impl<A: Arm> Arm for MaybeArm<A> {
    #[inline]
    fn attempt(&mut self) -> bool {
        self.0.as_mut().is_some_and(Arm::attempt)
    }
    fn claimable(&self) -> bool {
        self.0.as_ref().is_some_and(Arm::claimable)
    }
    fn ready(&self, token: &AtomicUsize) -> bool {
        self.0.as_ref().is_some_and(|a| a.ready(token))
    }
    unsafe fn link(&mut self, token: &AtomicUsize, index: usize, wake: Wake) {
        if let Some(a) = &mut self.0 {
            // SAFETY: forwarded caller contract (the arm is inside `self`, which stays put
            // until `unlink`).
            unsafe { a.link(token, index, wake) }
        }
    }
    fn woken(&self) -> bool {
        self.0.as_ref().is_some_and(Arm::woken)
    }
    fn unlink(&mut self, claimed: bool) {
        if let Some(a) = &mut self.0 {
            a.unlink(claimed);
        }
    }
    fn pass_on(&mut self) {
        if let Some(a) = &mut self.0 {
            a.pass_on();
        }
    }
    fn forget_notification(&mut self) {
        if let Some(a) = &mut self.0 {
            a.forget_notification();
        }
    }
    fn deadline(&self) -> Option<Instant> {
        self.0.as_ref().and_then(Arm::deadline)
    }
    fn abandon(&mut self) {
        if let Some(a) = &mut self.0 {
            a.abandon();
        }
    }
    fn disabled(&self) -> bool {
        self.0.as_ref().map_or(true, Arm::disabled)
    }
}

/// The panic of a select that could only wait forever: every arm disabled, and no `default`
/// or timeout.
#[track_caller]
fn all_disabled_panic() -> ! {
    panic!("select! with every arm disabled (None) and no default would block forever")
}

/// True if no arm can ever fire.
fn all_disabled<L: ArmList + ?Sized>(arms: &mut L) -> bool {
    (0..arms.arm_count()).all(|i| arms.arm(i).disabled())
}

/// The arms of one select, nested as `(A, (B, (C, ())))` by the macro.
#[doc(hidden)]
pub trait ArmList {
    /// Number of arms.
    fn arm_count(&self) -> usize;
    /// Arm `i`.
    fn arm(&mut self, i: usize) -> &mut dyn Arm;
}

impl ArmList for () {
    fn arm_count(&self) -> usize {
        0
    }
    fn arm(&mut self, _: usize) -> &mut dyn Arm {
        unreachable!("select arm index out of range")
    }
}

impl<A: Arm, R: ArmList> ArmList for (A, R) {
    #[inline]
    fn arm_count(&self) -> usize {
        1 + self.1.arm_count()
    }
    #[inline]
    fn arm(&mut self, i: usize) -> &mut dyn Arm {
        if i == 0 {
            &mut self.0
        } else {
            self.1.arm(i - 1)
        }
    }
}

/// Step 1: every arm's attempt, in `order` (a permutation of the arm indices). On a win,
/// notifications held by the arms not attempted are passed on.
fn try_round<L: ArmList + ?Sized>(arms: &mut L, order: &[u32]) -> Option<usize> {
    for (k, &i) in order.iter().enumerate() {
        let arm = arms.arm(i as usize);
        if arm.attempt() {
            arm.forget_notification();
            for &j in &order[k + 1..] {
                arms.arm(j as usize).pass_on();
            }
            return Some(i as usize);
        }
        arm.forget_notification();
    }
    None
}

/// Unlinks every arm (`claimed`: the index a peer committed, if any), then passes on the
/// notifications of every arm but `winner`.
fn unlink_all<L: ArmList + ?Sized>(arms: &mut L, claimed: Option<usize>, winner: Option<usize>) {
    let n = arms.arm_count();
    for i in 0..n {
        arms.arm(i).unlink(claimed == Some(i));
    }
    if let Some(w) = winner {
        for i in (0..n).filter(|&i| i != w) {
            arms.arm(i).pass_on();
        }
    }
}

/// The arm a token names, if a peer committed one.
fn claimed_arm(token: usize) -> Option<usize> {
    (token >= 2).then(|| token - 2)
}

/// Steps 2 to 4. `Ok(Some(i))`: arm `i` fired (every node unlinked). `Ok(None)`: linked,
/// token open, nothing ready: park. `Err(())`: a claimable arm looked ready; the select
/// aborted and unlinked: run the try round again.
///
/// # Safety
/// `arms` and `token` stay put until every arm is unlinked.
unsafe fn link_and_check<L: ArmList + ?Sized>(
    arms: &mut L,
    token: &AtomicUsize,
    wake: &dyn Fn() -> Wake,
    order: &[u32],
) -> Result<Option<usize>, ()> {
    // Relaxed: nothing is linked yet, so no peer reads the token; the lists' locks
    // publish it with the nodes.
    token.store(SELECT_ABORTED, Ordering::Relaxed);
    let n = arms.arm_count();
    for i in 0..n {
        // SAFETY: forwarded caller contract.
        unsafe { arms.arm(i).link(token, i, wake()) };
    }
    // Step 3: the unclaimable arms, now that their nodes are linked (each list's
    // registration ends with the event count's fence).
    for &i in order {
        let i = i as usize;
        let arm = arms.arm(i);
        if !arm.claimable() && arm.attempt() {
            unlink_all(arms, None, Some(i));
            return Ok(Some(i));
        }
    }
    // Step 4. SeqCst: ordered before our re-check below and with a peer's claim CAS, which
    // runs under the lock our re-check takes: a peer that skipped our node (token aborted)
    // has parked before our re-check looks, or sees the token open and claims it.
    token.store(SELECT_OPEN, Ordering::SeqCst);
    let mut ready = false;
    for i in 0..n {
        let arm = arms.arm(i);
        if arm.claimable() && arm.ready(token) {
            ready = true;
            break;
        }
    }
    if ready {
        return match token.compare_exchange(
            SELECT_OPEN,
            SELECT_ABORTED,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(_) => {
                unlink_all(arms, None, None);
                Err(())
            }
            Err(t) => {
                let k = claimed_arm(t).expect("only a peer's claim moves an open token");
                unlink_all(arms, Some(k), Some(k));
                Ok(Some(k))
            }
        };
    }
    Ok(None)
}

/// Unlinks every arm if the blocking select is left by a panic (an arm's attempt can run a
/// peer's waker, which is user code).
struct UnlinkOnUnwind<'a, L: ArmList + ?Sized> {
    arms: &'a mut L,
    linked: bool,
    token: &'a AtomicUsize,
}

impl<L: ArmList + ?Sized> Drop for UnlinkOnUnwind<'_, L> {
    fn drop(&mut self) {
        if self.linked {
            // A value a peer already handed to an arm goes on to the next receiver; the
            // arms' own `Drop` passes on notifications they hold.
            if let Some(k) = abort_and_unlink(self.arms, self.token) {
                self.arms.arm(k).abandon();
            }
        }
    }
}

/// Stops waiting and unlinks every arm. Returns the arm a peer committed first, if one did;
/// that arm has then fired.
fn abort_and_unlink<L: ArmList + ?Sized>(arms: &mut L, token: &AtomicUsize) -> Option<usize> {
    let committed = match token.compare_exchange(
        SELECT_OPEN,
        SELECT_ABORTED,
        Ordering::SeqCst,
        Ordering::SeqCst,
    ) {
        Ok(_) => None,
        Err(t) => claimed_arm(t),
    };
    unlink_all(arms, committed, committed);
    committed
}

/// `select! {}`: Go blocks forever; this panics instead, which is easier to find.
#[track_caller]
pub fn empty_select() -> ! {
    panic!("select! with no arms and no default would block forever")
}
