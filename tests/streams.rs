//! The `futures` feature: `RecvStream`, `SendSink`, `SubStream`.
#![cfg(feature = "futures")]

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use futures_util::{stream, SinkExt, StreamExt};
use lockgate::channel::{bounded, unbounded, Receiver, Sender};
use lockgate::pubsub::PubSub;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;

fn flavours() -> Vec<(Sender<u64>, Receiver<u64>)> {
    vec![bounded(0), bounded(1), bounded(8), unbounded()]
}

#[test]
fn stream_and_sink_every_flavour() {
    let _w = Watchdog::new("stream_and_sink_every_flavour", 120);
    for (tx, rx) in flavours() {
        let h = thread::spawn(move || {
            let mut sink = tx.into_sink();
            block_on(sink.send_all(&mut stream::iter(0..2_000u64).map(Ok))).unwrap();
            block_on(sink.close()).unwrap();
        });
        let got: Vec<u64> = block_on(rx.into_stream().collect());
        assert_eq!(got, (0..2_000).collect::<Vec<_>>());
        h.join().unwrap();
    }
}

#[test]
fn sink_reports_a_closed_channel_with_the_item() {
    let (tx, rx) = bounded::<u32>(1);
    let mut sink = tx.into_sink();
    drop(rx);
    let err = block_on(sink.send(5)).unwrap_err();
    assert_eq!(err.into_inner(), 5);
}

struct NoopWake;
impl std::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn dropped_pending_next_takes_nothing() {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    for (tx, rx) in flavours() {
        let mut s = rx.into_stream();
        {
            let mut next = pin!(s.next());
            assert!(next.as_mut().poll(&mut cx).is_pending());
        }
        // The value goes to the next poll (for a rendezvous channel, `try_send` needs a
        // parked receiver: poll again first).
        let mut next = pin!(s.next());
        let pending = next.as_mut().poll(&mut cx);
        assert!(pending.is_pending());
        assert_eq!(tx.try_send(9), Ok(()));
        assert_eq!(next.as_mut().poll(&mut cx), Poll::Ready(Some(9)));
    }
}

#[test]
fn sink_dropped_with_an_item_in_flight_drops_it_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    for cap in [0usize, 1] {
        drops.store(0, Ordering::SeqCst);
        let (tx, rx) = bounded(cap);
        if cap == 1 {
            tx.send(DropCounter::new(&drops)).unwrap(); // full
        }
        let mut sink = tx.into_sink();
        {
            let mut send = pin!(sink.send(DropCounter::new(&drops)));
            assert!(send.as_mut().poll(&mut cx).is_pending());
        }
        drop(sink);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "cap {cap}: the unsent item dropped"
        );
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1 + cap);
    }
}

#[test]
fn subscription_stream() {
    let bus = PubSub::<&str, u32>::new(4);
    let s = bus.subscribe("t").unwrap().into_stream();
    let h = thread::spawn(move || block_on(s.take(3).collect::<Vec<_>>()));
    for i in 0..3 {
        bus.publish(&"t", i).unwrap();
    }
    assert_eq!(h.join().unwrap(), [0, 1, 2]);
}
