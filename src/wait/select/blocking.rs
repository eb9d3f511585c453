//! The blocking select: the protocol's steps (module docs of `select`) in a loop on the
//! calling thread, parking once for all its arms.

use std::time::Instant;

use super::*;
use crate::sync::{self, AtomicUsize, Ordering};
use crate::wait::{Wake, SELECT_ABORTED, SELECT_OPEN};

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
        // Step 5. A pool's worker reports a long wait to its pool (see `wait/hook.rs`).
        let mut watch = crate::wait::hook::Watch::new();
        loop {
            // SeqCst: pairs with a peer's claim CAS, which it follows with the node's
            // completion and the unpark.
            if token.load(Ordering::SeqCst) != SELECT_OPEN
                || (0..n).any(|i| guard.arms.arm(i).woken())
            {
                break;
            }
            if watch.park_until(deadline) {
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
