//! A tour of the Go concurrency patterns tutorial, section by section, in Rust on lockgate.
//!
//! The sections, in the tutorial's order: Pipeline (generator → square → filter, and the same
//! pipeline cancelled after two values); Fan-out/fan-in; Semaphore (ten workers, at most three
//! at once) and Semaphore with timeout; Worker pool and Dynamic worker pool; Pub/Sub (weather
//! and sports topics, an unsubscribe, close); Barrier (on a latch) and Cyclic barrier (with its
//! trigger); Future/Promise (a timeout, then WhenAll, Chain, and WhenAll over jobs that can
//! fail); Context (cancel, timeout with the deadline report, values); Object pool (buffers) and
//! Object pool with cleanup (connections reset on return); and, beside the worker pools, Go's
//! errgroup (five fetches that fail together) and jobs that wait for jobs (a fork-join
//! Fibonacci, a one-worker pool whose first job waits for its second). Where the tutorial writes `select`, the tour
//! writes `select!` (the cancellable pipeline, the future's timeout, the context workers).
//! Sleeps are shortened from the tutorial's seconds to milliseconds; each section prints its
//! time.
//!
//! Run with `cargo run --release --example tour`; `cargo run --release --example tour --
//! <section>` runs one (an unknown name lists them).

use lockgate::barrier::{CyclicBarrier, Latch, WaitGroup};
use lockgate::channel::{bounded, Receiver};
use lockgate::context::{Context, Key};
use lockgate::future::{try_when_all, when_all};
use lockgate::pipeline::Pipeline;
use lockgate::pool::ObjectPool;
use lockgate::pubsub::PubSub;
use lockgate::semaphore::Semaphore;
use lockgate::workers::{Group, WorkerPool};
use lockgate::{select, time};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    let (nums, g) = generator((1..=10).collect());
    let (squares, s) = stage(nums, |n| Some(n * n));
    let (even, f) = stage(squares, |n| (n % 2 == 0).then_some(n));
    for n in &even {
        println!("{n}"); // 4, 16, 36, 64, 100
    }
    for h in [g, s, f] {
        h.join().unwrap();
    }
    // The same three stages with lockgate::pipeline (unbuffered channels, as in Go).
    let even = Pipeline::from_iter_with(1..=10i64, &Context::background(), 0)
        .map(|n| n * n)
        .filter(|n| n % 2 == 0)
        .collect()
        .expect("no stage fails");
    println!("With lockgate::pipeline: {even:?}");
}

/// The tutorial's `generatorWithCancel` / `squareWithCancel`: every send is Go's
/// `select { case out <- v: case <-ctx.Done(): return }`, written the same way with
/// `select!` (`tx.send_ctx(v, &ctx)` is the one-call form).
fn stage_with_cancel(
    ctx: &Context,
    input: impl IntoIterator<Item = i64> + Send + 'static,
    f: impl Fn(i64) -> i64 + Send + 'static,
) -> (Receiver<i64>, JoinHandle<()>) {
    let (tx, rx) = bounded(0);
    let ctx = ctx.clone();
    let h = thread::spawn(move || {
        for n in input {
            select! {
                send(tx, f(n)) -> sent => if sent.is_err() { return }, // the consumer left
                done(ctx) -> _ => return, // cancelled: stop at once
            }
        }
    });
    (rx, h)
}

fn pipeline_with_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (nums, g) = stage_with_cancel(&ctx, 1..=5, |n| n);
    let (squares, s) = stage_with_cancel(&ctx, nums, |n| n * n);
    let mut count = 0;
    for n in &squares {
        println!("{n}"); // 1, 4
        count += 1;
        if count >= 2 {
            cancel.cancel(); // Go's cancel(): every stage blocked in a send wakes and returns
            break;
        }
    }
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
    let (tx, input) = bounded(100);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
        }
    });
    let processor = |n: i64| {
        thread::sleep(Duration::from_millis(50)); // simulated heavy work, as in the tutorial
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

/// The tutorial's semaphore: ten workers, at most three at work at once. A `WaitGroup` plays
/// Go's `wg`; the permit is released when it drops (Go's `defer sem.Release()`).
fn semaphore() {
    let sem = Arc::new(Semaphore::new(3));
    let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let wg = WaitGroup::new();
    for id in 0..10 {
        let guard = wg.guard(); // wg.Add(1); dropped at the end: wg.Done()
        let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
        thread::spawn(move || {
            let _guard = guard;
            let _permit = sem.acquire().unwrap();
            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            println!("Worker {id} starting ({now} at work)");
            thread::sleep(Duration::from_millis(20));
            inside.fetch_sub(1, Ordering::SeqCst);
            println!("Worker {id} done");
        });
    }
    wg.wait();
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 3);
    println!("at most {most} workers at once");
}

