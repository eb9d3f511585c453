//! The `select!` checker: byte-driven sequences of channel operations and selects of several
//! shapes (with and without `default`, and the run-time `SelectRecv`) over three buffered channels and a context, against a
//! model of each channel's contents. For each select the model says which arms were ready;
//! the checker asserts that the arm that fired was one of them (or `default`, only when none
//! was), that its outcome matches the model, and that every other channel is untouched.

use std::collections::VecDeque;

use lockgate::channel::{bounded, Receiver, Sender, TryRecvError};
use lockgate::context::{CancelHandle, Context, ContextError};
use lockgate::select;
use lockgate::select::SelectRecv;

/// One channel and its model.
struct Chan {
    tx: Sender<u64>,
    rx: Receiver<u64>,
    cap: usize,
    model: VecDeque<u64>,
    closed: bool,
}

impl Chan {
    fn new(cap: usize) -> Self {
        let (tx, rx) = bounded(cap);
        Chan {
            tx,
            rx,
            cap,
            model: VecDeque::new(),
            closed: false,
        }
    }

    fn recv_ready(&self) -> bool {
        !self.model.is_empty() || self.closed
    }

    fn send_ready(&self) -> bool {
        self.model.len() < self.cap || self.closed
    }

    /// Checks a receive's outcome against the model and applies it.
    fn check_recv(&mut self, got: Result<u64, impl core::fmt::Debug>) {
        match (got, self.model.pop_front()) {
            (Ok(v), Some(want)) => assert_eq!(v, want, "received out of order"),
            (Err(_), None) => assert!(self.closed, "a receive failed on an open, empty channel"),
            (got, want) => panic!("receive: got {got:?}, model {want:?}"),
        }
    }

    /// Checks a send's outcome against the model and applies it.
    fn check_send<E: core::fmt::Debug>(&mut self, v: u64, got: Result<(), E>) {
        if self.closed {
            assert!(got.is_err(), "a send on a closed channel succeeded");
        } else {
            assert!(got.is_ok(), "a send with room failed: {got:?}");
            assert!(
                self.model.len() < self.cap,
                "a send into a full channel succeeded"
            );
            self.model.push_back(v);
        }
    }

    fn check_len(&self) {
        assert_eq!(self.rx.len(), self.model.len(), "channel length");
    }
}

/// Which arm of a select fired; `None` is `default`.
type Fired = Option<usize>;

/// Runs the byte-driven sequence.
pub fn check_select(data: &[u8]) {
    let Some((&caps, ops)) = data.split_first() else {
        return;
    };
    let mut ch: Vec<Chan> = (0..3)
        .map(|i| Chan::new(usize::from(caps >> (2 * i)) % 3 + 1))
        .collect();
    let (mut ctx, mut cancel): (Context, Option<CancelHandle>) = {
        let (c, h) = Context::background().with_cancel();
        (c, Some(h))
    };
    for (n, pair) in ops.chunks(2).enumerate() {
        let op = pair[0];
        let arg = pair.get(1).copied().unwrap_or(0);
        let i = usize::from(arg) % 3;
        let v = n as u64 + 1;
        match op % 8 {
            // Plain operations change which arms are ready.
            0 | 1 => {
                let r = ch[i].tx.try_send(v);
                if ch[i].send_ready() {
                    ch[i].check_send(v, r);
                } else {
                    assert!(r.is_err(), "try_send into a full channel succeeded");
                }
            }
            2 => {
                let r = ch[i].rx.try_recv();
                if ch[i].recv_ready() {
                    ch[i].check_recv(r);
                } else {
                    assert_eq!(r, Err(TryRecvError::Empty));
                }
            }
            3 if arg % 4 == 0 => {
                ch[i].tx.close();
                ch[i].closed = true;
            }
            3 => match cancel.take() {
                Some(h) => h.cancel(),
                None => {
                    let (c, h) = Context::background().with_cancel();
                    ctx = c;
                    cancel = Some(h);
                }
            },
            // Selects of four shapes; the blocking ones without `default` run only when the
            // model says an arm is ready (otherwise they would wait, correctly, forever).
            4 if arg % 2 == 1 => {
                // The run-time form: SelectRecv over the same two receivers.
                let ready = [ch[0].recv_ready(), ch[1].recv_ready()];
                let got = {
                    let mut sel = SelectRecv::new();
                    sel.recv(&ch[0].rx);
                    sel.recv(&ch[1].rx);
                    sel.try_select()
                };
                let fired: Fired = got.map(|(k, r)| {
                    ch[k].check_recv(r);
                    k
                });
                check_fired(fired, &ready);
            }
            4 => {
                let ready = [ch[0].recv_ready(), ch[1].recv_ready()];
                let fired: Fired = select! {
                    recv(ch[0].rx) -> r => { ch[0].check_recv(r); Some(0) },
                    recv(ch[1].rx) -> r => { ch[1].check_recv(r); Some(1) },
                    default => None,
                };
                check_fired(fired, &ready);
            }
            5 => {
                let ready = [ch[0].recv_ready(), ch[1].send_ready(), ch[2].recv_ready()];
                let fired: Fired = select! {
                    recv(ch[0].rx) -> r => { ch[0].check_recv(r); Some(0) },
                    send(ch[1].tx, v) -> r => { ch[1].check_send(v, r); Some(1) },
                    recv(ch[2].rx) -> r => { ch[2].check_recv(r); Some(2) },
                    default => None,
                };
                check_fired(fired, &ready);
            }
            6 => {
                let done = ctx.is_done();
                let ready = [ch[i].send_ready(), ch[(i + 1) % 3].recv_ready(), done];
                let (a, b) = (i, (i + 1) % 3);
                let fired: Fired = select! {
                    send(ch[a].tx, v) -> r => { ch[a].check_send(v, r); Some(0) },
                    recv(ch[b].rx) -> r => { ch[b].check_recv(r); Some(1) },
                    done(ctx) -> e => { assert_eq!(e, ContextError::Canceled); Some(2) },
                    default => None,
                };
                check_fired(fired, &ready);
            }
            7 => {
                let ready = [ch[0].recv_ready(), ch[1].recv_ready(), ch[2].recv_ready()];
                if ready.iter().any(|&r| r) {
                    let fired: Fired = select! {
                        recv(ch[0].rx) -> r => { ch[0].check_recv(r); Some(0) },
                        recv(ch[1].rx) -> r => { ch[1].check_recv(r); Some(1) },
                        recv(ch[2].rx) -> r => { ch[2].check_recv(r); Some(2) },
                    };
                    check_fired(fired, &ready);
                }
            }
            _ => {}
        }
        for c in &ch {
            c.check_len();
        }
    }
    // Whatever the model holds is still in the channels, in order.
    for c in &mut ch {
        while let Some(want) = c.model.pop_front() {
            assert_eq!(c.rx.try_recv(), Ok(want), "left in the channel");
        }
        assert!(c.rx.try_recv().is_err());
    }
}

/// The arm that fired was ready; `default` fired only if none was.
fn check_fired(fired: Fired, ready: &[bool]) {
    match fired {
        Some(k) => assert!(ready[k], "arm {k} fired but was not ready ({ready:?})"),
        None => assert!(
            ready.iter().all(|&r| !r),
            "default fired while an arm was ready ({ready:?})"
        ),
    }
}
