//! Promises with 4-6 threads: an async reader (polled by shuttle's `block_on`, so the
//! waker path of the shim's `AtomicWaker` runs under shuttle) racing its resolver or an
//! abandoning one; blocking, timed and async readers of a shared promise racing the resolve
//! (every reader gets the value, a timed one may give up first); a continuation registered
//! while the resolve runs (it runs exactly once).
#![cfg(lockgate_shuttle)]

use lockgate::future::Promise;
use lockgate_shuttle_tests::check;
use shuttle::future::block_on;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;
use std::time::Duration;

/// A timeout that never passes on a clock (see `sync::park_until` under shuttle).
const LONG: Duration = Duration::from_secs(3600);

/// One async reader, one resolver (or one that drops its resolver), and two bystanders
/// that resolve and read promises of their own meanwhile.
fn async_reader_races_resolver(abandon: bool) {
    let (r, p) = Promise::<u32>::pending();
    let resolver = thread::spawn(move || {
        if abandon {
            drop(r);
        } else {
            r.resolve(7);
        }
    });
    let reader = thread::spawn(move || block_on(p));
    let bystanders: Vec<_> = (0..2u32)
        .map(|i| {
            thread::spawn(move || {
                let (r, p) = Promise::pending();
                let t = thread::spawn(move || r.resolve(i));
                assert_eq!(block_on(p).unwrap(), i);
                t.join().unwrap();
            })
        })
        .collect();
    let got = reader.join().unwrap();
    resolver.join().unwrap();
    for b in bystanders {
        b.join().unwrap();
    }
    if abandon {
        assert!(got.is_err(), "an abandoned promise gave {got:?}");
    } else {
        assert_eq!(got.unwrap(), 7);
    }
}

/// A shared promise read by 2 blocking readers, 1 timed reader and 1 async reader while a
/// resolver resolves it and a fifth thread chains a continuation onto it.
fn shared_readers() {
    let (r, p) = Promise::<u32>::pending();
    let shared = p.shared();
    let ran = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let s = shared.clone();
        readers.push(thread::spawn(move || Some(s.get().unwrap())));
    }
    {
        let s = shared.clone();
        readers.push(thread::spawn(move || {
            s.get_timeout(LONG).map(|v| v.unwrap())
        }));
    }
    {
        let s = shared.clone();
        readers.push(thread::spawn(move || Some(block_on(s.promise()).unwrap())));
    }
    let chained = {
        let (s, ran) = (shared.clone(), ran.clone());
        thread::spawn(move || {
            s.promise().then(move |v| {
                ran.fetch_add(1, Ordering::SeqCst);
                v + 1
            })
        })
    };
    let resolver = thread::spawn(move || r.resolve(5));
    resolver.join().unwrap();
    for (i, h) in readers.into_iter().enumerate() {
        match h.join().unwrap() {
            Some(v) => assert_eq!(v, 5),
            None => assert_eq!(i, 2, "only the timed reader may give up"),
        }
    }
    let next = chained.join().unwrap();
    assert_eq!(next.get().unwrap(), 6);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the continuation ran {ran:?} times"
    );
    assert_eq!(shared.get().unwrap(), 5);
}

#[test]
fn async_reader_racing_resolve_and_abandon() {
    for abandon in [false, true] {
        let name = format!("promise async reader, abandon {abandon}");
        check(&name, 10, 20_000, move || {
            async_reader_races_resolver(abandon)
        });
    }
}

#[test]
fn shared_promise_readers_racing_resolve() {
    check("promise shared readers", 10, 20_000, shared_readers);
}
