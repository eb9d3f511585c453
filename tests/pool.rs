//! ObjectPool: reuse, bounds, counters, thread-exit flushing, panicking callbacks, and every
//! object dropped exactly once (no leak, no double drop) across threads and several pools.

mod common;

use common::Watchdog;
use lockgate::pool::ObjectPool;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

/// An object that counts how many of its kind are alive.
struct Tracked {
    alive: Arc<AtomicUsize>,
    id: usize,
}

impl Tracked {
    fn new(alive: &Arc<AtomicUsize>, id: usize) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Tracked {
            alive: alive.clone(),
            id,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

fn tracked_pool(capacity: usize) -> (ObjectPool<Tracked>, Arc<AtomicUsize>) {
    let alive = Arc::new(AtomicUsize::new(0));
    let (a, next) = (alive.clone(), AtomicUsize::new(0));
    let pool = ObjectPool::new(
        move || Tracked::new(&a, next.fetch_add(1, Ordering::SeqCst)),
        capacity,
    );
    (pool, alive)
}

#[test]
fn seed_buffer_pool_reuses() {
    let pool = ObjectPool::new(String::new, 10);
    let mut buf1 = pool.get();
    buf1.push_str("Hello");
    assert_eq!(*buf1, "Hello");
    buf1.clear(); // the seed resets by hand before Put
    drop(buf1);
    let mut buf2 = pool.get();
    buf2.push_str("World");
    assert_eq!(*buf2, "World");
    assert_eq!(pool.stats().created, 1);
    assert_eq!(pool.stats().reused, 1);
}

#[test]
fn seed_connection_pool_resets_on_return() {
    struct Conn {
        in_use: bool,
    }
    let resets = Arc::new(AtomicUsize::new(0));
    let r = resets.clone();
    let pool = ObjectPool::with_reset(
        || Conn { in_use: false },
        move |c: &mut Conn| {
            r.fetch_add(1, Ordering::SeqCst);
            c.in_use = false;
        },
        5,
    );
    let mut c1 = pool.get();
    c1.in_use = true;
    drop(c1);
    let c2 = pool.get();
    assert!(!c2.in_use, "reset ran on return");
    assert_eq!(resets.load(Ordering::SeqCst), 1);
    assert_eq!(pool.stats().created, 1);
}

#[test]
fn try_get_never_calls_the_factory() {
    let (pool, alive) = tracked_pool(4);
    assert!(pool.try_get().is_none());
    assert_eq!(pool.stats().created, 0);
    drop(pool.get());
    assert_eq!(pool.try_get().map(|o| o.id), Some(0));
    drop(pool);
    assert_eq!(
        alive.load(Ordering::SeqCst),
        0,
        "dropping the pool drops idle objects"
    );
}

#[test]
fn idle_objects_stay_within_the_bound() {
    let (pool, alive) = tracked_pool(3);
    let many: Vec<_> = (0..10).map(|_| pool.get()).collect();
    assert_eq!(alive.load(Ordering::SeqCst), 10);
    drop(many);
    // One in this thread's slot, three in the shared ring, the rest dropped.
    assert_eq!(pool.shared_idle(), 3);
    assert_eq!(alive.load(Ordering::SeqCst), 4);
    let s = pool.stats();
    assert_eq!((s.created, s.dropped_full), (10, 6));
    assert!(pool.capacity() + pool.slots() >= 4);
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

#[test]
fn detach_keeps_the_object() {
    let (pool, alive) = tracked_pool(2);
    let kept = pool.get().detach();
    assert!(pool.try_get().is_none());
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 1);
    drop(kept);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

#[test]
fn validation_refuses_objects() {
    let pool = ObjectPool::builder(Vec::<u8>::new, 4)
        .validate(|v| v.capacity() <= 16)
        .build();
    let mut big = pool.get();
    big.reserve(1024);
    drop(big); // too big to keep
    assert_eq!(pool.stats().discarded, 1);
    assert!(pool.try_get().is_none());
    drop(pool.get());
    assert!(pool.try_get().is_some());
}

#[test]
fn panicking_factory_leaves_the_pool_usable() {
    let fail = Arc::new(AtomicBool::new(false));
    let f = fail.clone();
    let pool = ObjectPool::new(
        move || {
            if f.load(Ordering::SeqCst) {
                panic!("factory bomb");
            }
            7u32
        },
        4,
    );
    let a = pool.get();
    let b = pool.get();
    drop(a);
    fail.store(true, Ordering::SeqCst);
    let held = pool.get(); // the cached one: no factory call
    assert!(catch_unwind(AssertUnwindSafe(|| pool.get())).is_err());
    drop(held);
    drop(b);
    assert_eq!(pool.stats().created, 2);
    // Both objects are still there.
    let x = pool.try_get().expect("first");
    let y = pool.try_get().expect("second");
    assert_eq!((*x, *y), (7, 7));
}

#[test]
fn panicking_reset_discards_only_that_object() {
    let pool = ObjectPool::with_reset(
        || 0u32,
        |v: &mut u32| {
            if *v == 13 {
                panic!("reset bomb");
            }
            *v = 0;
        },
        4,
    );
    let keep = pool.get();
    let mut bad = pool.get();
    *bad = 13;
    assert!(catch_unwind(AssertUnwindSafe(|| drop(bad))).is_err());
    drop(keep);
    assert_eq!(pool.stats().discarded, 1);
    assert!(pool.try_get().is_some(), "the other object survived");
    drop(pool.get());
}

#[test]
fn thread_exit_returns_its_cached_object() {
    let _w = Watchdog::new("thread_exit_returns_its_cached_object", 60);
    let (pool, alive) = tracked_pool(4);
    thread::scope(|s| {
        // Cached in that thread's slot, then the thread exits. An explicit `join` waits for
        // the thread's thread-local destructors (a scope's implicit join does not).
        s.spawn(|| drop(pool.get())).join().unwrap();
    });
    assert_eq!(pool.shared_idle(), 1);
    assert_eq!(pool.try_get().map(|o| o.id), Some(0));
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

/// Many threads, several pools each, objects also crossing threads: every object created is
/// dropped exactly once by the end, and the counters add up.
#[test]
fn stress_every_object_dropped_once() {
    let _w = Watchdog::new("stress_every_object_dropped_once", 120);
    let pools: Vec<_> = (0..3).map(|i| tracked_pool(2 + i)).collect();
    let (tx, rx) = lockgate::channel::bounded(64);
    thread::scope(|s| {
        let workers: Vec<_> = (0..8usize)
            .map(|t| {
                let (pools, tx) = (&pools, tx.clone());
                s.spawn(move || {
                    for r in 0..5_000usize {
                        let (pool, _) = &pools[(t + r) % pools.len()];
                        let a = pool.get();
                        if r % 3 == 0 {
                            let b = pool.get();
                            drop(a);
                            drop(b);
                        } else if r % 101 == 0 {
                            // Hand a detached object to another thread to drop.
                            tx.send(a.detach()).unwrap();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let sink = s.spawn(move || {
            for obj in rx.iter() {
                drop(obj);
            }
        });
        // Explicit joins wait for each thread's exit flush (a scope's implicit join does not),
        // so no flush still holds a pool when it is dropped below.
        for w in workers {
            w.join().unwrap();
        }
        sink.join().unwrap();
    });
    for (pool, alive) in pools {
        let s = pool.stats();
        assert!(s.created >= 1 && s.reused > 0);
        assert!(pool.shared_idle() <= pool.capacity());
        drop(pool);
        assert_eq!(
            alive.load(Ordering::SeqCst),
            0,
            "an object leaked or dropped twice"
        );
    }
}

/// Threads come and go (and reuse each other's slots); every cached object flows back, and
/// nothing is lost or duplicated.
#[test]
fn thread_churn_conserves_objects() {
    let _w = Watchdog::new("thread_churn_conserves_objects", 120);
    let (pool, alive) = tracked_pool(64);
    for _ in 0..50 {
        thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let a = pool.get();
                        let b = pool.get();
                        drop((a, b));
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap(); // waits for the exit flush too
            }
        });
        // Every thread exited: all idle objects are in the shared ring.
        let live = alive.load(Ordering::SeqCst);
        assert_eq!(pool.shared_idle(), live);
    }
    assert!(pool.stats().reused > 0);
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

/// More threads at once than the pool has slots: the threads without one use the shared ring
/// and the shared counters, and nothing is lost.
#[test]
fn threads_beyond_the_slots_use_the_shared_ring() {
    let _w = Watchdog::new("threads_beyond_the_slots_use_the_shared_ring", 60);
    let (pool, alive) = tracked_pool(1024);
    let n = pool.slots() + 8;
    let all_in = std::sync::Barrier::new(n);
    thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    let o = pool.get(); // every thread holds its thread index meanwhile
                    all_in.wait();
                    drop(o);
                    drop(pool.get());
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    let st = pool.stats();
    assert_eq!(st.created as usize, alive.load(Ordering::SeqCst));
    assert_eq!(
        pool.shared_idle(),
        alive.load(Ordering::SeqCst),
        "all flushed or shared"
    );
    assert!(st.created as usize >= n, "each thread held one at once");
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

/// A `Pooled` moved to another thread goes back through that thread.
#[test]
fn pooled_dropped_on_another_thread() {
    let (pool, alive) = tracked_pool(4);
    let o = pool.get();
    thread::scope(|s| {
        s.spawn(move || drop(o)).join().unwrap();
    });
    assert_eq!(pool.shared_idle(), 1, "flushed by that thread's exit");
    drop(pool);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

/// A reset that panics while the thread is already unwinding is swallowed (a second panic
/// would abort): the object is discarded, the first panic continues.
#[test]
fn panicking_reset_during_unwinding_is_contained() {
    let pool = ObjectPool::with_reset(|| 0u32, |_: &mut u32| panic!("reset bomb"), 4);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let _o = pool.get();
        panic!("first");
    }));
    let msg = *r.unwrap_err().downcast::<&str>().unwrap();
    assert_eq!(msg, "first");
    assert_eq!(pool.stats().discarded, 1);
}
