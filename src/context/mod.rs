//! Go's `context`: a cancellation tree with deadlines and typed values.
//!
//! Serves the Go concurrency patterns tutorial's "Context" section (cancel, timeout with a
//! deadline report, values passed down a call chain). A [`Context`] is a cheap handle (one `Arc`) to a node of a tree:
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
//! Deadlines need no thread per context: the crate's one timer fires them, and
//! every check of a context also compares its deadline with the clock.

use core::any::TypeId;
use core::fmt;
use std::time::{Duration, Instant};

use crate::sync::StdArc;
use crate::wait::{self, Until, WaitPolicy, Waiter};

pub(crate) mod done;
mod error;
mod node;

pub use done::Done;
pub use error::ContextError;
pub(crate) use node::Node;
use node::{CANCELED, LIVE};

/// A typed key for [`Context::with_value`]: the key is a type, so lookups cannot collide or
/// be mistyped.
pub trait Key: 'static {
    /// The type of the value stored under this key.
    type Value: Send + Sync + 'static;
}

/// Why a context was cancelled, if the canceller said (see [`CancelHandle::cancel_with_cause`]).
pub type Cause = StdArc<dyn std::error::Error + Send + Sync>;

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