/// The tutorial's `AcquireWithTimeout`, the `select` between the semaphore and `time.After`.
fn semaphore_with_timeout() {
    let sem = Semaphore::new(1);
    let held = sem.acquire().unwrap(); // someone is busy
    match sem.acquire_timeout(Duration::from_millis(50)) {
        Ok(_permit) => println!("got the permit"),
        Err(e) => println!("Timed out waiting for semaphore ({e})"),
    }
    drop(held);
    match sem.acquire_timeout(Duration::from_millis(50)) {
        Ok(permit) => println!("got {} permit once it was free", permit.permits()),
        Err(e) => println!("Timed out waiting for semaphore ({e})"),
    };
}

/// The tutorial's barrier on a WaitGroup: every worker finishes phase 1 before any starts phase 2.
/// A latch is exactly that barrier (count down, then wait for zero).
fn barrier() {
    let latch = Latch::new(5);
    let log = Mutex::new(Vec::new());
    thread::scope(|s| {
        for id in 0..5 {
            let (latch, log) = (&latch, &log);
            s.spawn(move || {
                println!("Worker {id}: Phase 1 complete");
                log.lock().unwrap().push(1);
                latch.arrive_and_wait();
                println!("Worker {id}: Phase 2 complete");
                log.lock().unwrap().push(2);
            });
        }
    });
    let log = log.into_inner().unwrap();
    assert!(
        log[..5].iter().all(|&p| p == 1),
        "a phase 2 ran before a phase 1"
    );
    println!("all five phase-1 lines came before any phase-2 line");
}

/// The tutorial's cyclic barrier: three workers, three phases, and a trigger run by the last to
/// arrive before anyone moves on.
fn cyclic_barrier() {
    let barrier = CyclicBarrier::with_action(3, || println!("All workers reached the barrier!"));
    thread::scope(|s| {
        for id in 0..3u64 {
            let barrier = &barrier;
            s.spawn(move || {
                for phase in 1..=3u64 {
                    // Simulated work of uneven length (the tutorial's rand.Intn).
                    thread::sleep(Duration::from_millis((id * 7 + phase * 13) % 30));
                    println!("Worker {id} completed phase {phase}");
                    let r = barrier.wait().unwrap();
                    let lead = if r.is_leader() {
                        " (ran the trigger)"
                    } else {
                        ""
                    };
                    println!("Worker {id} starting next phase{lead}");
                }
            });
        }
    });
}

/// The tutorial's buffer pool: the second `get` reuses the first buffer, so the factory runs once.
fn buffer_pool() {
    let pool = ObjectPool::new(
        || {
            println!("Creating new buffer");
            String::new()
        },
        10,
    );
    let mut buf1 = pool.get();
    buf1.push_str("Hello");
    println!("Buffer 1: {}", *buf1);
    buf1.clear(); // the tutorial's buf1.Reset() before Put
    drop(buf1); // Put
    let mut buf2 = pool.get(); // buf1 again: no "Creating new buffer"
    buf2.push_str("World");
    println!("Buffer 2: {}", *buf2);
    assert_eq!(pool.stats().created, 1);
}

/// The tutorial's connection pool with cleanup: the reset runs on return, so the reused
/// connection is no longer in use.
fn connection_pool() {
    struct FakeDbConn {
        id: u32,
        in_use: bool,
    }
    let next = AtomicUsize::new(0);
    let pool = ObjectPool::with_reset(
        move || {
            let id = 100 + 7 * next.fetch_add(1, Ordering::SeqCst) as u32;
            println!("Opening database connection");
            FakeDbConn { id, in_use: false }
        },
        |conn: &mut FakeDbConn| {
            println!("Resetting connection {}", conn.id);
            conn.in_use = false;
        },
        5,
    );
    let mut conn1 = pool.get();
    conn1.in_use = true;
    println!("Using connection {}", conn1.id);
    drop(conn1); // Put: the reset runs
    let conn2 = pool.get();
    println!("Reusing connection {}, in use: {}", conn2.id, conn2.in_use);
    assert!(!conn2.in_use);
}

