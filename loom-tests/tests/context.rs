//! Context: a parent's cancel racing a child's creation and a waiter on the child, and a
//! child's own cancel (which unlinks it from its parent) racing the parent's cancel and a
//! sibling's registration.
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

/// A child's own cancel, which removes it from its parent's map, racing the parent's cancel,
/// which takes that map: whichever runs first, the child and its own child end cancelled, a
/// waiter on the grandchild wakes, and neither map keeps anything.
#[test]
fn child_cancel_racing_parent_cancel_leaves_no_child() {
    model(3, || {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let grandchild = child.with_value::<Tag>(1);
        assert_eq!(parent.child_count(), 1);
        let waiter = {
            let grandchild = grandchild.clone();
            thread::spawn(move || grandchild.done())
        };
        let t = thread::spawn(move || cancel_child.cancel());
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(waiter.join().unwrap(), ContextError::Canceled);
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(grandchild.err(), Some(ContextError::Canceled));
        assert_eq!(parent.child_count(), 0);
        assert_eq!(child.child_count(), 0);
    });
}

/// Children cancelling themselves out of a live parent's map while a sibling registers in
/// it: exactly the sibling is left, live.
#[test]
fn child_cancels_racing_a_sibling_registering() {
    model(3, || {
        let parent = Context::background();
        let (a, cancel_a) = parent.with_cancel();
        let (b, cancel_b) = parent.with_cancel();
        let t = thread::spawn(move || cancel_a.cancel());
        let maker = {
            let parent = parent.clone();
            thread::spawn(move || parent.with_cancel())
        };
        cancel_b.cancel();
        t.join().unwrap();
        let (c, _cancel_c) = maker.join().unwrap();
        assert_eq!(a.err(), Some(ContextError::Canceled));
        assert_eq!(b.err(), Some(ContextError::Canceled));
        assert_eq!(c.err(), None);
        assert_eq!(parent.child_count(), 1);
    });
}

struct Tag;
impl lockgate::context::Key for Tag {
    type Value = u32;
}

/// A `recv_ctx` racing a send and a cancel of its context, on a buffered and a rendezvous
/// channel: the value is either received or still in the channel (or handed back to the
/// rendezvous sender), never lost, and the receiver ends with the value or `Done`.
#[test]
fn recv_ctx_racing_send_and_cancel() {
    use lockgate::channel::{bounded, RecvCtxError, SendTimeoutError};
    for cap in [1, 0] {
        model(3, move || {
            let (tx, rx) = bounded::<u32>(cap);
            let (ctx, cancel) = Context::background().with_cancel();
            let receiver = {
                let rx = rx.clone();
                thread::spawn(move || rx.recv_ctx(&ctx))
            };
            let sender = thread::spawn(move || {
                if cap == 0 {
                    // A rendezvous send needs a receiver: give up if none comes.
                    match tx.send_timeout(5, std::time::Duration::from_millis(1)) {
                        Ok(()) => true,
                        Err(SendTimeoutError::Timeout(5)) => false,
                        Err(e) => panic!("{e:?}"),
                    }
                } else {
                    tx.send(5).unwrap();
                    true
                }
            });
            cancel.cancel();
            let got = receiver.join().unwrap();
            let sent = sender.join().unwrap();
            match got {
                Ok(v) => {
                    assert_eq!(v, 5);
                    assert!(sent);
                    assert!(rx.try_recv().is_err(), "received twice");
                }
                Err(RecvCtxError::Done(ContextError::Canceled)) => {
                    if sent {
                        assert_eq!(rx.try_recv(), Ok(5), "the value was lost");
                    }
                }
                // The rendezvous sender gave up and left before the receiver looked.
                Err(RecvCtxError::Disconnected) => assert!(!sent, "disconnected with a value"),
                Err(e) => panic!("{e:?}"),
            }
        });
    }
}

/// An `acquire_ctx` racing a release and a cancel: the permit is granted to the waiter or
/// stays in the semaphore, never lost.
#[test]
fn acquire_ctx_racing_release_and_cancel() {
    use lockgate::semaphore::Semaphore;
    use std::sync::Arc; // owned permits hold a std Arc
    for fair in [false, true] {
        model(3, move || {
            let sem = Arc::new(if fair {
                Semaphore::new_fair(1)
            } else {
                Semaphore::new(1)
            });
            let held = sem.try_acquire_owned().unwrap();
            let (ctx, cancel) = Context::background().with_cancel();
            let waiter = {
                let sem = sem.clone();
                thread::spawn(move || sem.acquire_ctx(&ctx).map(|p| p.forget()).is_ok())
            };
            let releaser = thread::spawn(move || drop(held));
            cancel.cancel();
            releaser.join().unwrap();
            let got = waiter.join().unwrap();
            // `forget` kept a granted permit out: it is either there or with the waiter.
            assert_eq!(sem.available_permits() + usize::from(got), 1);
        });
    }
}

/// The cancel is the only way out: a waiter parked on a channel, a semaphore, a latch and a
/// barrier each wakes with `Canceled` (a waiter that missed the cancel and was not linked in
/// the context's list would park forever, which loom reports as a deadlock).
#[test]
fn cancel_wakes_every_kind_of_parked_waiter() {
    use lockgate::barrier::{BarrierCtxError, CyclicBarrier, Latch};
    use lockgate::channel::{bounded, RecvCtxError};
    use lockgate::semaphore::{AcquireCtxError, Semaphore};
    for kind in 0..4 {
        model(3, move || {
            let (ctx, cancel) = Context::background().with_cancel();
            let t = thread::spawn(move || match kind {
                0 => {
                    let (_tx, rx) = bounded::<u32>(1);
                    assert_eq!(
                        rx.recv_ctx(&ctx),
                        Err(RecvCtxError::Done(ContextError::Canceled))
                    );
                }
                1 => {
                    let sem = Semaphore::new(0);
                    assert_eq!(
                        sem.acquire_ctx(&ctx).err(),
                        Some(AcquireCtxError::Done(ContextError::Canceled))
                    );
                }
                2 => {
                    let latch = Latch::new(1);
                    assert_eq!(latch.wait_ctx(&ctx), Err(ContextError::Canceled));
                }
                _ => {
                    let barrier = CyclicBarrier::new(2);
                    assert_eq!(
                        barrier.wait_ctx(&ctx).err(),
                        Some(BarrierCtxError::Done(ContextError::Canceled))
                    );
                    // Broken if it had arrived; a cancel before the call leaves it alone.
                }
            });
            cancel.cancel();
            t.join().unwrap();
        });
    }
}
