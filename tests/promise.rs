//! Promise: results, errors, panics and abandonment reach the reader; timeouts and contexts
//! hand the promise back; continuations run exactly once, in any race with the resolver and
//! at any chain length; combinators, plain and over `Result`, settle as documented; thousands
//! of promises resolved across threads lose no value and drop every one exactly once.

mod common;

use common::{DropCounter, Watchdog};
use futures_executor::block_on;
use lockgate::context::{Context, ContextError};
use lockgate::future::{
    try_when_all, try_when_all_fail_fast, try_when_any, when_all, when_all_fail_fast, when_any,
    GetCtxError, GetTimeoutError, Promise, PromiseError, Resolver,
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

/// What the fallible combinators' tests compute.
type Fallible = Result<u32, &'static str>;

/// Three pending promises of `Result<u32, &str>`, with their resolvers.
fn three() -> ([Resolver<Fallible>; 3], [Promise<Fallible>; 3]) {
    let (r0, p0) = Promise::pending();
    let (r1, p1) = Promise::pending();
    let (r2, p2) = Promise::pending();
    ([r0, r1, r2], [p0, p1, p2])
}

#[test]
fn try_when_all_settles_with_the_first_failure_in_argument_order() {
    let _w = Watchdog::new("try_when_all_first_failure_in_argument_order", 60);
    // All succeed, resolved in reverse: the values in argument order.
    let ([r0, r1, r2], ps) = three();
    let all = try_when_all(ps);
    r2.resolve(Ok(2));
    r1.resolve(Ok(1));
    assert!(!all.is_done());
    r0.resolve(Ok(0));
    assert_eq!(all.get(), Ok(Ok(vec![0, 1, 2])));
    let none = try_when_all(Vec::<Promise<Result<u8, ()>>>::new());
    assert_eq!(none.get(), Ok(Ok(vec![])));
    // A later failure that comes first does not win: input 1's error does, once input 0 is in.
    let ([r0, r1, r2], ps) = three();
    let all = try_when_all(ps);
    r2.resolve(Err("input 2"));
    assert!(
        !all.is_done(),
        "settled before the inputs ahead of the failure"
    );
    r1.resolve(Err("input 1"));
    assert!(!all.is_done(), "settled before input 0 was in");
    r0.resolve(Ok(0));
    assert_eq!(all.get(), Ok(Err("input 1")));
    // An earlier failure settles at once, while an input after it is still pending.
    let ([r0, r1, r2], ps) = three();
    let all = try_when_all(ps);
    r0.resolve(Ok(0));
    r1.resolve(Err("input 1"));
    assert!(all.is_done(), "waited for an input after the failure");
    assert_eq!(all.get(), Ok(Err("input 1")));
    r2.resolve(Ok(2)); // a late result is dropped
}

#[test]
fn try_when_all_passes_promise_errors_through() {
    let _w = Watchdog::new("try_when_all_passes_promise_errors_through", 60);
    // Input 0 panics after input 1 reported its error: input 0 comes first in argument order.
    let ([r0, r1, _r2], [p0, p1, p2]) = three();
    let p0 = p0.then(|_| -> Result<u32, &str> { panic!("input 0") });
    let all = try_when_all([p0, p1, p2]);
    r1.resolve(Err("input 1"));
    assert!(!all.is_done());
    r0.resolve(Ok(0));
    assert_eq!(all.get(), Err(PromiseError::Panicked("input 0".into())));
    // An abandoned input ahead of an error: the combined promise is abandoned.
    let ([r0, r1, _r2], ps) = three();
    let all = try_when_all(ps);
    r1.resolve(Err("input 1"));
    drop(r0);
    assert_eq!(all.get(), Err(PromiseError::Abandoned));
    // Behind an error, it does not count.
    let ([r0, r1, r2], ps) = three();
    let all = try_when_all(ps);
    drop(r1);
    r0.resolve(Err("input 0"));
    assert_eq!(all.get(), Ok(Err("input 0")));
    drop(r2);
}

#[test]
fn try_when_all_fail_fast_takes_the_first_failure_in_time() {
    let _w = Watchdog::new("try_when_all_fail_fast_first_in_time", 60);
    let ([_r0, r1, r2], ps) = three();
    let all = try_when_all_fail_fast(ps);
    r2.resolve(Err("input 2"));
    assert!(all.is_done(), "waited for the inputs before the failure");
    r1.resolve(Err("input 1")); // later in time: dropped
    assert_eq!(all.get(), Ok(Err("input 2")));
    // A promise error first in time wins over a later `Err`.
    let ([r0, r1, _r2], ps) = three();
    let all = try_when_all_fail_fast(ps);
    drop(r1);
    r0.resolve(Err("input 0"));
    assert_eq!(all.get(), Err(PromiseError::Abandoned));
    let ([r0, r1, r2], ps) = three();
    let all = try_when_all_fail_fast(ps);
    r1.resolve(Ok(1));
    r0.resolve(Ok(0));
    r2.resolve(Ok(2));
    assert_eq!(all.get(), Ok(Ok(vec![0, 1, 2])));
}

#[test]
fn try_when_any_first_success_or_first_failure_in_argument_order() {
    let _w = Watchdog::new("try_when_any_first_success", 60);
    // The first `Ok` in time wins, past errors and a pending input.
    let ([_r0, r1, r2], ps) = three();
    let any = try_when_any(ps);
    r1.resolve(Err("input 1"));
    assert!(!any.is_done());
    r2.resolve(Ok(2));
    assert_eq!(any.get(), Ok(Ok((2, 2))));
    // All fail: input 0's failure, once the last is in, whatever order they came in.
    let ([r0, r1, r2], ps) = three();
    let any = try_when_any(ps);
    r2.resolve(Err("input 2"));
    r0.resolve(Err("input 0"));
    assert!(!any.is_done(), "input 1 may still succeed");
    drop(r1);
    assert_eq!(any.get(), Ok(Err("input 0")));
    let ([r0, r1, r2], [p0, p1, p2]) = three();
    let p0 = p0.then(|_| -> Result<u32, &str> { panic!("input 0") });
    let any = try_when_any([p0, p1, p2]);
    r1.resolve(Err("input 1"));
    r2.resolve(Err("input 2"));
    r0.resolve(Ok(0));
    assert_eq!(any.get(), Err(PromiseError::Panicked("input 0".into())));
    let none = try_when_any(Vec::<Promise<Result<u8, ()>>>::new());
    assert_eq!(none.get(), Err(PromiseError::NoInputs));
}

/// A value that records its own drops, by id.
#[derive(Debug)]
struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Plan {
    Succeed,
    Fail,
    Abandon,
}

/// 1,000 fallible combinations of 8 inputs each (the three forms in turn), their inputs
/// resolved, failed or abandoned from four threads in a random order while two threads read
/// the combined promises: each settles as its rule says, and every value and every error is
/// dropped exactly once, whether it was read, lost to another input or came late.
#[test]
fn stress_fallible_combinators_across_threads() {
    let _w = Watchdog::new("stress_fallible_combinators_across_threads", 120);
    const COMBOS: usize = 1_000;
    const WIDTH: usize = 8;
    let drops: Arc<Vec<AtomicUsize>> =
        Arc::new((0..COMBOS * WIDTH).map(|_| AtomicUsize::new(0)).collect());
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    type Job = Result<Tracked, Tracked>;
    enum Combined {
        All(Promise<Result<Vec<Tracked>, Tracked>>, bool),
        Any(Promise<Result<(usize, Tracked), Tracked>>),
    }
    let mut plans = Vec::with_capacity(COMBOS);
    let mut resolvers: Vec<(usize, Plan, Resolver<Job>)> = Vec::new();
    let mut combined = Vec::with_capacity(COMBOS);
    for k in 0..COMBOS {
        // Up to two failing inputs; some `try_when_any` combinations fail throughout.
        let mut plan = [Plan::Succeed; WIDTH];
        let all_fail = k % 3 == 2 && next(4) == 0;
        let failing = if all_fail { WIDTH } else { next(3) };
        for p in &mut plan[..failing] {
            *p = if next(2) == 0 {
                Plan::Fail
            } else {
                Plan::Abandon
            };
        }
        // Scatter the failures (they were put at the front).
        for i in (1..WIDTH).rev() {
            plan.swap(i, next(i + 1));
        }
        let mut inputs = Vec::with_capacity(WIDTH);
        for (i, p) in plan.iter().enumerate() {
            let (r, input) = Promise::pending();
            resolvers.push((k * WIDTH + i, *p, r));
            inputs.push(input);
        }
        combined.push(match k % 3 {
            0 => Combined::All(try_when_all(inputs), false),
            1 => Combined::All(try_when_all_fail_fast(inputs), true),
            _ => Combined::Any(try_when_any(inputs)),
        });
        plans.push(plan);
    }
    for i in (1..resolvers.len()).rev() {
        resolvers.swap(i, next(i + 1));
    }
    let made = resolvers
        .iter()
        .filter(|(_, p, _)| *p != Plan::Abandon)
        .count();
    let mut chunks: Vec<Vec<_>> = (0..4).map(|_| Vec::new()).collect();
    for (n, job) in resolvers.into_iter().enumerate() {
        chunks[n % 4].push(job);
    }
    let resolving: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let drops = drops.clone();
            thread::spawn(move || {
                for (id, plan, r) in chunk {
                    let value = || Tracked {
                        id,
                        drops: drops.clone(),
                    };
                    match plan {
                        Plan::Succeed => r.resolve(Ok(value())),
                        Plan::Fail => r.resolve(Err(value())),
                        Plan::Abandon => drop(r),
                    }
                }
            })
        })
        .collect();
    let plans = Arc::new(plans);
    let mut halves: Vec<Vec<_>> = vec![Vec::new(), Vec::new()];
    for (k, c) in combined.into_iter().enumerate() {
        halves[k % 2].push((k, c));
    }
    let readers: Vec<_> = halves
        .into_iter()
        .map(|half| {
            let plans = plans.clone();
            thread::spawn(move || {
                // Settled with values and with a failure, by form: each case must occur.
                let mut tally = [[0usize; 2]; 3];
                for (k, c) in half {
                    let plan = &plans[k];
                    let first_bad = plan.iter().position(|p| *p != Plan::Succeed);
                    // The failure of input `i`, as the combined promise reports it.
                    let failure_of = |got: Result<Tracked, PromiseError>| match got {
                        Ok(t) => (t.id - k * WIDTH, Plan::Fail),
                        Err(PromiseError::Abandoned) => (usize::MAX, Plan::Abandon),
                        Err(e) => panic!("combination {k}: {e}"),
                    };
                    match c {
                        Combined::All(p, fail_fast) => match p.get() {
                            Ok(Ok(values)) => {
                                tally[k % 3][0] += 1;
                                assert_eq!(first_bad, None, "combination {k} succeeded");
                                let ids: Vec<_> = values.iter().map(|t| t.id).collect();
                                let want: Vec<_> = (k * WIDTH..(k + 1) * WIDTH).collect();
                                assert_eq!(ids, want, "combination {k}: values out of order");
                            }
                            got => {
                                tally[k % 3][1] += 1;
                                let got = got.map(|r| r.expect_err("checked above"));
                                let (i, kind) = failure_of(got);
                                let first = first_bad.expect("a failure needs a failing input");
                                if fail_fast {
                                    assert!(
                                        i == usize::MAX || plan[i] == Plan::Fail,
                                        "combination {k}: input {i} did not fail"
                                    );
                                    assert!(plan.contains(&kind), "combination {k}");
                                } else {
                                    assert_eq!(kind, plan[first], "combination {k}");
                                    assert!(i == usize::MAX || i == first, "combination {k}");
                                }
                            }
                        },
                        Combined::Any(p) => match p.get() {
                            Ok(Ok((i, t))) => {
                                tally[2][0] += 1;
                                assert_eq!(t.id, k * WIDTH + i, "combination {k}");
                                assert_eq!(plan[i], Plan::Succeed, "combination {k}");
                            }
                            got => {
                                tally[2][1] += 1;
                                let got = got.map(|r| r.expect_err("checked above"));
                                let (i, kind) = failure_of(got);
                                assert!(!plan.contains(&Plan::Succeed), "combination {k}");
                                assert_eq!(kind, plan[0], "combination {k}");
                                assert!(i == usize::MAX || i == 0, "combination {k}");
                            }
                        },
                    }
                }
                tally
            })
        })
        .collect();
    for h in resolving {
        h.join().unwrap();
    }
    let mut tally = [[0usize; 2]; 3];
    for h in readers {
        for (sum, part) in tally.iter_mut().zip(h.join().unwrap()) {
            sum[0] += part[0];
            sum[1] += part[1];
        }
    }
    eprintln!("settled (ok, failed) by form: {tally:?}");
    assert!(
        tally.iter().flatten().all(|n| *n > 0),
        "a case never occurred: {tally:?}"
    );
    let mut dropped = 0;
    for (id, d) in drops.iter().enumerate() {
        let (k, i) = (id / WIDTH, id % WIDTH);
        let want = usize::from(plans[k][i] != Plan::Abandon);
        assert_eq!(d.load(Ordering::SeqCst), want, "value {id} dropped wrong");
        dropped += want;
    }
    assert_eq!(dropped, made);
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
