//! Schedule test: a publish already inside a subscriber's queue when the hub closes. The
//! subscriber must receive the message the publish counts before it sees the end.

use std::time::Duration;

use super::{Overflow, PubSub, PublishCtxError};
use crate::context::Context;
use crate::wait::pause::{paused, Point};

fn close_racing_a_delivery(overflow: Overflow) {
    let hub: PubSub<&'static str, u32> = PubSub::with_overflow(4, overflow);
    let sub = hub.subscribe("t").unwrap();
    let (publisher, published) = {
        let hub = hub.clone();
        paused(&[Point::DeliveryInside], move || {
            hub.publish_ctx("t", 7, &Context::background())
                .map_err(|e| match e {
                    PublishCtxError::Closed(m) | PublishCtxError::Done(m, _) => m,
                })
        })
    };
    publisher.reached(Point::DeliveryInside);
    hub.close();
    // The subscriber looks while the delivery is still inside: it must not see the end yet.
    assert!(sub.try_recv().is_err());
    let (count, got) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let first = sub.recv_timeout(Duration::from_secs(10));
            let second = sub.recv_timeout(Duration::from_secs(10));
            (first, second)
        });
        std::thread::sleep(Duration::from_millis(20));
        publisher.release();
        (published.join().unwrap(), h.join().unwrap())
    });
    assert_eq!(
        count,
        Ok(1),
        "{overflow:?}: the publish counted the subscriber"
    );
    assert_eq!(
        got.0,
        Ok(7),
        "{overflow:?}: a counted message was never received"
    );
    assert!(got.1.is_err(), "{overflow:?}: the end after the message");
}

#[test]
fn close_racing_a_delivery_never_counts_a_lost_message() {
    for overflow in [Overflow::DropNewest, Overflow::DropOldest, Overflow::Block] {
        close_racing_a_delivery(overflow);
    }
}
