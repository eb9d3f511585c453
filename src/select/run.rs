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
//!   1. try round: every arm's attempt, from a random start   -> fired: done
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
//! Fairness: step 1 starts at a random arm (a per-thread xorshift), so with several arms
//! ready each is chosen about equally often and none starves.

use core::cell::Cell;
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::Instant;

use crate::sync::{self, AtomicUsize, Ordering};
use crate::wait::{Wake, SELECT_ABORTED, SELECT_OPEN};

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

sync::thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    /// xorshift32 state for the fair start of the try round.
    static RNG: Cell<u32> = Cell::new(0);
}

/// A pseudo-random start in `0..n` (n > 0).
fn random_start(n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            // Seed from the cell's address: distinct per thread. Loom and shuttle executions
            // must replay exactly, and their thread-locals move between executions: a
            // constant there.
            x = if cfg!(any(lockgate_loom, lockgate_shuttle)) {
                0x9E37_79B9
            } else {
                (r as *const Cell<u32> as usize as u32) | 1
            };
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        r.set(x);
        (x as usize) % n
    })
}

/// Step 1: every arm's attempt, from `start`. On a win, notifications held by the arms not
/// attempted are passed on.
fn try_round<L: ArmList + ?Sized>(arms: &mut L, start: usize) -> Option<usize> {
    let n = arms.arm_count();
    for k in 0..n {
        let i = (start + k) % n;
        let arm = arms.arm(i);
        if arm.attempt() {
            arm.forget_notification();
            for j in k + 1..n {
                arms.arm((start + j) % n).pass_on();
            }
            return Some(i);
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
    start: usize,
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
    for k in 0..n {
        let i = (start + k) % n;
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

/// The blocking select: waits until one arm fires and returns its index, or returns `None`
/// when `default` is set and no arm is ready now, or when `deadline` passes first.
///
/// # Panics
///
/// With no arms, no `default` and no deadline, it would wait forever: it panics instead.
#[doc(hidden)]
pub fn run_blocking<L: ArmList + ?Sized>(
    arms: &mut L,
    default: bool,
    deadline: Option<Instant>,
) -> Option<usize> {
    let n = arms.arm_count();
    if n == 0 {
        assert!(
            default || deadline.is_some(),
            "select! with no arms and no default would block forever"
        );
        if !default {
            while !sync::park_until(deadline) {}
        }
        return None;
    }
    // Loom builds: this thread may get stray unparks from now on (see `sync::Mutex`).
    let _yielding = sync::YieldingLocks::enter();
    let start = random_start(n);
    // `deadline` is the caller's (`default(timeout)`): passing it ends the select. The arms'
    // own deadlines (a context's) only bound the park: such an arm fires by its attempt
    // once its deadline has passed, so the select never gives up on their account.
    let user_deadline = deadline;
    let gave_up = || user_deadline.is_some_and(sync::deadline_passed);
    let deadline = (0..n)
        .filter_map(|i| arms.arm(i).deadline())
        .chain(user_deadline)
        .min();
    let token = AtomicUsize::new(SELECT_ABORTED);
    let me = sync::current();
    let wake = || Wake::Thread(me.clone());
    if let Some(i) = try_round(arms, start) {
        return Some(i);
    }
    if default {
        return None;
    }
    // Step 2 of the crate's waiting path: spin briefly (backoff, then a few yields) before
    // paying for linking into every list and parking, as a single blocking call does with
    // the default policy; a partner a few hundred nanoseconds away is caught here.
    // Loom builds skip it: it only repeats step 1, and without it every model execution
    // reaches the linking and parking protocol, which is what the models are for. Shuttle
    // builds keep it (a short one, see `wait::backoff`): their schedules are sampled, and
    // reach both ways out of it.
    let mut backoff = crate::wait::Backoff::new();
    while !cfg!(lockgate_loom) && !backoff.is_completed() {
        backoff.snooze();
        if let Some(i) = try_round(arms, start) {
            return Some(i);
        }
        if gave_up() {
            return None;
        }
    }
    loop {
        // The clock is read before the round, so a deadline that passed before it is seen
        // by the round too (a context's arm fires) and only a round that ran after the
        // caller's deadline ends the select empty-handed.
        let expired = gave_up();
        if let Some(i) = try_round(arms, start) {
            return Some(i);
        }
        if expired {
            return None;
        }
        let mut guard = UnlinkOnUnwind {
            arms,
            linked: true,
            token: &token,
        };
        // SAFETY: `arms` is borrowed for this call and `token` lives on this frame; the
        // guard (or the code below) unlinks every arm before either is left.
        match unsafe { link_and_check(guard.arms, &token, &wake, start) } {
            Ok(Some(i)) => {
                guard.linked = false;
                return Some(i);
            }
            Err(()) => {
                guard.linked = false;
                // Two selects on the two ends of one rendezvous channel can each see the
                // other ready and both abort; a short random pause breaks the symmetry.
                for _ in 0..random_start(64) {
                    sync::spin_loop();
                }
                continue;
            }
            Ok(None) => {}
        }
        // Step 5.
        loop {
            // SeqCst: pairs with a peer's claim CAS, which it follows with the node's
            // completion and the unpark.
            if token.load(Ordering::SeqCst) != SELECT_OPEN
                || (0..n).any(|i| guard.arms.arm(i).woken())
            {
                break;
            }
            if sync::park_until(deadline) {
                break; // a deadline: the next round is the last look (or a context's arm)
            }
        }
        // Step 6. The guard stays armed until every arm is unlinked: unlinking drops wakers
        // (user code), and a panic there must not leave a node pointing at `token`.
        let committed = abort_and_unlink(guard.arms, &token);
        guard.linked = false;
        drop(guard);
        if committed.is_some() {
            return committed;
        }
    }
}

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
    start: usize,
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
    pub unsafe fn new(arms: &'a mut L, otherwise: Otherwise) -> Self {
        let n = arms.arm_count();
        assert!(
            n > 0 || otherwise == Otherwise::Default,
            "select! with no arms and no default would wait forever"
        );
        SelectFuture {
            start: if n == 0 { 0 } else { random_start(n) },
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
            if let Some(i) = try_round(this.arms, this.start) {
                return Poll::Ready(Some(i));
            }
            if this.otherwise == Otherwise::Default {
                return Poll::Ready(None);
            }
            let waker = cx.waker();
            let wake = || Wake::Waker(waker.clone());
            this.linked = true;
            // SAFETY: the future is pinned, so `token` stays put, and `arms` is borrowed for
            // the future's life; `Drop` unlinks whatever is still linked.
            match unsafe { link_and_check(this.arms, &this.token, &wake, this.start) } {
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
