//! Context: a parent's cancel racing a child's creation and a waiter on the child.
#![cfg(lockgate_loom)]

use lockgate::context::{Context, ContextError};
use lockgate_loom_tests::model;
use loom::thread;

/// One thread makes a child and waits on it; the main thread cancels the parent. The child
/// either existed when the cancel took the children (and is cancelled by it) or is born after
/// and sees the parent's state: either way the waiter wakes with `Canceled`.
#[test]
fn cancel_racing_child_creation_and_waiter() {
    model(3, || {
        let (parent, cancel) = Context::background().with_cancel();
        let t = {
            let parent = parent.clone();
            thread::spawn(move || {
                let (child, _h) = parent.with_cancel();
                child.done()
            })
        };
        cancel.cancel();
        assert_eq!(t.join().unwrap(), ContextError::Canceled);
        assert_eq!(parent.err(), Some(ContextError::Canceled));
    });
}

/// Two cancels of a parent and its child racing: every waiter of the child wakes once, and
/// the parent is untouched by the child's cancel.
#[test]
fn child_cancel_racing_parent_cancel() {
    model(3, || {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let waiter = {
            let child = child.clone();
            thread::spawn(move || child.done())
        };
        let t = thread::spawn(move || cancel_child.cancel());
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(waiter.join().unwrap(), ContextError::Canceled);
        assert_eq!(child.err(), Some(ContextError::Canceled));
    });
}
