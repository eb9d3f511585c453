//! A tour of the seed tutorial's patterns, in Rust, on lockgate.
//!
//! So far: the channel sections ("Конвейер" and "Вентилятор"): the generator → square →
//! filter pipeline, the same pipeline cancelled after two values, and fan-out/fan-in. Later
//! sections (semaphore, worker pool, pub-sub, barriers, futures, context, object pool) join as
//! their primitives land.
//!
//! Run with `cargo run --release --example tour`.

use lockgate::channel::{bounded, Receiver};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Go's `generator(nums ...int) <-chan int` on an unbuffered channel. The stage stops as soon
/// as a send fails, i.e. once every receiver is gone: dropping the consumer cancels it.
fn generator(nums: Vec<i64>) -> (Receiver<i64>, JoinHandle<()>) {
    let (tx, rx) = bounded(0);
    let h = thread::spawn(move || {
        for n in nums {
            if tx.send(n).is_err() {
                return;
            }
        }
    });
    (rx, h)
}

/// One pipeline stage: reads `input` until it ends, sends `f(n)` when it is `Some`. Ends when
/// its input ends (the Go `close(out)` happens when `tx` drops) or its consumer leaves.
fn stage(
    input: Receiver<i64>,
    f: impl Fn(i64) -> Option<i64> + Send + 'static,
) -> (Receiver<i64>, JoinHandle<()>) {
    let (tx, rx) = bounded(0);
    let h = thread::spawn(move || {
        for n in input {
            if let Some(out) = f(n) {
                if tx.send(out).is_err() {
                    return; // the consumer is gone: stop, and drop `input` to stop upstream
                }
            }
        }
    });
    (rx, h)
}

fn pipeline() {
    println!("== Pipeline: generator -> square -> filter(even)");
    let (nums, g) = generator((1..=10).collect());
    let (squares, s) = stage(nums, |n| Some(n * n));
    let (even, f) = stage(squares, |n| (n % 2 == 0).then_some(n));
    for n in &even {
        println!("{n}"); // 4, 16, 36, 64, 100
    }
    for h in [g, s, f] {
        h.join().unwrap();
    }
}

fn pipeline_with_cancel() {
    println!("== Pipeline with cancellation after two values");
    let (nums, g) = generator((1..=5).collect());
    let (squares, s) = stage(nums, |n| Some(n * n));
    let mut count = 0;
    for n in &squares {
        println!("{n}");
        count += 1;
        if count >= 2 {
            break;
        }
    }
    // Go calls cancel(); here the consumer drops its receiver. The square stage's next send
    // fails, it returns and drops its input, and the generator's next send fails in turn.
    drop(squares);
    g.join().unwrap();
    s.join().unwrap();
    println!("every stage has stopped");
}

/// Go's `fanOut`: `workers` stages reading one shared input.
fn fan_out(
    input: &Receiver<i64>,
    workers: usize,
    processor: fn(i64) -> i64,
) -> Vec<(Receiver<i64>, JoinHandle<()>)> {
    (0..workers)
        .map(|_| stage(input.clone(), move |n| Some(processor(n))))
        .collect()
}

/// Go's `fanIn`: one forwarding thread per input into one output, which ends when every
/// forwarder has finished (Go's `wg.Wait(); close(multiplexed)` is the last `Sender` dropping).
fn fan_in(channels: Vec<Receiver<i64>>) -> Receiver<i64> {
    let (tx, rx) = bounded(0);
    for c in channels {
        let tx = tx.clone();
        thread::spawn(move || {
            for n in c {
                if tx.send(n).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

fn fan_out_fan_in() {
    println!("== Fan-out to 10 workers, fan-in of their results");
    let (tx, input) = bounded(100);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    let processor = |n: i64| {
        thread::sleep(Duration::from_millis(50)); // simulated heavy work, as in the seed
        n * n
    };
    let workers = fan_out(&input, 10, processor);
    drop(input);
    let (outputs, handles): (Vec<_>, Vec<_>) = workers.into_iter().unzip();
    let results = fan_in(outputs);
    let mut all: Vec<i64> = Vec::new();
    for r in &results {
        print!("{r} ");
        all.push(r);
    }
    println!();
    producer.join().unwrap();
    for h in handles {
        h.join().unwrap();
    }
    all.sort_unstable();
    assert_eq!(all, (0..100).map(|n| n * n).collect::<Vec<_>>());
    println!("{} results, each square of 0..100 exactly once", all.len());
}

fn main() {
    pipeline();
    pipeline_with_cancel();
    fan_out_fan_in();
}
