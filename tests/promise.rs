//! Promise: results, errors, panics and abandonment reach the reader; timeouts and contexts
//! hand the promise back; continuations run exactly once, in any race with the resolver and
//! at any chain length; combinators settle as documented; thousands of promises resolved
//! across threads lose no value and drop every one exactly once.

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use lockgate::context::{Context, ContextError};
use lockgate::future::{
    when_all, when_all_fail_fast, when_any, GetCtxError, GetTimeoutError, Promise, PromiseError,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn spawn_get_panic_and_abandon() {
    let _w = Watchdog::new("spawn_get_panic_and_abandon", 60);
    assert_eq!(lockgate::spawn(|| 2 + 2).get(), Ok(4));
    let p = lockgate::spawn(|| -> u32 { panic!("boom") });
    assert_eq!(p.get(), Err(PromiseError::Panicked("boom".into())));
    // The pool lives on after a panic.
    assert_eq!(lockgate::spawn(|| "alive").get(), Ok("alive"));
    let (r, p) = Promise::<String>::pending();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(r);
    });
    assert_eq!(p.get(), Err(PromiseError::Abandoned));
    t.join().unwrap();
    // Fallible computations: the promise carries the Result.
    let p = lockgate::spawn(|| "x".parse::<u32>());
    assert!(p.get().unwrap().is_err());
}

#[test]
fn timeout_and_ctx_hand_the_promise_back() {
    let _w = Watchdog::new("timeout_and_ctx_hand_the_promise_back", 60);
    let (r, p) = Promise::pending();
    assert!(!p.is_done());
    let p = match p.get_timeout(Duration::from_millis(10)) {
        Err(GetTimeoutError::Timeout(p)) => p,
        other => panic!("{other:?}"),
    };
    let (ctx, cancel) = Context::background().with_cancel();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        cancel.cancel();
    });
    let p = match p.get_ctx(&ctx) {
        Err(GetCtxError::Done(p, ContextError::Canceled)) => p,
        other => panic!("{other:?}"),
    };
    t.join().unwrap();
    let ctx = Context::background().with_timeout(Duration::from_millis(10));
    let p = match p.get_ctx(&ctx) {
        Err(GetCtxError::Done(p, ContextError::DeadlineExceeded)) => p,
        other => panic!("{other:?}"),
    };
    r.resolve(5);
    assert!(p.is_done());
    assert_eq!(p.get_timeout(Duration::from_millis(1)).ok(), Some(5));
    let (r, p) = Promise::<u8>::pending();
    drop(r);
    assert!(matches!(
        p.get_ctx(&Context::background()),
        Err(GetCtxError::Failed(PromiseError::Abandoned))
    ));
}

#[test]
fn then_and_chain() {
    let _w = Watchdog::new("then_and_chain", 60);
    // The seed's Chain: f1's value feeds a second computation.
    let f1 = lockgate::spawn(|| 10);
    let chained = f1.and_then(|v| lockgate::spawn(move || v * 2));
    assert_eq!(chained.get(), Ok(20));
    // Registered before and after resolution.
    let (r, p) = Promise::pending();
    let q = p.then(|v: u32| v + 1).then(|v| v * 3);
    r.resolve(1);
    assert_eq!(q.get(), Ok(6));
    assert_eq!(Promise::ready(2).then(|v| v + 1).get(), Ok(3));
    // Errors pass through without calling the function; panics become errors.
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    let (r, p) = Promise::<u32>::pending();
    let q = p.then(move |v| {
        c.fetch_add(1, Ordering::SeqCst);
        v
    });
    drop(r);
    assert_eq!(q.get(), Err(PromiseError::Abandoned));
    assert_eq!(called.load(Ordering::SeqCst), 0);
    let q = Promise::ready(1).then(|_: i32| -> i32 { panic!("in then") });
    assert_eq!(q.get(), Err(PromiseError::Panicked("in then".into())));
    let q = Promise::ready(1).and_then(|_: i32| -> Promise<i32> { panic!("in and_then") });
    assert_eq!(q.get(), Err(PromiseError::Panicked("in and_then".into())));
}

#[test]
fn a_long_chain_resolved_at_once_does_not_overflow() {
    let _w = Watchdog::new("a_long_chain_resolved_at_once_does_not_overflow", 120);
    let (r, p) = Promise::pending();
    let mut q = p;
    for _ in 0..200_000 {
        q = q.then(|v: u64| v + 1);
    }
    // Every continuation runs inside the resolve, on this thread, in a loop.
    let t = thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || r.resolve(0))
        .unwrap();
    t.join().unwrap();
    assert_eq!(q.get(), Ok(200_000));
}