/// The tutorial's pub/sub: two weather subscribers and a sports one; subscriber 1 leaves before
/// the last weather report; `close` ends the rest after they drained. (The tutorial's
/// subscriber channels hold one message and skip when full; these hold four, so no message
/// is skipped here, and a skipped one would be counted.)
fn pub_sub() {
    let ps: PubSub<String, String> = PubSub::new(4);
    let sub1 = ps.subscribe("weather").unwrap();
    let sub2 = ps.subscribe("weather").unwrap();
    let sub3 = ps.subscribe("sports").unwrap();
    let (leave_tx, leave_rx) = bounded::<()>(1);
    thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..2 {
                println!("Subscriber 1 received: {}", sub1.recv().unwrap());
            }
            leave_rx.recv().unwrap();
            sub1.unsubscribe(); // ps.Unsubscribe("weather", sub1)
        });
        s.spawn(move || {
            for msg in sub2.iter() {
                println!("Subscriber 2 received: {msg}");
            }
        });
        s.spawn(move || {
            for msg in sub3.iter() {
                println!("Subscriber 3 received: {msg}");
            }
        });
        ps.publish("weather", "Sunny, 25°C".into()).unwrap();
        ps.publish("sports", "Team A won".into()).unwrap();
        ps.publish("weather", "Cloudy, 20°C".into()).unwrap();
        leave_tx.send(()).unwrap();
        while ps.subscriber_count("weather") != 1 {
            thread::yield_now();
        }
        let n = ps.publish("weather", "Rainy, 15°C".into()).unwrap();
        println!("\"Rainy, 15°C\" reached {n} subscriber (subscriber 1 has left)");
        ps.close(); // the others drain, then their loops end
    });
}

/// The tutorial's worker loop: `select { case <-ctx.Done(): ... default: work; sleep }`. With
/// `default(timeout)` the sleep is the select's own wait, so the worker wakes at once on
/// cancellation instead of after its sleep.
fn worker(ctx: &Context) {
    loop {
        select! {
            done(ctx) -> err => {
                match ctx.deadline() {
                    Some(d) if err == lockgate::context::ContextError::DeadlineExceeded => {
                        println!("Worker: Deadline reached ({:?} ago)", d.elapsed());
                    }
                    _ => println!("Worker: Received cancellation signal"),
                }
                return;
            }
            default(Duration::from_millis(50)) => println!("Worker: Working..."),
        }
    }
}

fn context_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    thread::scope(|s| {
        s.spawn(|| worker(&ctx));
        thread::sleep(Duration::from_millis(120));
        cancel.cancel();
    });
    println!("Main: Done");
}

fn context_timeout() {
    let ctx = Context::background().with_timeout(Duration::from_millis(120));
    thread::scope(|s| {
        s.spawn(|| worker(&ctx));
        let err = ctx.done(); // <-ctx.Done()
        println!("Main: Context done with error: {err}");
    });
}

/// The tutorial's request values, under typed keys instead of string keys.
struct UserId;
impl Key for UserId {
    type Value = String;
}
struct AuthToken;
impl Key for AuthToken {
    type Value = String;
}

fn process_request(ctx: &Context) {
    let (Some(user), Some(token)) = (ctx.value::<UserId>(), ctx.value::<AuthToken>()) else {
        println!("User ID or auth token not found in context");
        return;
    };
    println!("Processing request for user {user} with token {token}");
    process_user_data(ctx);
}

fn process_user_data(ctx: &Context) {
    let user = ctx.value::<UserId>().map_or("?", String::as_str);
    println!("Processing data for user {user}");
}

fn context_values() {
    let ctx = Context::background()
        .with_value::<UserId>("user123".into())
        .with_value::<AuthToken>("token456".into());
    process_request(&ctx);
}

/// The tutorial's Future with a timeout: a long operation, a non-blocking look, the tutorial's
/// `select { case <-f.done: case <-time.After(timeout): }` (the promise stays ours when the
/// timer wins), then the blocking wait.
fn future_timeout() {
    let mut future = lockgate::spawn(|| {
        thread::sleep(Duration::from_millis(200)); // the tutorial's 2 s
        "Operation completed"
    });
    println!("Is done: {}", future.is_done());
    select! {
        get(future) -> result => {
            println!("Result: {} Error: <nil>", result.unwrap());
            return;
        }
        recv(time::after(Duration::from_millis(100))) -> _ => println!("Operation timed out"),
    }
    match future.get() {
        Ok(result) => println!("Result: {result} Error: <nil>"),
        Err(e) => println!("Result: <nil> Error: {e}"),
    }
}

