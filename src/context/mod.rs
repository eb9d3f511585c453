//! Go's `context`: a cancellation tree with deadlines and typed values.
//!
//! Serves the seed's "Контекст" (cancel, timeout with a deadline report, values passed down a
//! call chain). A [`Context`] is a cheap handle (one `Arc`) to a node of a tree:
//!
//! - [`Context::background`] is a root that is never cancelled.
//! - [`Context::with_cancel`] makes a child and a [`CancelHandle`]; cancelling a node cancels
//!   its whole subtree at once, never its parent or siblings.
//! - [`Context::with_timeout`] / [`Context::with_deadline`] make a child that cancels itself
//!   with [`ContextError::DeadlineExceeded`] when the deadline passes (a child's deadline is
//!   never later than its parent's).
//! - [`Context::with_value`] attaches a value under a typed [`Key`]; [`Context::value`] finds
//!   the nearest one up the tree.
//!
//! Algorithm: each node has an atomic state (live, canceled, deadline exceeded) set once by a
//! compare-and-swap, a wait list for [`Context::done`] waiters, and a map of its live children
//! under a mutex. Cancel sets the state, wakes the waiters, then cancels the children it finds
//! under the lock; a child registering under that lock after the cancel took its list sees
//! the state and cancels itself, so no child escapes. A child holds its parent (values and
//! cancellation flow down); the parent holds its children weakly. A child leaves the parent's
//! map as soon as it ends on its own (its cancel handle, or its deadline) and at the latest
//! with its last handle, so long-lived parents do not accumulate dead children. A child
//! ending on its own races its parent's cancel only over the parent's map, under its lock:
//! either the cancel took the child with the map (and finds it already ended, or ends it) or
//! the child removed itself first; both leave it ended and out of the map.
//! Deadlines need no thread per context: the crate's one timer (`src/wait/timer.rs`) fires them, and
//! every check of a context also compares its deadline with the clock.

use core::any::{Any, TypeId};
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::sync::{AtomicUsize, Mutex, Ordering, StdArc};
use crate::wait::{self, Interrupt, Until, WaitList, WaitPolicy, Waiter, NOTIFIED};

const LIVE: usize = 0;
const CANCELED: usize = 1;
const EXPIRED: usize = 2;

/// Why a context is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextError {
    /// Cancelled through a [`CancelHandle`] (its own or an ancestor's).
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextError::Canceled => f.write_str("context canceled"),
            ContextError::DeadlineExceeded => f.write_str("context deadline exceeded"),
        }
    }
}

impl std::error::Error for ContextError {}

/// A typed key for [`Context::with_value`]: the key is a type, so lookups cannot collide or
/// be mistyped.
pub trait Key: 'static {
    /// The type of the value stored under this key.
    type Value: Send + Sync + 'static;
}

/// Why a context was cancelled, if the canceller said (see [`CancelHandle::cancel_with_cause`]).
pub type Cause = StdArc<dyn std::error::Error + Send + Sync>;

pub(crate) struct Node {
    parent: Option<StdArc<Node>>,
    /// `LIVE`, `CANCELED` or `EXPIRED`; leaves `LIVE` once, by a SeqCst compare-and-swap
    /// (the condition write that `waiters`' protocol pairs with).
    state: AtomicUsize,
    /// Written under this lock, which `end` holds across the state's compare-and-swap, so a
    /// reader that saw the state leave `LIVE` and then takes the lock sees it.
    cause: Mutex<Option<Cause>>,
    deadline: Option<Instant>,
    /// True if a cancel handle exists for this node or an ancestor: only then can it end
    /// before its deadline, so only then do blocking waits register in `waiters`.
    cancellable: bool,
    value: Option<(TypeId, Box<dyn Any + Send + Sync>)>,
    /// Live children by address, held weakly. Registration, a child's removal of itself and
    /// the cancel's take of the map all happen under this lock. A child is in the map only
    /// while it is live (it removes itself when it ends on its own; the parent's end takes
    /// them all), or briefly, between its own end and its removal. The address is unique
    /// among registered children: a node leaves the map at the latest in its `Drop`, before
    /// its memory can be reused.
    children: Mutex<HashMap<usize, std::sync::Weak<Node>>>,
    waiters: WaitList<()>,
}

impl Node {
    fn root() -> StdArc<Node> {
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

    fn state(&self) -> usize {
        self.state.load(Ordering::SeqCst)
    }

    /// The error this node is done with, checking the deadline against the clock too.
    fn err(&self) -> Option<ContextError> {
        match self.state() {
            CANCELED => Some(ContextError::Canceled),
            EXPIRED => Some(ContextError::DeadlineExceeded),
            _ => {
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    self.expire();
                    return Some(self.err_now());
                }
                None
            }
        }
    }

    fn err_now(&self) -> ContextError {
        if self.state() == EXPIRED {
            ContextError::DeadlineExceeded
        } else {
            ContextError::Canceled
        }
    }