#[test]
fn when_all_settles_like_the_seed() {
    let _w = Watchdog::new("when_all_settles_like_the_seed", 60);
    let all = when_all([lockgate::spawn(|| 10), lockgate::spawn(|| 20)]);
    assert_eq!(all.get(), Ok(vec![10, 20]));
    assert_eq!(when_all(Vec::<Promise<u8>>::new()).get(), Ok(vec![]));
    // Input 2 fails first in time, input 1 later: the seed reports input 1's error, and
    // only once input 0 has succeeded.
    let (r0, p0) = Promise::<u32>::pending();
    let (r1, q1) = Promise::<u32>::pending();
    let p1 = q1.then(|_| -> u32 { panic!("input 1") });
    let (r2, p2) = Promise::<u32>::pending();
    let all = when_all([p0, p1, p2]);
    drop(r2);
    r1.resolve(0);
    assert!(!all.is_done(), "settled before input 0 was in");
    r0.resolve(1);
    assert_eq!(all.get(), Err(PromiseError::Panicked("input 1".into())));
    // Fail fast: the first error in time, at once.
    let (r0, p0) = Promise::<u32>::pending();
    let (r1, p1) = Promise::<u32>::pending();
    let all = when_all_fail_fast([p0, p1]);
    drop(r1);
    assert_eq!(all.get(), Err(PromiseError::Abandoned));
    r0.resolve(3); // late results are dropped
}

#[test]
fn when_any_first_success_or_first_error() {
    let _w = Watchdog::new("when_any_first_success_or_first_error", 60);
    let (_keep, never) = Promise::<u32>::pending();
    assert_eq!(when_any([never, Promise::ready(7)]).get(), Ok((1, 7)));
    let (r0, p0) = Promise::<u32>::pending();
    let (r1, p1) = Promise::<u32>::pending();
    let any = when_any([p0, p1]);
    drop(r1);
    assert!(!any.is_done(), "one input still running");
    r0.resolve(9);
    assert_eq!(any.get(), Ok((0, 9)));
    assert_eq!(
        when_any(Vec::<Promise<u8>>::new()).get(),
        Err(PromiseError::NoInputs)
    );
}

#[test]
fn shared_promise_serves_many_readers() {
    let _w = Watchdog::new("shared_promise_serves_many_readers", 60);
    let (r, p) = Promise::pending();
    let shared = p.shared();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let s = shared.clone();
            thread::spawn(move || s.get())
        })
        .collect();
    // The seed uses f1 both in WhenAll and in Chain.
    let all = when_all([shared.promise(), shared.promise()]);
    let chained = shared
        .promise()
        .and_then(|v: String| Promise::ready(v.len()));
    assert_eq!(shared.get_timeout(Duration::from_millis(1)), None);
    let ctx = Context::background().with_timeout(Duration::from_millis(5));
    assert_eq!(shared.get_ctx(&ctx), Err(ContextError::DeadlineExceeded));
    r.resolve(String::from("value"));
    for h in readers {
        assert_eq!(h.join().unwrap(), Ok(String::from("value")));
    }
    assert_eq!(
        all.get(),
        Ok(vec![String::from("value"), String::from("value")])
    );
    assert_eq!(chained.get(), Ok(5));
    assert!(shared.is_done());
}

#[test]
fn awaitable() {
    let _w = Watchdog::new("awaitable", 60);
    let p = lockgate::spawn(|| 3);
    assert_eq!(block_on(p), Ok(3));
    let (r, p) = Promise::pending();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        r.resolve("later");
    });
    assert_eq!(block_on(async { p.await.map(|s| s.len()) }), Ok(5));
    t.join().unwrap();
}

