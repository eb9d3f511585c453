//! A counting global allocator proves that the fast paths allocate nothing: RingQueue push and
//! pop, channel send and recv (buffered), and a blocking recv that parks and is woken.

mod common;

use common::Watchdog;
use lockgate::channel::bounded;
use lockgate::queue::RingQueue;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::thread;
use std::time::Duration;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`, only counting calls on the current thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded caller contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded caller contract.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while running `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(|c| c.get());
    f();
    ALLOCATIONS.with(|c| c.get()) - before
}

#[test]
fn ring_queue_push_pop_allocate_nothing() {
    let q = RingQueue::new(64);
    let n = allocations(|| {
        for round in 0..1000u64 {
            for i in 0..64 {
                q.push(round + i).unwrap();
            }
            assert!(q.push(0).is_err());
            assert!(q.force_push(1).is_some());
            while q.pop().is_some() {}
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn channel_send_recv_allocate_nothing() {
    let _dog = Watchdog::new("channel_send_recv_allocate_nothing", 60);
    let (tx, rx) = bounded(16);
    let n = allocations(|| {
        for i in 0..100_000u64 {
            tx.send(i).unwrap();
            assert_eq!(rx.recv(), Ok(i));
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn parked_recv_allocates_nothing() {
    let _dog = Watchdog::new("parked_recv_allocates_nothing", 60);
    let (tx, rx) = bounded(1);
    let (back_tx, back_rx) = bounded(1);
    let peer = thread::spawn(move || {
        for i in 0..200u64 {
            thread::sleep(Duration::from_micros(200));
            tx.send(i).unwrap();
            back_rx.recv().unwrap();
        }
    });
    // Warm up: the first park of a thread may set up its parker.
    assert_eq!(rx.recv(), Ok(0));
    back_tx.send(()).unwrap();
    let n = allocations(|| {
        for i in 1..200u64 {
            assert_eq!(rx.recv(), Ok(i)); // usually parks: the peer sleeps first
            back_tx.send(()).unwrap();
        }
    });
    peer.join().unwrap();
    assert_eq!(n, 0);
}

#[test]
fn rendezvous_hand_off_allocates_nothing() {
    let _dog = Watchdog::new("rendezvous_hand_off_allocates_nothing", 60);
    let (tx, rx) = bounded(0);
    let peer = thread::spawn(move || {
        for i in 0..500u64 {
            tx.send(i).unwrap();
        }
    });
    assert_eq!(rx.recv(), Ok(0));
    let n = allocations(|| {
        for i in 1..500u64 {
            assert_eq!(rx.recv(), Ok(i));
        }
    });
    peer.join().unwrap();
    assert_eq!(n, 0);
}
