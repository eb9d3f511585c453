//! Nested waits inside pool jobs: a job that waits for another job of its own pool (or for
//! anything a later job provides) never deadlocks the pool. Claim-inline runs a queued child
//! on the waiting worker; compensation starts a stand-in for a worker blocked past the delay.
//! Every job runs exactly once, and every thread the pool started is gone after shutdown.

mod common;

use common::{threads_named, Watchdog};
use lockgate::channel::bounded;
use lockgate::future::Promise;
use lockgate::workers::WorkerPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Waits (bounded) until the pool's stand-ins have all retired.
fn stand_ins_retire(pool: &WorkerPool) {
    let until = Instant::now() + Duration::from_secs(10);
    while pool.stand_ins() > 0 {
        assert!(
            Instant::now() < until,
            "{} stand-ins never retired",
            pool.stand_ins()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Shuts the pool down and checks that no thread named `prefix` is left.
fn shut(pool: WorkerPool, prefix: &str) {
    pool.shutdown();
    assert_eq!(pool.workers(), 0);
    assert_eq!(pool.stand_ins(), 0);
    drop(pool);
    // A joined thread can linger in /proc/self/task for a moment after `join` returns (the
    // kernel clears the join futex before the task is gone; slower under ASan): poll.
    let until = Instant::now() + Duration::from_secs(5);
    while threads_named(prefix) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(threads_named(prefix), 0, "threads left behind");
}

#[test]
fn spawned_jobs_waiting_on_spawned_jobs_finish() {
    let _w = Watchdog::new("spawned_jobs_waiting_on_spawned_jobs_finish", 120);
    // More outer jobs than the default pool has workers, each waiting on an inner one.
    let outer: Vec<Promise<u64>> = (0..64u64)
        .map(|i| lockgate::spawn(move || lockgate::spawn(move || i * 2).get().unwrap() + 1))
        .collect();
    let sum: u64 = outer.into_iter().map(|p| p.get().unwrap()).sum();
    assert_eq!(sum, (0..64u64).map(|i| i * 2 + 1).sum());
    // And the pool is still usable.
    assert_eq!(
        lockgate::spawn(|| 1)
            .get_timeout(Duration::from_secs(10))
            .ok(),
        Some(1)
    );
}

#[test]
fn one_worker_pool_submits_to_itself_and_waits() {
    let _w = Watchdog::new("one_worker_pool_submits_to_itself_and_waits", 120);
    let pool = Arc::new(WorkerPool::builder().workers(1).name("nest-self").build());
    let p2 = pool.clone();
    let outer = pool
        .submit(move || {
            let inner = p2.submit(|| 41).unwrap();
            inner.get().unwrap() + 1
        })
        .unwrap();
    assert_eq!(outer.get(), Ok(42));
    pool.shutdown(); // the counters are final once the worker has exited
    assert_eq!(pool.completed(), 2);
    let pool = Arc::try_unwrap(pool).expect("the job dropped its handle");
    shut(pool, "nest-self");
}

/// A chain: job k submits job k+1 and waits for it, `depth` levels down.
fn chain(pool: &Arc<WorkerPool>, k: usize, depth: usize, ran: &Arc<AtomicUsize>) -> usize {
    ran.fetch_add(1, Ordering::Relaxed);
    if k == depth {
        return k;
    }
    let (p, r) = (pool.clone(), ran.clone());
    pool.submit(move || chain(&p, k + 1, depth, &r))
        .unwrap()
        .get()
        .unwrap()
}

#[test]
fn nested_chain_depth_1000() {
    let _w = Watchdog::new("nested_chain_depth_1000", 300);
    let pool = Arc::new(WorkerPool::builder().workers(2).name("nest-chain").build());
    let ran = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pool.clone(), ran.clone());
    let top = pool.submit(move || chain(&p, 0, 1000, &r)).unwrap();
    assert_eq!(top.get(), Ok(1000));
    assert_eq!(
        ran.load(Ordering::Relaxed),
        1001,
        "every job ran exactly once"
    );
    stand_ins_retire(&pool);
    pool.shutdown(); // the counters are final once every worker has exited
    assert_eq!(pool.completed(), 1001);
    let pool = Arc::try_unwrap(pool).expect("jobs dropped their handles");
    shut(pool, "nest-chain");
}

#[test]
fn nested_chain_depth_1000_on_spawn() {
    let _w = Watchdog::new("nested_chain_depth_1000_on_spawn", 300);
    fn chain(k: usize) -> usize {
        if k == 1000 {
            return k;
        }
        lockgate::spawn(move || chain(k + 1)).get().unwrap()
    }
    assert_eq!(lockgate::spawn(|| chain(0)).get(), Ok(1000));
}

#[test]
fn ten_thousand_jobs_each_waiting_on_two_children() {
    let _w = Watchdog::new("ten_thousand_jobs_each_waiting_on_two_children", 300);
    let pool = Arc::new(WorkerPool::builder().workers(2).name("nest-two").build());
    let ran = Arc::new(AtomicUsize::new(0));
    let parents: Vec<Promise<u64>> = (0..10_000u64)
        .map(|i| {
            let (p, r) = (pool.clone(), ran.clone());
            pool.submit(move || {
                r.fetch_add(1, Ordering::Relaxed);
                let (r1, r2) = (r.clone(), r.clone());
                let a = p.submit(move || {
                    r1.fetch_add(1, Ordering::Relaxed);
                    i
                });
                let b = p.submit(move || {
                    r2.fetch_add(1, Ordering::Relaxed);
                    i + 1
                });
                a.unwrap().get().unwrap() + b.unwrap().get().unwrap()
            })
            .unwrap()
        })
        .collect();
    let sum: u64 = parents.into_iter().map(|p| p.get().unwrap()).sum();
    assert_eq!(sum, (0..10_000u64).map(|i| 2 * i + 1).sum());
    assert_eq!(
        ran.load(Ordering::Relaxed),
        30_000,
        "every job ran exactly once"
    );
    stand_ins_retire(&pool);
    pool.shutdown(); // the counters are final once every worker has exited
    assert_eq!(pool.completed(), 30_000);
    let pool = Arc::try_unwrap(pool).expect("jobs dropped their handles");
    shut(pool, "nest-two");
}

fn fib(n: u64, ran: &Arc<AtomicUsize>) -> u64 {
    ran.fetch_add(1, Ordering::Relaxed);
    if n < 2 {
        return n;
    }
    let (r1, r2) = (ran.clone(), ran.clone());
    let a = lockgate::spawn(move || fib(n - 1, &r1));
    let b = lockgate::spawn(move || fib(n - 2, &r2));
    a.get().unwrap() + b.get().unwrap()
}

#[test]
fn fib_20_by_spawn_and_get() {
    let _w = Watchdog::new("fib_20_by_spawn_and_get", 300);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    assert_eq!(lockgate::spawn(move || fib(20, &r)).get(), Ok(6765));
    // fib(20) makes 2 * fib(21) - 1 calls, each a job.
    assert_eq!(ran.load(Ordering::Relaxed), 2 * 10946 - 1);
}

#[test]
fn blocked_worker_is_compensated_then_stand_in_retires() {
    let _w = Watchdog::new("blocked_worker_is_compensated_then_stand_in_retires", 120);
    // The first job waits on a channel that only the second job (queued behind it on the
    // one worker) fills: no claim can help, only a stand-in.
    let pool = WorkerPool::builder().workers(1).name("nest-comp").build();
    let (tx, rx) = bounded::<u32>(0);
    let waiter = pool.submit(move || rx.recv().unwrap()).unwrap();
    let sender = pool.submit(move || tx.send(7).unwrap()).unwrap();
    assert_eq!(waiter.get(), Ok(7));
    assert_eq!(sender.get(), Ok(()));
    assert_eq!(pool.workers(), 1, "stand-ins are not counted as workers");
    stand_ins_retire(&pool);
    shut(pool, "nest-comp");
}

#[test]
fn compensation_off_and_depth_zero_still_run_everything_without_nesting() {
    let _w = Watchdog::new(
        "compensation_off_and_depth_zero_still_run_everything_without_nesting",
        60,
    );
    let pool = WorkerPool::builder()
        .workers(2)
        .max_stand_ins(0)
        .max_inline_depth(0)
        .name("nest-off")
        .build();
    let ps: Vec<_> = (0..1000u32)
        .map(|i| pool.submit(move || i).unwrap())
        .collect();
    let sum: u32 = ps.into_iter().map(|p| p.get().unwrap()).sum();
    assert_eq!(sum, (0..1000).sum());
    assert_eq!(pool.stand_ins(), 0);
    shut(pool, "nest-off");
}

#[test]
fn many_blocked_jobs_stay_within_the_stand_in_cap() {
    let _w = Watchdog::new("many_blocked_jobs_stay_within_the_stand_in_cap", 120);
    // 8 jobs block on one gate that a ninth job opens; the cap of 8 stand-ins is enough for
    // the ninth to run on a 1-worker pool, and never exceeded.
    let pool = WorkerPool::builder()
        .workers(1)
        .max_stand_ins(8)
        .name("nest-cap")
        .build();
    let gate = Arc::new(lockgate::barrier::Latch::new(1));
    let blocked: Vec<_> = (0..8)
        .map(|_| {
            let g = gate.clone();
            pool.submit(move || g.wait()).unwrap()
        })
        .collect();
    let g = gate.clone();
    let opener = pool.submit(move || g.count_down()).unwrap();
    assert_eq!(opener.get(), Ok(()));
    for b in blocked {
        assert_eq!(b.get(), Ok(()));
    }
    assert!(pool.stand_ins() <= 8);
    stand_ins_retire(&pool);
    shut(pool, "nest-cap");
}

#[test]
fn idle_stand_ins_retire_after_every_wait_ends() {
    let _w = Watchdog::new("idle_stand_ins_retire_after_every_wait_ends", 120);
    // Two jobs block on two channels (two stand-ins); releasing them one after the other wakes
    // the idle stand-ins twice: the one that does not retire the first time must still hear
    // the second.
    for _ in 0..10 {
        let pool = WorkerPool::builder().workers(2).name("nest-idle").build();
        let (tx1, rx1) = bounded::<()>(1);
        let (tx2, rx2) = bounded::<()>(1);
        let p1 = pool.submit(move || rx1.recv().unwrap()).unwrap();
        let p2 = pool.submit(move || rx2.recv().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        tx1.send(()).unwrap();
        p1.get().unwrap();
        std::thread::sleep(Duration::from_millis(10));
        tx2.send(()).unwrap();
        p2.get().unwrap();
        stand_ins_retire(&pool);
        shut(pool, "nest-idle");
    }
}
