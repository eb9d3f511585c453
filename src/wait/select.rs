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

use core::cell::Cell;
use core::future::Future;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::time::Instant;

use super::{Notified, WaitList, Waiter, Wake, SELECT_ABORTED, SELECT_OPEN, WAITING};
use crate::sync::{self, AtomicUsize, Ordering};

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

sync::thread_local! {
    // Loom's `thread_local!` takes no `const` initializer.
    #[allow(clippy::missing_const_for_thread_local)]
    /// xorshift64* state for the select's shuffle; 0 until first used.
    static RNG: Cell<u64> = Cell::new(0);
}

/// A xorshift64* generator: fast, and good enough in its high bits to shuffle arms.
struct Xorshift(u64);

impl Xorshift {
    /// The next pseudo-random 32 bits (the high half of the scrambled state).
    #[inline]
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }
}

/// Runs `f` with this thread's generator.
fn with_rng<R>(f: impl FnOnce(&mut Xorshift) -> R) -> R {
    RNG.with(|r| {
        let mut x = r.get();
        if x == 0 {
            // Start from std's per-thread random hash keys (drawn from the OS once per thread,
            // then stepped per use) over the cell's address: distinct per thread, even for a
            // thread that reuses a finished one's stack and thread-locals. Loom and shuttle
            // executions must replay exactly: a constant there.
            x = if cfg!(any(lockgate_loom, lockgate_shuttle)) {
                0x9E37_79B9_7F4A_7C15
            } else {
                use std::hash::BuildHasher;
                let keys = std::collections::hash_map::RandomState::new();
                keys.hash_one(r as *const Cell<u64> as usize) | 1
            };
        }
        let mut g = Xorshift(x);
        let out = f(&mut g);
        r.set(g.0);
        out
    })
}

/// `bits` scaled into `0..n` (multiply-high: the bias is below `n / 2^32`).
fn below(bits: u32, n: usize) -> usize {
    ((u64::from(bits) * n as u64) >> 32) as usize
}

/// A pseudo-random number in `0..n` (n > 0).
fn random_below(n: usize) -> usize {
    with_rng(|g| below(g.next(), n))
}

/// Fills `order` with a uniformly random permutation of `0..order.len()` (the "inside-out"
/// Fisher-Yates shuffle: one pass, no separate initialization).
///
/// # Panics
/// If the length does not fit in a `u32` (a select over four billion arms).
pub(crate) fn shuffle(order: &mut [u32]) {
    let n = order.len();
    assert!(u32::try_from(n).is_ok(), "select: too many arms");
    if n <= 1 {
        if let Some(o) = order.first_mut() {
            *o = 0;
        }
        return;
    }
    with_rng(|g| {
        order[0] = 0;
        for i in 1..n {
            // Invariant: `order[..i]` is a uniformly random permutation of `0..i`.
            let j = below(g.next(), i + 1);
            order[i] = order[j];
            order[j] = i as u32; // fits: checked above
        }
    });
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

/// The blocking select: waits until one arm fires and returns its index, or returns `None`
/// when `default` is set and no arm is ready now, or when `deadline` passes first.
///
/// `order` is scratch space for the fair order, one slot per arm (its contents are
/// overwritten): the caller provides it so that a select allocates nothing.
///
/// # Panics
///
/// With no arms, no `default` and no deadline, it would wait forever: it panics instead; so it
/// does when every arm is disabled. Also if `order` is shorter than the arm list.
#[doc(hidden)]
#[track_caller]
pub fn run_blocking<L: ArmList + ?Sized>(
    arms: &mut L,
    order: &mut [u32],
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
    let order = &mut order[..n];
    shuffle(order);
    let order = &*order;
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
    if let Some(i) = try_round(arms, order) {
        return Some(i);
    }
    if default {
        return None;
    }
    // Checked only here, off the fast path: a select that fired never needs it.
    if user_deadline.is_none() && all_disabled(arms) {
        all_disabled_panic();
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
        if let Some(i) = try_round(arms, order) {
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
        if let Some(i) = try_round(arms, order) {
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
        match unsafe { link_and_check(guard.arms, &token, &wake, order) } {
            Ok(Some(i)) => {
                guard.linked = false;
                return Some(i);
            }
            Err(()) => {
                guard.linked = false;
                // Two selects on the two ends of one rendezvous channel can each see the
                // other ready and both abort; a short random pause breaks the symmetry.
                for _ in 0..random_below(64) {
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

/// `select! {}`: Go blocks forever; this panics instead, which is easier to find.
#[track_caller]
pub fn empty_select() -> ! {
    panic!("select! with no arms and no default would block forever")
}
