//! The channel's arms of [`select!`](crate::select!): a receive and a send, for both flavours.
//!
//! A buffered channel's arm fires only by its own attempt (a ring pop or push); its node in
//! the channel's wait list is a wake-up hint, passed on if the arm does not fire. A
//! rendezvous channel's arm is claimable: a peer that wins the select's token hands its value
//! into the receive node, or takes the value out of the send node, under the channel's lock
//! (see `select::run` for the protocol and `WaitQueue::pop_claimable_with`).

use core::ops::Deref;

use super::error::{RecvError, SendError, TryRecvError, TrySendError};
use super::{Flavor, Receiver, Sender};
use crate::sync::AtomicUsize;
use crate::wait::select::{Arm, MaybeArm};
use crate::wait::{Notified, Waiter, Wake, NOTIFIED, WAITING};

/// What a buffered-flavour arm remembers about its node after unlinking it.
fn unlink_hint<T>(list: &crate::wait::WaitList<Option<T>>, node: &Waiter<Option<T>>) -> bool {
    // SAFETY: the node was linked in `list` by the arm that calls this.
    match unsafe { list.unregister(node) } {
        Notified::No => false,
        Notified::Yes(s) => {
            list.reset(node);
            s == NOTIFIED
        }
    }
}

/// The receivers' wait list of a flavour whose receive arm is only woken, never claimed
/// (buffered and unbounded); `None` for the rendezvous flavour.
fn hint_list<T>(flavor: &Flavor<T>) -> Option<&crate::wait::WaitList<Option<T>>> {
    match flavor {
        Flavor::Array(a) => Some(a.recv_waiters()),
        Flavor::List(l) => Some(l.recv_waiters()),
        Flavor::Zero(_) => None,
    }
}

/// A receive arm: `recv(rx) -> msg => ...`. Its outcome is what [`Receiver::recv`] returns.
#[doc(hidden)]
pub struct RecvArm<'a, T> {
    rx: &'a Receiver<T>,
    node: Waiter<Option<T>>,
    out: Option<Result<T, RecvError>>,
    /// Linked in the channel's receivers list (or rendezvous queue).
    linked: bool,
    /// A notification the node got while linked, not yet used (buffered flavour).
    notified: bool,
}

impl<'a, T> RecvArm<'a, T> {
    /// An arm receiving from `rx`.
    pub fn new(rx: &'a Receiver<T>) -> Self {
        RecvArm {
            rx,
            node: Waiter::new(None),
            out: None,
            linked: false,
            notified: false,
        }
    }

    /// The outcome of the arm that fired.
    ///
    /// # Panics
    /// If the arm did not fire (the macro only asks the winner).
    pub fn take(&mut self) -> Result<T, RecvError> {
        self.out
            .take()
            .expect("select: outcome of an arm that did not fire")
    }
}

impl<T> Arm for RecvArm<'_, T> {
    fn attempt(&mut self) -> bool {
        let r = match &self.rx.shared.flavor {
            Flavor::Array(a) => match a.attempt_recv() {
                Some(r) => r.map_err(|()| RecvError),
                None => return false,
            },
            Flavor::List(l) => match l.attempt_recv() {
                Some(r) => r.map_err(|()| RecvError),
                None => return false,
            },
            Flavor::Zero(z) => match z.try_recv() {
                Ok(v) => Ok(v),
                Err(TryRecvError::Disconnected) => Err(RecvError),
                Err(TryRecvError::Empty) => return false,
            },
        };
        self.out = Some(r);
        true
    }

    fn claimable(&self) -> bool {
        matches!(self.rx.shared.flavor, Flavor::Zero(_))
    }

    fn ready(&self, token: &AtomicUsize) -> bool {
        match &self.rx.shared.flavor {
            Flavor::Zero(z) => z.recv_ready(token),
            Flavor::Array(_) | Flavor::List(_) => false,
        }
    }

    unsafe fn link(&mut self, token: &AtomicUsize, index: usize, wake: Wake) {
        match &self.rx.shared.flavor {
            Flavor::Array(_) | Flavor::List(_) => {
                let list = hint_list(&self.rx.shared.flavor).expect("a hint-only flavour");
                // SAFETY: the arm does not move until `unlink` (caller contract); the node is
                // idle (never linked, or unlinked by `unlink`).
                unsafe { list.register(&self.node, wake) }
            }
            Flavor::Zero(z) => {
                // SAFETY: idle node; `token` outlives the linking (caller contract).
                unsafe { self.node.set_claim(token, index) };
                // SAFETY: as above.
                unsafe { z.link_recv(&self.node, wake) };
            }
        }
        self.linked = true;
    }

    fn woken(&self) -> bool {
        self.linked && self.node.state() != WAITING
    }

    fn unlink(&mut self, claimed: bool) {
        if !core::mem::take(&mut self.linked) {
            return;
        }
        match &self.rx.shared.flavor {
            Flavor::Array(_) | Flavor::List(_) => {
                let list = hint_list(&self.rx.shared.flavor).expect("a hint-only flavour");
                self.notified |= unlink_hint(list, &self.node);
            }
            Flavor::Zero(z) => {
                // SAFETY: linked by `link_recv` above.
                let v = unsafe { z.unlink_recv(&self.node) };
                match v {
                    Some(v) if claimed => self.out = Some(Ok(v)),
                    // Only the backstop in `Drop`, on a select left by a panic, unlinks a
                    // claimed arm as unclaimed: hand the value on. Anything else is a bug in
                    // the claim protocol (a deposit into a select that did not win it).
                    Some(v) => {
                        assert!(
                            crate::sync::panicking(),
                            "select: a value was handed to an arm that was not claimed"
                        );
                        z.hand_on(v)
                    }
                    None => debug_assert!(!claimed, "a claimed receive arm holds no value"),
                }
            }
        }
    }

    fn pass_on(&mut self) {
        if core::mem::take(&mut self.notified) {
            if let Some(list) = hint_list(&self.rx.shared.flavor) {
                list.notify_one();
            }
        }
    }

    fn forget_notification(&mut self) {
        self.notified = false;
    }

    fn abandon(&mut self) {
        if let (Some(Ok(v)), Flavor::Zero(z)) = (self.out.take(), &self.rx.shared.flavor) {
            z.hand_on(v);
        }
    }
}

