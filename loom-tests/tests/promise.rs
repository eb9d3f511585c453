//! Promise: a resolve racing every way of reading (blocking get, a timed get, is_done, an
//! async poll, dropping the promise), and continuations registered while the promise
//! resolves, each of which must run exactly once.
#![cfg(lockgate_loom)]

use lockgate::future::{when_all, GetTimeoutError, Promise, PromiseError};
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// A blocking get parked (or about to park) while another thread resolves: it wakes with
/// the value.
#[test]
fn resolve_racing_get() {
    model(3, || {
        let (r, p) = Promise::pending();
        let t = thread::spawn(move || r.resolve(7u32));
        assert!(!p.is_done() || p.is_done()); // a racing look never blocks
        assert_eq!(p.get(), Ok(7));
        t.join().unwrap();
    });
}

/// A timed get racing the resolve: the value, or the promise back, and then the value.
#[test]
fn resolve_racing_get_timeout() {
    model(3, || {
        let (r, p) = Promise::pending();
        let t = thread::spawn(move || r.resolve(String::from("v")));
        let p = match p.get_timeout(std::time::Duration::from_millis(1)) {
            Ok(v) => {
                assert_eq!(v, "v");
                None
            }
            Err(GetTimeoutError::Timeout(p)) => Some(p),
            Err(GetTimeoutError::Failed(e)) => panic!("{e}"),
        };
        t.join().unwrap();
        if let Some(p) = p {
            assert!(p.is_done());
            assert_eq!(p.get().unwrap(), "v");
        }
    });
}

/// An abandoned resolver racing a get, and a promise dropped racing its resolve: the
/// reader sees `Abandoned`; the value of a dropped promise is dropped exactly once.
#[test]
fn abandon_and_drop_racing() {
    model(3, || {
        let (r, p) = Promise::<u32>::pending();
        let t = thread::spawn(move || drop(r));
        assert_eq!(p.get(), Err(PromiseError::Abandoned));
        t.join().unwrap();

        let drops = Arc::new(AtomicUsize::new(0));
        struct D(Arc<AtomicUsize>);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let (r, p) = Promise::pending();
        let d = D(drops.clone());
        let t = thread::spawn(move || r.resolve(d));
        drop(p);
        t.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// An async reader polling while the resolver resolves: it is woken and gets the value.
#[test]
fn resolve_racing_poll() {
    model(3, || {
        let (r, p) = Promise::pending();
        let t = thread::spawn(move || r.resolve(3u8));
        assert_eq!(loom::future::block_on(p), Ok(3));
        t.join().unwrap();
    });
}

/// A continuation registered on one thread while another resolves and the main thread
/// blocks on the shared promise: the continuation runs exactly once,
/// before or after the resolve, and the chained promises carry the value.
#[test]
fn continuations_registered_while_resolving_run_once() {
    model(2, || {
        let runs = Arc::new(AtomicUsize::new(0));
        let (r, p) = Promise::pending();
        let shared = p.shared();
        let resolver = thread::spawn(move || r.resolve(5u32));
        let others: Vec<_> = (0..1)
            .map(|_| {
                let (shared, runs) = (shared.clone(), runs.clone());
                thread::spawn(move || {
                    let runs2 = runs.clone();
                    shared
                        .promise()
                        .then(move |v| {
                            runs2.fetch_add(1, Ordering::SeqCst);
                            v + 1
                        })
                        .get()
                })
            })
            .collect();
        // A blocking shared reader racing both.
        assert_eq!(shared.get(), Ok(5));
        resolver.join().unwrap();
        for t in others {
            assert_eq!(t.join().unwrap(), Ok(6));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// `when_all` over two promises resolved on two threads: settles once, with both values.
#[test]
fn when_all_racing_resolvers() {
    model(3, || {
        let (r0, p0) = Promise::pending();
        let (r1, p1) = Promise::pending();
        let all = when_all([p0, p1]);
        let t0 = thread::spawn(move || r0.resolve(1u8));
        let t1 = thread::spawn(move || r1.resolve(2u8));
        assert_eq!(all.get(), Ok(vec![1, 2]));
        t0.join().unwrap();
        t1.join().unwrap();
    });
}