    /// Deadline passed: ends this subtree with `DeadlineExceeded`.
    fn expire(&self) {
        self.finish(EXPIRED, None);
    }

    /// Ends this node and its subtree with `state` (if still live); iterative, so a deep tree
    /// cannot overflow the stack.
    fn finish(&self, state: usize, cause: Option<Cause>) {
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
    fn end(&self, state: usize, cause: Option<Cause>) -> bool {
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

    fn take_children(&self) -> Vec<StdArc<Node>> {
        let mut map = self.children.lock().unwrap_or_else(|e| e.into_inner());
        map.drain().filter_map(|(_, w)| w.upgrade()).collect()
    }

    fn child(
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
    fn unregister(&self, key: usize) {
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

/// A handle to a node of the context tree; cheap to clone. See the module docs.
///
/// # Example
///
/// ```
/// use lockgate::context::{Context, ContextError};
///
/// let root = Context::background();
/// let (ctx, cancel) = root.with_cancel();
/// let child = ctx.with_timeout(std::time::Duration::from_secs(60));
/// assert!(!child.is_done());
/// cancel.cancel(); // cancels ctx and everything below it
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// assert!(root.err().is_none()); // never the parent
/// ```
#[derive(Clone)]
pub struct Context {
    node: StdArc<Node>,
}

/// Cancels its context (and the subtree below it). Dropping it does not cancel.
pub struct CancelHandle {
    node: StdArc<Node>,
}

impl CancelHandle {
    /// Cancels the context and every descendant with [`ContextError::Canceled`].
    ///
    /// A descendant that is ending on its own at the same instant (its own cancel, its
    /// deadline) is ended by that call instead, which then ends the subtree below it; so a
    /// grandchild may still be live for a moment after this returns (its waiters are woken
    /// by the other call). Every descendant ends either way.
    pub fn cancel(&self) {
        self.node.finish(CANCELED, None);
    }

    /// Cancels, recording why; [`Context::cause`] returns it (on this context and below).
    pub fn cancel_with_cause(&self, cause: impl std::error::Error + Send + Sync + 'static) {
        self.node.finish(CANCELED, Some(StdArc::new(cause)));
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle").finish_non_exhaustive()
    }
}

impl Context {
    /// A root context: never cancelled, no deadline, no values.
    pub fn background() -> Context {
        Context { node: Node::root() }
    }

    /// A child that can be cancelled with the returned handle.
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let node = Node::child(&self.node, None, true, None);
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// A child that expires `timeout` from now (or with this context, if sooner).
    pub fn with_timeout(&self, timeout: Duration) -> Context {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.with_deadline(d),
            None => self.with_cancel().0, // too far to represent: no deadline of its own
        }
    }

    /// A child that expires at `deadline` (or with this context, if sooner).
    pub fn with_deadline(&self, deadline: Instant) -> Context {
        Context {
            node: Node::child(&self.node, Some(deadline), false, None),
        }
    }

    /// A child carrying `value` under key `K`.
    pub fn with_value<K: Key>(&self, value: K::Value) -> Context {
        Context {
            node: Node::child(
                &self.node,
                None,
                false,
                Some((TypeId::of::<K>(), Box::new(value))),
            ),
        }
    }

    /// The value under `K` on this context or the nearest ancestor that has one.
    pub fn value<K: Key>(&self) -> Option<&K::Value> {
        let mut n = Some(&self.node);
        while let Some(node) = n {
            if let Some((id, v)) = &node.value {
                if *id == TypeId::of::<K>() {
                    return v.downcast_ref::<K::Value>();
                }
            }
            n = node.parent.as_ref();
        }
        None
    }

    /// Why the context is done, or `None` while it is live.
    pub fn err(&self) -> Option<ContextError> {
        self.node.err()
    }

    /// True once cancelled or past its deadline.
    pub fn is_done(&self) -> bool {
        self.err().is_some()
    }

    /// The cause given to [`CancelHandle::cancel_with_cause`], if any.
    pub fn cause(&self) -> Option<Cause> {
        if self.node.state() == LIVE {
            return None;
        }
        self.node
            .cause
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The deadline, if this context (or an ancestor) has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// Direct children registered for cancellation (a snapshot): live children of a live
    /// context. A child leaves the count when it ends on its own (cancelled by its handle, or
    /// its deadline passed) or when its handles are all gone, and a done context has none
    /// (cancellation took them, later ones are born done).
    ///
    /// ```
    /// use lockgate::context::Context;
    ///
    /// let server = Context::background();
    /// let (request, cancel) = server.with_cancel();
    /// assert_eq!(server.child_count(), 1);
    /// cancel.cancel(); // the request is over: it leaves at once, handles still held
    /// assert_eq!(server.child_count(), 0);
    /// assert!(request.is_done());
    /// ```
    pub fn child_count(&self) -> usize {
        self.node
            .children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The bound a blocking call honours for this context: its deadline, and its cancellation
    /// (none where no cancel handle exists above: such a context only ends at its deadline,
    /// which the wait parks until anyway, so it needs no watch in `waiters`).
    pub(crate) fn until(&self) -> Until<'_> {
        Until {
            deadline: self.node.deadline,
            cancel: if self.node.cancellable {
                Some(&*self.node)
            } else {
                None
            },
        }
    }

    /// Why a wait bounded by [`Context::until`] gave up: the context is done by then (its
    /// state left live, or its deadline passed, which `err` turns into `DeadlineExceeded`).
    pub(crate) fn err_after_wait(&self) -> ContextError {
        self.err().unwrap_or(ContextError::DeadlineExceeded)
    }

    /// Blocks until the context is done; returns why.
    pub fn done(&self) -> ContextError {
        self.done_until(None)
            .expect("a wait without a timeout ended")
    }

    /// Blocks at most `timeout`; `None` if the context is still live then.
    pub fn done_timeout(&self, timeout: Duration) -> Option<ContextError> {
        self.done_until(wait::deadline_after(timeout))
    }

    fn done_until(&self, until: Option<Instant>) -> Option<ContextError> {
        // Park no later than the context's own deadline: no timer needed for blocking waits.
        let own = self.node.deadline;
        let d = match (own, until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let r = wait::wait_blocking(&self.node.waiters, WaitPolicy::Park, d, || self.err());
        r.or_else(|| self.err())
    }

    /// Waits until the context is done, asynchronously (cancel-safe).
    pub fn done_async(&self) -> Done<'_> {
        Done {
            ctx: self,
            node: Waiter::new(()),
            done: false,
        }
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.node.deadline)
            .finish_non_exhaustive()
    }
}

/// The future of [`Context::done_async`]; embeds its wait node (`!Unpin`).
#[must_use = "futures do nothing unless polled"]
pub struct Done<'a> {
    ctx: &'a Context,
    node: Waiter<()>,
    done: bool,
}

impl Future for Done<'_> {
    type Output = ContextError;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<ContextError> {
        // SAFETY: `node` is structurally pinned: never moved out of `self`.
        let this = unsafe { self.get_unchecked_mut() };
        assert!(!this.done, "Done polled after completion");
        let ctx = this.ctx;
        // SAFETY: `node` is pinned, only ever registered in this context's list, and `Drop`
        // calls `cancel_wait` unless the future completed.
        let r = unsafe { wait::poll_wait(&ctx.node.waiters, &this.node, cx, || ctx.err()) };
        if r.is_ready() {
            this.done = true;
        }
        r
    }
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: the node was only ever registered in this context's list.
            unsafe { wait::cancel_wait(&self.ctx.node.waiters, &self.node) };
        }
    }
}

