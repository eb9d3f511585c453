//! The object pool with 5 threads over 4 per-thread slots (the fifth thread uses only the
//! shared ring): gets and puts conserve objects, and each thread's exit flush (run by
//! shuttle's thread-local destructors, as std runs them; loom needs the flush called by hand)
//! leaves every live object idle in the shared ring.
#![cfg(lockgate_shuttle)]

use lockgate::pool::ObjectPool;
use lockgate_shuttle_tests::check;
use shuttle::sync::atomic::{AtomicUsize, Ordering};
use shuttle::thread;
use std::sync::Arc;

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn gets_and_puts_then_exit(threads: usize, capacity: usize) {
    let alive = Arc::new(AtomicUsize::new(0));
    let a = alive.clone();
    let pool = Arc::new(ObjectPool::new(
        move || {
            a.fetch_add(1, Ordering::SeqCst);
            Tracked(a.clone())
        },
        capacity,
    ));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let pool = pool.clone();
            thread::spawn(move || {
                let x = pool.get();
                let y = pool.get();
                drop(x); // into this thread's slot (if it has one)
                drop(y); // into the shared ring, or dropped if it is full
                drop(pool.get());
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let s = pool.stats();
    let alive_now = alive.load(Ordering::SeqCst);
    assert_eq!(s.created - s.dropped_full, alive_now as u64, "{s:?}");
    // Every thread that used the pool has exited and flushed its slot.
    assert_eq!(
        pool.shared_idle(),
        alive_now,
        "an object stuck in an exited thread's slot"
    );
    assert!(alive_now <= capacity);
    drop(pool);
    assert_eq!(
        alive.load(Ordering::SeqCst),
        0,
        "objects alive after the pool"
    );
}

#[test]
fn five_threads_exit_flushes_conserve_objects() {
    check("pool 5 threads, ring of 2", 10, 20_000, || {
        gets_and_puts_then_exit(5, 2)
    });
}

#[test]
fn six_threads_ring_of_4() {
    check("pool 6 threads, ring of 4", 10, 20_000, || {
        gets_and_puts_then_exit(6, 4)
    });
}