impl<T> Drop for RecvArm<'_, T> {
    fn drop(&mut self) {
        // The select unlinks before it returns; this is the backstop for a select left by
        // a panic between linking and unlinking. A notification still held (a select left
        // by a panic, or an async select dropped) goes to the next waiter.
        self.unlink(false);
        self.pass_on();
    }
}

impl<T> core::fmt::Debug for RecvArm<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RecvArm")
            .field("linked", &self.linked)
            .finish()
    }
}

/// A send arm: `send(tx, value) -> res => ...`. Its outcome is what [`Sender::send`]
/// returns; the value of an arm that did not fire is dropped with the select (Go evaluates
/// every send expression on entry, too).
#[doc(hidden)]
pub struct SendArm<'a, T> {
    tx: &'a Sender<T>,
    /// The value while not sent; on a rendezvous channel it sits in the node while linked.
    value: Option<T>,
    node: Waiter<Option<T>>,
    out: Option<Result<(), SendError<T>>>,
    linked: bool,
    notified: bool,
}

impl<'a, T> SendArm<'a, T> {
    /// An arm sending `value` on `tx`.
    pub fn new(tx: &'a Sender<T>, value: T) -> Self {
        SendArm {
            tx,
            value: Some(value),
            node: Waiter::new(None),
            out: None,
            linked: false,
            notified: false,
        }
    }

    /// The outcome of the arm that fired.
    ///
    /// # Panics
    /// If the arm did not fire.
    pub fn take(&mut self) -> Result<(), SendError<T>> {
        self.out
            .take()
            .expect("select: outcome of an arm that did not fire")
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn attempt(&mut self) -> bool {
        let r = match &self.tx.shared.flavor {
            Flavor::Array(a) => match a.attempt_send(&mut self.value) {
                Some(r) => r.map_err(SendError),
                None => return false, // the value is back in `self.value`
            },
            // An unbounded send never waits: the arm always fires at once.
            Flavor::List(l) => {
                let v = self
                    .value
                    .take()
                    .expect("a send arm attempted after it fired");
                l.try_send(v).map_err(|e| SendError(e.into_inner()))
            }
            Flavor::Zero(z) => {
                let v = self
                    .value
                    .take()
                    .expect("a send arm attempted after it fired");
                match z.try_send(v) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Disconnected(v)) => Err(SendError(v)),
                    Err(TrySendError::Full(v)) => {
                        self.value = Some(v);
                        return false;
                    }
                }
            }
        };
        self.out = Some(r);
        true
    }

    fn claimable(&self) -> bool {
        matches!(self.tx.shared.flavor, Flavor::Zero(_))
    }

    fn ready(&self, token: &AtomicUsize) -> bool {
        match &self.tx.shared.flavor {
            Flavor::Zero(z) => z.send_ready(token),
            Flavor::Array(_) | Flavor::List(_) => false,
        }
    }

    unsafe fn link(&mut self, token: &AtomicUsize, index: usize, wake: Wake) {
        match &self.tx.shared.flavor {
            // SAFETY: as in `RecvArm::link`.
            Flavor::Array(a) => unsafe { a.send_waiters().register(&self.node, wake) },
            // Never reached (its attempt always fires), and nothing to wait on.
            Flavor::List(_) => return,
            Flavor::Zero(z) => {
                let v = self
                    .value
                    .take()
                    .expect("a send arm linked without its value");
                // SAFETY: as in `RecvArm::link`.
                unsafe { self.node.set_claim(token, index) };
                // SAFETY: as in `RecvArm::link`.
                unsafe { z.link_send(&self.node, v, wake) };
            }
        }
        self.linked = true;
    }

    fn woken(&self) -> bool {
        self.linked && self.node.state() != WAITING
    }

    fn unlink(&mut self, claimed: bool) {
        if !core::mem::take(&mut self.linked) {
            return;
        }
        match &self.tx.shared.flavor {
            Flavor::Array(a) => self.notified |= unlink_hint(a.send_waiters(), &self.node),
            Flavor::List(_) => {}
            Flavor::Zero(z) => {
                // SAFETY: linked by `link_send` above.
                match unsafe { z.unlink_send(&self.node) } {
                    Ok(()) => self.out = Some(Ok(())), // a receiver claimed the arm
                    Err(v) => {
                        debug_assert!(!claimed, "a claimed send arm still holds its value");
                        self.value = Some(v);
                    }
                }
            }
        }
    }

    fn pass_on(&mut self) {
        if core::mem::take(&mut self.notified) {
            if let Flavor::Array(a) = &self.tx.shared.flavor {
                a.send_waiters().notify_one();
            }
        }
    }

    fn forget_notification(&mut self) {
        self.notified = false;
    }
}

