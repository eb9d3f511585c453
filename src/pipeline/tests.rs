//! Schedule tests: the consumer parked in `recv` when the context is cancelled, held (by a
//! pause point) until every stage has stopped and closed its channel, then let go. The
//! pipeline must report the cancellation, not an end of stream.

use std::sync::mpsc;
use std::time::Duration;

use super::{Pipeline, PipelineError};
use crate::context::{Context, ContextError};
use crate::wait::pause::{paused, Point};

/// Sends on drop: tells the test that the stage owning it has stopped.
struct Stopped(mpsc::Sender<()>);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn cancel_while_consumer_parked(
    build: impl FnOnce(Pipeline<u32>, Stopped) -> Pipeline<u32>,
) -> Result<Option<u32>, PipelineError> {
    let (ctx, cancel) = Context::background().with_cancel();
    // The generator blocks in user code (a std channel): it yields nothing, and it does not
    // end until the test drops the sender.
    let (gen_tx, gen_rx) = mpsc::channel::<u32>();
    let (stopped_tx, stopped_rx) = mpsc::channel();
    let mut p = build(Pipeline::from_iter_ctx(gen_rx, &ctx), Stopped(stopped_tx));
    let (gate, consumer) = paused(&[Point::Parking, Point::Woke], move || (p.recv(), p));
    gate.reached(Point::Parking);
    gate.release();
    // The consumer is registered in the channel's and the context's wait lists.
    cancel.cancel();
    gate.reached(Point::Woke);
    // Every stage that waited on the context stops and drops its sender before the
    // consumer looks again: it will find its channel closed.
    stopped_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the stage did not stop");
    std::thread::sleep(Duration::from_millis(50));
    gate.release();
    let (got, p) = consumer.join().unwrap();
    // Only now may the generator's iterator end (had it ended before, every stage would
    // have seen its input end normally, and the end would be true); then the stage
    // threads can be joined.
    drop(gen_tx);
    drop(p);
    got
}

fn assert_canceled(r: Result<Option<u32>, PipelineError>) {
    match r {
        Err(PipelineError::Canceled(ContextError::Canceled)) => {}
        other => panic!("a cancelled pipeline reported {other:?}, not the cancellation"),
    }
}

#[test]
fn cancel_racing_the_end_is_reported_for_a_map() {
    assert_canceled(cancel_while_consumer_parked(|p, stopped| {
        p.map(move |v| {
            let _ = &stopped;
            v
        })
    }));
}

#[test]
fn cancel_racing_the_end_is_reported_for_par_map_ordered() {
    assert_canceled(cancel_while_consumer_parked(|p, stopped| {
        p.par_map_ordered(2, move |v| {
            let _ = &stopped;
            v
        })
    }));
}

#[test]
fn a_finished_pipeline_still_ends_normally() {
    let (ctx, cancel) = Context::background().with_cancel();
    let mut p = Pipeline::from_iter_ctx(0..100u32, &ctx)
        .map(|v| v + 1)
        .par_map_ordered(3, |v| v * 2);
    let mut got = Vec::new();
    while let Some(v) = p.recv().unwrap() {
        got.push(v);
    }
    // Cancelled after the end was seen: the end stands.
    cancel.cancel();
    assert_eq!(got, (1..=100).map(|v| v * 2).collect::<Vec<_>>());
    assert_eq!(p.recv().unwrap(), None);
}