/// Thousands of promises resolved on other threads while readers block, await, chain and
/// drop them: every value arrives once, and every value is dropped exactly once (read or not).
#[test]
fn stress_thousands_of_promises_across_threads() {
    let _w = Watchdog::new("stress_thousands_of_promises_across_threads", 120);
    const N: usize = 20_000;
    let drops = Arc::new(AtomicUsize::new(0));
    let mut resolvers = Vec::with_capacity(N);
    let mut promises = Vec::with_capacity(N);
    for _ in 0..N {
        let (r, p) = Promise::<(usize, DropCounter)>::pending();
        resolvers.push(r);
        promises.push(p);
    }
    // Resolve from 4 threads, interleaved; every 7th resolver is dropped (Abandoned).
    let mut chunks: Vec<Vec<_>> = (0..4).map(|_| Vec::new()).collect();
    for (i, r) in resolvers.into_iter().enumerate() {
        chunks[i % 4].push((i, r));
    }
    let resolving: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let drops = drops.clone();
            thread::spawn(move || {
                for (i, r) in chunk {
                    if i % 7 == 0 {
                        drop(r);
                    } else {
                        r.resolve((i, DropCounter::new(&drops)));
                    }
                }
            })
        })
        .collect();
    let got = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    let mut chunks: Vec<Vec<_>> = (0..4).map(|_| Vec::new()).collect();
    for (i, p) in promises.into_iter().enumerate() {
        chunks[i % 4].push((i, p));
    }
    for (k, chunk) in chunks.into_iter().enumerate() {
        let got = got.clone();
        readers.push(thread::spawn(move || {
            for (i, p) in chunk {
                let expect_ok = i % 7 != 0;
                let check = |r: Result<(usize, DropCounter), PromiseError>| match r {
                    Ok((j, _d)) => {
                        assert!(expect_ok && j == i, "promise {i} got {j}");
                        1
                    }
                    Err(PromiseError::Abandoned) => {
                        assert!(!expect_ok, "promise {i} abandoned");
                        0
                    }
                    Err(e) => panic!("{e}"),
                };
                let n = match (k, i % 3) {
                    (0, _) => check(p.get()),
                    (1, _) => check(block_on(p)),
                    (2, 0) => {
                        drop(p); // never read: the value must still be dropped
                        0
                    }
                    (2, _) => check(p.then(|v| v).get()),
                    _ => match p.get_timeout(Duration::from_micros(50)) {
                        Ok(v) => check(Ok(v)),
                        Err(GetTimeoutError::Failed(e)) => check(Err(e)),
                        Err(GetTimeoutError::Timeout(p)) => check(p.get()),
                    },
                };
                got.fetch_add(n, Ordering::SeqCst);
            }
        }));
    }
    for h in resolving {
        h.join().unwrap();
    }
    for h in readers {
        h.join().unwrap();
    }
    let resolved = (0..N).filter(|i| i % 7 != 0).count();
    let unread = (0..N)
        .filter(|i| i % 4 == 2 && i % 3 == 0 && i % 7 != 0)
        .count();
    assert_eq!(got.load(Ordering::SeqCst), resolved - unread);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        resolved,
        "a value leaked or dropped twice"
    );
}

/// Many promises spawned on the pool from many threads, combined and chained: every job
/// runs exactly once.
#[test]
fn stress_spawn_and_combine() {
    let _w = Watchdog::new("stress_spawn_and_combine", 120);
    let ran = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let ran = ran.clone();
            thread::spawn(move || {
                let mut total = 0u64;
                for round in 0..50u64 {
                    let ps = (0..40u64).map(|i| {
                        let ran = ran.clone();
                        lockgate::spawn(move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                            i + round + t
                        })
                    });
                    let sum = when_all(ps).then(|v| v.iter().sum::<u64>());
                    total += sum.get().unwrap();
                }
                total
            })
        })
        .collect();
    for (t, h) in hs.into_iter().enumerate() {
        let t = t as u64;
        let expect: u64 = (0..50u64)
            .map(|round| (0..40u64).map(|i| i + round + t).sum::<u64>())
            .sum();
        assert_eq!(h.join().unwrap(), expect);
    }
    assert_eq!(ran.load(Ordering::SeqCst), 4 * 50 * 40);
}

/// Review finding: a promise awaited through `&mut` has given its value away; `shared` must
/// refuse it rather than read the moved-out value.
#[test]
fn shared_after_await_through_mut_panics() {
    let mut p = Promise::ready(String::from("moved"));
    assert_eq!(block_on(&mut p), Ok(String::from("moved")));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || p.shared().get()));
    assert!(r.is_err(), "shared() read a taken value");
}

/// Review finding: a continuation that blocks on a promise whose continuation is queued behind
/// it on the same thread must not deadlock, at any chain depth.
#[test]
fn blocking_inside_a_continuation_does_not_deadlock() {
    let _w = Watchdog::new("blocking_inside_a_continuation_does_not_deadlock", 60);
    let (r, p) = Promise::pending();
    let mut q = p;
    // Deep enough that the trampoline queues the later links.
    for _ in 0..40 {
        q = q.then(|v: u32| v + 1);
    }
    let inner = q.then(|v| {
        // Blocks inside a continuation on a chain made and resolved right here.
        let (r2, p2) = Promise::pending();
        let chained = p2.then(|x: u32| x * 2).then(|x| x + 1);
        r2.resolve(v);
        let got = chained.get_timeout(Duration::from_secs(10)).ok();
        let ready = Promise::ready(1u32).then(|x| x + 1).get();
        let spawned = when_all([lockgate::spawn(|| 1u32), lockgate::spawn(|| 2)]).get();
        (got, ready, spawned)
    });
    r.resolve(0);
    assert_eq!(inner.get(), Ok((Some(81), Ok(2), Ok(vec![1, 2]))));
}

