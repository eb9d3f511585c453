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