/// The tutorial's WhenAll and Chain over the same f1 (hence `shared`), then WhenAll over jobs
/// that can fail, which returns the first error. None blocks a pool thread: all are
/// continuations.
fn future_compose() {
    let f1 = lockgate::spawn(|| {
        thread::sleep(Duration::from_millis(100));
        10
    })
    .shared();
    let f2 = lockgate::spawn(|| {
        thread::sleep(Duration::from_millis(200));
        20
    });
    let all = when_all([f1.promise(), f2]);
    match all.get() {
        Ok(results) => println!("All results: {results:?} Error: <nil>"),
        Err(e) => println!("All results: <nil> Error: {e}"),
    }
    let chained = f1.promise().and_then(|value| {
        lockgate::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            value * 2
        })
    });
    match chained.get() {
        Ok(result) => println!("Chained result: {result} Error: <nil>"),
        Err(e) => println!("Chained result: <nil> Error: {e}"),
    }
    // WhenAll over jobs that can fail: job 2 reports an error, and that error is the result,
    // without waiting for job 3.
    let jobs = [1u64, 2, 3].map(|id| {
        lockgate::spawn(move || {
            thread::sleep(Duration::from_millis(20 * id));
            if id == 2 {
                Err(format!("job {id} failed"))
            } else {
                Ok(id * 10)
            }
        })
    });
    match try_when_all(jobs).get() {
        Ok(Ok(results)) => println!("All results: {results:?} Error: <nil>"),
        Ok(Err(e)) => println!("All results: <nil> Error: {e}"),
        Err(e) => println!("All results: <nil> Error: {e}"),
    }
}

/// The tutorial's basic worker pool: 5 workers, 20 jobs, each doubled after 100 ms of "work"
/// (10 ms here). `submit` returns a promise per job, so results come back by job.
fn worker_pool() {
    let pool = WorkerPool::builder().workers(5).name("worker").build();
    let results: Vec<_> = (0..20)
        .map(|id| {
            pool.submit(move || {
                thread::sleep(Duration::from_millis(10));
                let me = thread::current();
                let worker = me
                    .name()
                    .and_then(|n| n.strip_prefix("worker-"))
                    .unwrap_or("?");
                println!("Worker {worker} processed job {id}");
                id * 2
            })
            .expect("the pool is running")
        })
        .collect();
    for (id, result) in results.into_iter().enumerate() {
        println!(
            "Result: Job {id} = {}",
            result.get().expect("no job panics")
        );
    }
    pool.shutdown();
}

/// The tutorial's dynamic pool: at least `max / 4` workers, up to `max` under load, back down
/// when idle. lockgate grows on submit and shrinks on a worker's own idle timeout, so no
/// monitor thread ticks, and shutdown never closes a channel a submit is still using.
fn dynamic_worker_pool() {
    let max = 8;
    let pool = WorkerPool::builder()
        .min(max / 4)
        .max(max)
        .keep_alive(Duration::from_millis(50))
        .name("dynamic")
        .build();
    println!("Workers at start: {}", pool.workers());
    let results: Vec<_> = (0..40)
        .map(|id| {
            pool.submit(move || {
                thread::sleep(Duration::from_millis(10));
                id * 2
            })
            .expect("the pool is running")
        })
        .collect();
    println!("Workers under load: {} (max {max})", pool.workers());
    let sum: i32 = results
        .into_iter()
        .map(|r| r.get().expect("no job panics"))
        .sum();
    println!("All 40 results in, sum {sum}");
    let start = std::time::Instant::now();
    while pool.workers() > max / 4 && start.elapsed() < Duration::from_secs(2) {
        thread::sleep(Duration::from_millis(10));
    }
    println!("Workers after idling: {}", pool.workers());
    pool.shutdown();
    println!(
        "Stopped: {} workers, {} jobs completed",
        pool.workers(),
        pool.completed()
    );
}

/// Goroutines that wait for goroutines, on a pool: a recursive fork-join (Fibonacci by
/// spawn and get) on the default pool, and a one-worker pool whose first job waits for a
/// value that only its second job sends. The first waits run the queued child on the waiting
/// worker; the second gets a stand-in worker while it is blocked.
fn nested_waits() {
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let a = lockgate::spawn(move || fib(n - 1));
        let b = lockgate::spawn(move || fib(n - 2));
        a.get().unwrap() + b.get().unwrap()
    }
    println!(
        "fib(20) by spawn and get: {}",
        lockgate::spawn(|| fib(20)).get().unwrap()
    );
    let pool = WorkerPool::builder().workers(1).name("nested").build();
    let (tx, rx) = bounded::<&str>(0);
    let waiter = pool.submit(move || rx.recv().unwrap()).unwrap();
    let sender = pool
        .submit(move || tx.send("sent by the second job").unwrap())
        .unwrap();
    println!("The first job got: {}", waiter.get().unwrap());
    sender.get().unwrap();
    pool.shutdown();
    println!(
        "One worker, {} jobs completed, {} stand-ins left",
        pool.completed(),
        pool.stand_ins()
    );
}

