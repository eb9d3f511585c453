//! The tree behind every [`Context`](super::Context): one node per context, its state, its
//! waiters, its live children, and how an end spreads down the subtree (see the module docs
//! of `context` for the algorithm).

use core::any::{Any, TypeId};
use std::collections::HashMap;
use std::time::Instant;

use super::{Cause, ContextError};
use crate::sync::{AtomicUsize, Mutex, Ordering, StdArc};
use crate::wait::{Interrupt, WaitList, NOTIFIED};

pub(super) const LIVE: usize = 0;
pub(super) const CANCELED: usize = 1;
pub(super) const EXPIRED: usize = 2;

pub(crate) struct Node {
    pub(super) parent: Option<StdArc<Node>>,
    /// `LIVE`, `CANCELED` or `EXPIRED`; leaves `LIVE` once, by a SeqCst compare-and-swap
    /// (the condition write that `waiters`' protocol pairs with).
    pub(super) state: AtomicUsize,
    /// Written under this lock, which `end` holds across the state's compare-and-swap, so a
    /// reader that saw the state leave `LIVE` and then takes the lock sees it.
    pub(super) cause: Mutex<Option<Cause>>,
    pub(super) deadline: Option<Instant>,
    /// True if a cancel handle exists for this node or an ancestor: only then can it end
    /// before its deadline, so only then do blocking waits register in `waiters`.
    pub(super) cancellable: bool,
    pub(super) value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    /// Live children by address, held weakly. Registration, a child's removal of itself and
    /// the cancel's take of the map all happen under this lock. A child is in the map only
    /// while it is live (it removes itself when it ends on its own; the parent's end takes
    /// them all), or briefly, between its own end and its removal. The address is unique
    /// among registered children: a node leaves the map at the latest in its `Drop`, before
    /// its memory can be reused.
    pub(super) children: Mutex<HashMap<usize, std::sync::Weak<Node>>>,
    pub(super) waiters: WaitList<()>,
}

impl Node {
    pub(super) fn root() -> StdArc<Node> {
        StdArc::new(Node {
            parent: None,
            state: AtomicUsize::new(LIVE),
            cause: Mutex::new(None),
            deadline: None,
            cancellable: false,
            value: None,
            children: Mutex::new(HashMap::new()),
            waiters: WaitList::new(),
        })
    }

    pub(super) fn state(&self) -> usize {
        self.state.load(Ordering::SeqCst)
    }

    /// The error this node is done with, checking the deadline against the clock too.
    pub(super) fn err(&self) -> Option<ContextError> {
        match self.state() {
            CANCELED => Some(ContextError::Canceled),
            EXPIRED => Some(ContextError::DeadlineExceeded),
            _ => {
                if self.deadline.is_some_and(crate::sync::deadline_passed) {
                    self.expire();
                    return Some(self.err_now());
                }
                None
            }
        }
    }

    pub(super) fn err_now(&self) -> ContextError {
        if self.state() == EXPIRED {
            ContextError::DeadlineExceeded
        } else {
            ContextError::Canceled
        }
    }

    /// Deadline passed: ends this subtree with `DeadlineExceeded`.
    pub(super) fn expire(&self) {
        self.finish(EXPIRED, None);
    }

    /// Ends this node and its subtree with `state` (if still live); iterative, so a deep tree
    /// cannot overflow the stack.
    pub(super) fn finish(&self, state: usize, cause: Option<Cause>) {
        if !self.end(state, cause.clone()) {
            return;
        }
        // Ended on its own (its cancel, its deadline; or born done, never registered): leave
        // the parent's map now, not when the last handle goes. A parent's cancel that took
        // the map first ends the subtree with `end`, never `finish`, so it reaches no
        // `unregister`; had it found this node there, `end` above already made it a no-op.
        self.unregister(self as *const Node as usize);
        // End the whole subtree first, then wake: a waker that panics (user code) cannot
        // leave part of the subtree live, and the guard wakes the rest while unwinding.
        let mut ended: Vec<StdArc<Node>> = Vec::new();
        let mut todo = self.take_children();
        while let Some(child) = todo.pop() {
            if child.end(state, cause.clone()) {
                todo.extend(child.take_children());
                ended.push(child);
            }
        }
        struct WakeRest(Vec<StdArc<Node>>);
        impl Drop for WakeRest {
            fn drop(&mut self) {
                while let Some(n) = self.0.pop() {
                    n.waiters.notify_all(NOTIFIED);
                }
            }
        }
        let rest = WakeRest(ended);
        self.waiters.notify_all(NOTIFIED);
        drop(rest); // wakes the subtree (and would, unwinding, after a panic above)
    }