impl fmt::Debug for Done<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done").field("done", &self.done).finish()
    }
}

/// The context's arm of [`select!`](crate::select!): `done(ctx) -> err => ...` fires once the
/// context is done, with why. Its node sits in the context's wait list, which cancellation
/// wakes entirely (`notify_all`), so no notification needs passing on.
#[doc(hidden)]
pub struct DoneArm<'a> {
    ctx: &'a Context,
    node: Waiter<()>,
    out: Option<ContextError>,
    linked: bool,
}

impl<'a> DoneArm<'a> {
    /// An arm waiting for `ctx` to end.
    pub fn new(ctx: &'a Context) -> Self {
        DoneArm {
            ctx,
            node: Waiter::new(()),
            out: None,
            linked: false,
        }
    }

    /// Why the context ended (the arm fired).
    ///
    /// # Panics
    /// If the arm did not fire.
    pub fn take(&mut self) -> ContextError {
        self.out
            .take()
            .expect("select: outcome of an arm that did not fire")
    }
}

impl crate::select::Arm for DoneArm<'_> {
    fn attempt(&mut self) -> bool {
        self.out = self.ctx.err();
        self.out.is_some()
    }

    unsafe fn link(&mut self, _token: &AtomicUsize, _index: usize, wake: wait::Wake) {
        // SAFETY: the arm stays put until `unlink` (caller contract) and the node is idle.
        unsafe { self.ctx.node.waiters.register(&self.node, wake) };
        self.linked = true;
    }

    fn woken(&self) -> bool {
        self.linked && self.node.state() != wait::WAITING
    }

    fn unlink(&mut self, _claimed: bool) {
        if core::mem::take(&mut self.linked) {
            // SAFETY: linked in this list by `link`.
            if let wait::Notified::Yes(_) = unsafe { self.ctx.node.waiters.unregister(&self.node) }
            {
                self.ctx.node.waiters.reset(&self.node);
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        self.ctx.node.deadline
    }
}

impl Drop for DoneArm<'_> {
    fn drop(&mut self) {
        crate::select::Arm::unlink(self, false); // backstop for a select left by a panic
    }
}

impl fmt::Debug for DoneArm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoneArm")
            .field("linked", &self.linked)
            .finish()
    }
}