/// Go's errgroup beside the tutorial's pools: five "fetches" in parallel as one group. One
/// fails; the others, which watch the group's context, stop at once instead of finishing
/// their 200 ms, and `wait` reports the failure that came first, not the stops it caused.
/// Then the same fetches with at most two in flight, all succeeding, values in spawn order.
fn errgroup() {
    let pool = WorkerPool::builder().workers(5).name("fetch").build();
    let urls = [
        "a.example",
        "b.example",
        "broken.example",
        "d.example",
        "e.example",
    ];
    let started = std::time::Instant::now();
    let mut g = Group::new();
    for url in urls {
        let ctx = g.context().clone();
        g.spawn_on(&pool, move || {
            if url.starts_with("broken") {
                thread::sleep(Duration::from_millis(20));
                println!("fetch {url}: connection refused");
                return Err(format!("fetch {url}: connection refused"));
            }
            // 200 ms of download, unless the group gives up first.
            match ctx.done_timeout(Duration::from_millis(200)) {
                Some(e) => {
                    println!("fetch {url}: stopped ({e})");
                    Err(format!("fetch {url}: {e}"))
                }
                None => Ok(url.len()),
            }
        });
    }
    match g.wait() {
        Ok(sizes) => println!("All fetched: {sizes:?}"),
        Err(e) => println!("Group failed after {:.0?}: {e}", started.elapsed()),
    }
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut g = Group::<usize, String>::new().with_limit(2);
    for url in urls.into_iter().filter(|u| !u.starts_with("broken")) {
        let (in_flight, most) = (in_flight.clone(), most.clone());
        g.spawn_on(&pool, move || {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            thread::sleep(Duration::from_millis(10));
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(url.len())
        });
    }
    let sizes = g.wait().expect("no fetch fails");
    println!(
        "Limit 2: fetched sizes {sizes:?}, at most {} in flight",
        most.load(Ordering::SeqCst)
    );
    pool.shutdown();
}

/// The tour's sections, in the tutorial's order: (name for `-- <section>`, title, body).
const SECTIONS: &[(&str, &str, fn())] = &[
    (
        "pipeline",
        "Pipeline: generator -> square -> filter(even)",
        pipeline,
    ),
    (
        "pipeline-cancel",
        "Pipeline with cancellation",
        pipeline_with_cancel,
    ),
    ("fan-out-fan-in", "Fan-out/fan-in", fan_out_fan_in),
    ("semaphore", "Semaphore: 10 workers, limit 3", semaphore),
    (
        "semaphore-timeout",
        "Semaphore with timeout",
        semaphore_with_timeout,
    ),
    (
        "worker-pool",
        "Worker pool: 5 workers, 20 jobs",
        worker_pool,
    ),
    (
        "dynamic-worker-pool",
        "Dynamic worker pool",
        dynamic_worker_pool,
    ),
    ("errgroup", "errgroup: jobs that fail together", errgroup),
    (
        "nested-waits",
        "Nested waits: jobs that wait for jobs",
        nested_waits,
    ),
    ("pub-sub", "Pub/Sub", pub_sub),
    ("barrier", "Barrier", barrier),
    ("cyclic-barrier", "Cyclic barrier", cyclic_barrier),
    ("future", "Future with timeout", future_timeout),
    (
        "future-composition",
        "Future composition: WhenAll, Chain, WhenAll with an error",
        future_compose,
    ),
    ("context-cancel", "Context: cancel", context_cancel),
    ("context-timeout", "Context: timeout", context_timeout),
    ("context-values", "Context: values", context_values),
    ("object-pool", "Object pool", buffer_pool),
    (
        "pool-with-cleanup",
        "Object pool with cleanup",
        connection_pool,
    ),
];

fn main() {
    let only = std::env::args().nth(1);
    if let Some(name) = &only {
        if !SECTIONS.iter().any(|(n, _, _)| n == name) {
            let names: Vec<_> = SECTIONS.iter().map(|(n, _, _)| *n).collect();
            eprintln!("no section `{name}`; sections: {}", names.join(", "));
            std::process::exit(2);
        }
    }
    println!("lockgate: a tour of the Go concurrency patterns tutorial");
    println!("(its sleeps scaled from seconds to tens of milliseconds)");
    let total = std::time::Instant::now();
    let n = SECTIONS.len();
    for (i, (name, title, run)) in SECTIONS.iter().enumerate() {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        println!();
        println!("== [{}/{n}] {title} ({name})", i + 1);
        let t = std::time::Instant::now();
        run();
        println!("-- {name}: {:.0?}", t.elapsed());
    }
    println!();
    println!("tour done in {:.2?}", total.elapsed());
}