/// Review finding: a panicking `clone` in `SharedPromise::promise` becomes that promise's
/// error; the other continuations still run and parked readers still wake.
#[test]
fn panicking_clone_is_contained() {
    let _w = Watchdog::new("panicking_clone_is_contained", 60);
    #[derive(Debug, PartialEq)]
    struct Grumpy(u32);
    impl Clone for Grumpy {
        fn clone(&self) -> Self {
            if self.0 == 13 {
                panic!("no clones of 13");
            }
            Grumpy(self.0)
        }
    }
    let (r, p) = Promise::pending();
    let shared = p.shared();
    // A reader's own `get` clones on its own thread: there the panic is the reader's.
    let reader = {
        let s = shared.clone();
        thread::spawn(move || s.get_timeout(Duration::from_secs(10)).is_some())
    };
    let first = shared.promise();
    let second = shared.promise().then(|_| "ran");
    thread::sleep(Duration::from_millis(10));
    r.resolve(Grumpy(13));
    assert!(matches!(first.get(), Err(PromiseError::Panicked(_))));
    assert!(matches!(second.get(), Err(PromiseError::Panicked(_))));
    assert!(
        reader.join().is_err(),
        "the parked reader was not woken (or cloned fine)"
    );
}

/// Review finding: a continuation that blocks must not hold up the parked readers of the cell
/// it continues (they are woken before continuations run).
#[test]
fn readers_are_woken_before_continuations_run() {
    let _w = Watchdog::new("readers_are_woken_before_continuations_run", 60);
    let (r, p) = Promise::pending();
    let shared = p.shared();
    let (r2, p2) = Promise::<u32>::pending();
    // Thread A: waits on `shared`, then resolves p2.
    let a = {
        let s = shared.clone();
        thread::spawn(move || {
            let v = s.get().unwrap();
            r2.resolve(v + 1);
        })
    };
    thread::sleep(Duration::from_millis(10));
    // A continuation on `shared` that blocks until A has been woken and resolved p2.
    let cont = shared
        .promise()
        .then(move |_| p2.get_timeout(Duration::from_secs(10)).ok());
    r.resolve(1u32);
    assert_eq!(cont.get(), Ok(Some(2)));
    a.join().unwrap();
}

/// Review finding: a resolver dropped by a thread-local destructor at thread exit completes
/// its promise (as abandoned) instead of aborting.
#[test]
fn resolver_dropped_at_thread_exit() {
    let _w = Watchdog::new("resolver_dropped_at_thread_exit", 60);
    use std::cell::RefCell;
    thread_local! {
        static HELD: RefCell<Option<lockgate::future::Resolver<u8>>> = const { RefCell::new(None) };
    }
    let (r, p) = Promise::pending();
    let q = p.then(|v| v + 1);
    thread::spawn(move || HELD.with(|h| *h.borrow_mut() = Some(r)))
        .join()
        .unwrap();
    match q.get_timeout(Duration::from_secs(10)) {
        Err(GetTimeoutError::Failed(PromiseError::Abandoned)) => {}
        other => panic!("{other:?}"),
    }
}

/// When every worker is busy and the queue is full, `spawn` runs the job on the caller
/// (documented back-pressure), never blocks.
#[test]
fn spawn_runs_on_the_caller_when_the_pool_is_full() {
    let _w = Watchdog::new("spawn_runs_on_the_caller_when_the_pool_is_full", 120);
    let gate = Arc::new(lockgate::barrier::Latch::new(1));
    let me = thread::current().id();
    let mut held = Vec::new();
    let mut inline = None;
    // Enough to occupy every worker and fill any queue this machine's pool can have. Jobs on
    // a worker wait for the gate; a job run on this thread cannot wait (it would wait for us).
    for i in 0..200_000 {
        let gate = gate.clone();
        let p = lockgate::spawn(move || {
            let here = thread::current().id();
            if here != me {
                gate.wait();
            }
            here
        });
        if p.is_done() {
            // Only a job run here, before spawn returned, can be done while the gate is shut.
            inline = Some(i);
            assert_eq!(p.get(), Ok(me));
            break;
        }
        held.push(p);
    }
    gate.count_down();
    assert!(inline.is_some(), "spawn never ran a job on the caller");
    for p in held {
        assert!(p.get().is_ok());
    }
}