    /// Moves this node from live to `state` and records the cause. False if it was done
    /// already. The caller wakes its waiters.
    pub(super) fn end(&self, state: usize, cause: Option<Cause>) -> bool {
        if self.state() != LIVE {
            return false;
        }
        let mut c = self.cause.lock().unwrap_or_else(|e| e.into_inner());
        if self
            .state
            .compare_exchange(LIVE, state, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return false;
        }
        *c = cause;
        true
    }

    pub(super) fn take_children(&self) -> Vec<StdArc<Node>> {
        let mut map = self.children.lock().unwrap_or_else(|e| e.into_inner());
        map.drain().filter_map(|(_, w)| w.upgrade()).collect()
    }

    pub(super) fn child(
        parent: &StdArc<Node>,
        deadline: Option<Instant>,
        cancel_handle: bool,
        value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    ) -> StdArc<Node> {
        let deadline = match (parent.deadline, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let node = StdArc::new(Node {
            parent: Some(parent.clone()),
            state: AtomicUsize::new(LIVE),
            cause: Mutex::new(None),
            deadline,
            cancellable: cancel_handle || parent.cancellable,
            value,
            children: Mutex::new(HashMap::new()),
            waiters: WaitList::new(),
        });
        let born_done = {
            let mut map = parent.children.lock().unwrap_or_else(|e| e.into_inner());
            // Checked under the parent's lock: a cancel sets the parent's state before it
            // takes the map under this lock, so either it finds our entry, or we see its state
            // here and are born done (never registered: a done parent's map stays empty).
            match parent.state() {
                LIVE => {
                    map.insert(StdArc::as_ptr(&node) as usize, StdArc::downgrade(&node));
                    None
                }
                s => Some(s),
            }
        };
        if let Some(s) = born_done {
            let cause = parent
                .cause
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            node.finish(s, cause);
        }
        // Under a model checker the timer is a heap that timed parks advance (see its docs).
        if let (Some(d), None) = (deadline, born_done) {
            if deadline != parent.deadline {
                crate::wait::timer::schedule(d, Box::new(Expire(StdArc::downgrade(&node))));
            }
        }
        node
    }
}

/// A context deadline on the shared timer: the node, held weakly.
struct Expire(std::sync::Weak<Node>);

impl crate::wait::timer::Timed for Expire {
    fn fire(&self, _now: Instant) -> Option<Instant> {
        if let Some(node) = self.0.upgrade() {
            node.expire();
        }
        None
    }

    fn alive(&self) -> bool {
        self.0.strong_count() > 0
    }
}

// Blocking calls bounded by a context (`*_ctx`) register in `waiters` while they park.
impl Interrupt for Node {
    /// One SeqCst load: pairs with the SeqCst compare-and-swap in `end`, which `finish`
    /// follows with `notify_all` (the event-count pairing `Interrupt` asks for). A passed
    /// deadline is the wait's own deadline (see `Context::until`), not checked here.
    #[inline]
    fn is_interrupted(&self) -> bool {
        self.state() != LIVE
    }

    fn waiters(&self) -> &WaitList<()> {
        &self.waiters
    }
}

impl Node {
    /// Leaves the parent's map; `key` is this node's address inside its `Arc`.
    pub(super) fn unregister(&self, key: usize) {
        if let Some(p) = &self.parent {
            let mut map = p.children.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&key);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // The last handle is gone: leave the parent's map, so it does not grow. (`self` is
        // still at its address inside the `Arc`.)
        self.unregister(self as *const Node as usize);
        // Release the ancestors iteratively: dropping a deep chain recursively could
        // overflow the stack.
        let mut up = self.parent.take();
        while let Some(arc) = up {
            let key = StdArc::as_ptr(&arc) as usize;
            // `key` must stay this node's address until it has left its parent's map: a node
            // that ended on its own dropped the map's `Weak` already, so without this one
            // `into_inner` would free the allocation, a new sibling could be created at the
            // same address, and the removal below would take the sibling's entry instead.
            let keep = StdArc::downgrade(&arc);
            up = match StdArc::into_inner(arc) {
                Some(mut node) => {
                    node.unregister(key);
                    node.parent.take() // `node` drops here with no parent: no recursion
                }
                None => None,
            };
            drop(keep);
        }
    }
}