impl<T> Drop for SendArm<'_, T> {
    fn drop(&mut self) {
        // Backstop and hand-on, as in `RecvArm`.
        self.unlink(false);
        self.pass_on();
    }
}

impl<T> core::fmt::Debug for SendArm<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SendArm")
            .field("linked", &self.linked)
            .finish()
    }
}

/// What a `recv(..)` arm of [`select!`](crate::select!) accepts: a [`Receiver`] (a place,
/// a temporary, or anything that dereferences to one, reached by method-call autoderef), or
/// an `Option` of a receiver or of a reference or pointer to one, where `None` disables the
/// arm (Go's nil channel). Used only by the macros, which bring it into scope.
#[doc(hidden)]
pub trait RecvArmSource<'a> {
    /// The arm built.
    type Arm: Arm + 'a;
    /// The arm receiving from this source.
    fn __lockgate_recv_arm(&'a self) -> Self::Arm;
}

impl<'a, T: 'a> RecvArmSource<'a> for Receiver<T> {
    type Arm = RecvArm<'a, T>;
    #[inline]
    fn __lockgate_recv_arm(&'a self) -> RecvArm<'a, T> {
        RecvArm::new(self)
    }
}

impl<'a, T: 'a> RecvArmSource<'a> for Option<Receiver<T>> {
    type Arm = MaybeArm<RecvArm<'a, T>>;
    #[inline]
    fn __lockgate_recv_arm(&'a self) -> Self::Arm {
        MaybeArm(self.as_ref().map(RecvArm::new))
    }
}

impl<'a, T: 'a, R: Deref<Target = Receiver<T>> + 'a> RecvArmSource<'a> for Option<R> {
    type Arm = MaybeArm<RecvArm<'a, T>>;
    #[inline]
    fn __lockgate_recv_arm(&'a self) -> Self::Arm {
        MaybeArm(self.as_deref().map(RecvArm::new))
    }
}

/// What a `send(.., value)` arm of [`select!`](crate::select!) accepts: a [`Sender`] (as
/// with [`RecvArmSource`]), or an `Option` of one, where `None` disables the arm; the value
/// of a disabled arm is dropped on entry, never sent.
#[doc(hidden)]
pub trait SendArmSource<'a> {
    /// The type sent.
    type Value;
    /// The arm built.
    type Arm: Arm + 'a;
    /// The arm sending `value` on this source.
    fn __lockgate_send_arm(&'a self, value: Self::Value) -> Self::Arm;
}

impl<'a, T: 'a> SendArmSource<'a> for Sender<T> {
    type Value = T;
    type Arm = SendArm<'a, T>;
    #[inline]
    fn __lockgate_send_arm(&'a self, value: T) -> SendArm<'a, T> {
        SendArm::new(self, value)
    }
}

impl<'a, T: 'a> SendArmSource<'a> for Option<Sender<T>> {
    type Value = T;
    type Arm = MaybeArm<SendArm<'a, T>>;
    #[inline]
    fn __lockgate_send_arm(&'a self, value: T) -> Self::Arm {
        MaybeArm(self.as_ref().map(|tx| SendArm::new(tx, value)))
    }
}

impl<'a, T: 'a, S: Deref<Target = Sender<T>> + 'a> SendArmSource<'a> for Option<S> {
    type Value = T;
    type Arm = MaybeArm<SendArm<'a, T>>;
    #[inline]
    fn __lockgate_send_arm(&'a self, value: T) -> Self::Arm {
        MaybeArm(self.as_deref().map(|tx| SendArm::new(tx, value)))
    }
}

impl<T> MaybeArm<RecvArm<'_, T>> {
    /// The outcome of the arm that fired.
    ///
    /// # Panics
    /// If the arm did not fire (a disabled arm never does).
    pub fn take(&mut self) -> Result<T, RecvError> {
        self.0
            .as_mut()
            .expect("select: outcome of a disabled arm")
            .take()
    }
}

impl<T> MaybeArm<SendArm<'_, T>> {
    /// The outcome of the arm that fired.
    ///
    /// # Panics
    /// If the arm did not fire (a disabled arm never does).
    pub fn take(&mut self) -> Result<(), SendError<T>> {
        self.0
            .as_mut()
            .expect("select: outcome of a disabled arm")
            .take()
    }
}
