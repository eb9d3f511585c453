//! The object pool: gets and puts on two threads through their slots and the shared ring
//! conserve objects; a thread's exit moves its cached object to the shared ring.
#![cfg(lockgate_loom)]

use lockgate::pool::ObjectPool;
use lockgate_loom_tests::model;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn pool(capacity: usize) -> (Arc<ObjectPool<Tracked>>, Arc<AtomicUsize>) {
    let alive = Arc::new(AtomicUsize::new(0));
    let a = alive.clone();
    let pool = ObjectPool::new(
        move || {
            a.fetch_add(1, Ordering::Relaxed);
            Tracked(a.clone())
        },
        capacity,
    );
    (Arc::new(pool), alive)
}

fn two_gets_two_puts(pool: &ObjectPool<Tracked>) {
    let a = pool.get();
    let b = pool.get();
    drop(a); // into this thread's slot
    drop(b); // into the shared ring, or dropped if it is full
}

/// Two threads each take two objects and give them back: the shared ring (capacity 1) is
/// raced for; afterwards every live object is idle in the pool, and dropping the pool drops
/// them all.
#[test]
fn gets_and_puts_across_two_threads() {
    model(3, || {
        let (pool, alive) = pool(1);
        let t = {
            let pool = pool.clone();
            thread::spawn(move || {
                two_gets_two_puts(&pool);
                // What the thread's exit does (loom runs no thread-local destructors in a model).
                lockgate::pool::flush_thread_caches();
            })
        };
        two_gets_two_puts(&pool);
        t.join().unwrap();
        let s = pool.stats();
        assert_eq!(
            s.created - s.dropped_full,
            alive.load(Ordering::Relaxed) as u64
        );
        assert!(pool.shared_idle() <= 1);
        drop(pool);
        let left = alive.load(Ordering::Relaxed);
        assert_eq!(left, 0, "objects alive after the pool dropped");
    });
}

/// A thread caches an object in its slot and exits while another thread uses the pool: its
/// exit moves the object to the shared ring (or the other thread already took it from there).
#[test]
fn thread_exit_returns_cached_object() {
    model(3, || {
        let (pool, alive) = pool(2);
        let t = {
            let pool = pool.clone();
            thread::spawn(move || {
                drop(pool.get());
                lockgate::pool::flush_thread_caches(); // the exit path, run explicitly
            })
        };
        drop(pool.get()); // ours stays in our slot
        t.join().unwrap();
        let alive_now = alive.load(Ordering::Relaxed);
        assert_eq!(
            pool.shared_idle(),
            alive_now - 1,
            "a flushed object went missing"
        );
        drop(pool);
        assert_eq!(alive.load(Ordering::Relaxed), 0);
    });
}
