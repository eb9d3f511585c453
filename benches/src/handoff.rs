//! One-shot hand-offs: lockgate's `Promise`/`Resolver` against a crossbeam-channel
//! `bounded(1)` and the `oneshot` crate, and `lockgate::spawn(..).get()` against
//! `std::thread::spawn(..).join()`.
//!
//! Shapes (every peer pre-makes its pairs outside the timing, the same way):
//! - `stream`: one thread completes `n` one-shots in order while another reads them in order
//!   (the reader blocks whenever it gets ahead);
//! - `pingpong`: a request one-shot one way, a reply one-shot back, `n` round trips;
//! - `local`: make, complete and read a one-shot on one thread (the already-resolved path).

use std::time::{Duration, Instant};

use crate::timed_threads;

/// A one-shot channel under test.
pub trait Oneshot: 'static {
    type Tx: Send;
    type Rx: Send;
    fn pair() -> (Self::Tx, Self::Rx);
    fn send(tx: Self::Tx, v: u64);
    fn recv(rx: Self::Rx) -> u64;
}

/// lockgate's `Promise::pending`.
pub struct LockgatePromise;

impl Oneshot for LockgatePromise {
    type Tx = lockgate::future::Resolver<u64>;
    type Rx = lockgate::future::Promise<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        lockgate::future::Promise::pending()
    }
    fn send(tx: Self::Tx, v: u64) {
        tx.resolve(v);
    }
    fn recv(rx: Self::Rx) -> u64 {
        rx.get().unwrap()
    }
}

/// crossbeam-channel `bounded(1)`, one per hand-off.
pub struct CrossbeamOne;

impl Oneshot for CrossbeamOne {
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(1)
    }
    fn send(tx: Self::Tx, v: u64) {
        tx.send(v).unwrap();
    }
    fn recv(rx: Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

/// The `oneshot` crate.
pub struct OneshotCrate;

impl Oneshot for OneshotCrate {
    type Tx = oneshot::Sender<u64>;
    type Rx = oneshot::Receiver<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        oneshot::channel()
    }
    fn send(tx: Self::Tx, v: u64) {
        tx.send(v).unwrap();
    }
    fn recv(rx: Self::Rx) -> u64 {
        rx.recv().unwrap()
    }
}

/// `n` pre-made pairs, split into their ends.
fn pairs<O: Oneshot>(n: u64) -> (Vec<O::Tx>, Vec<O::Rx>) {
    (0..n).map(|_| O::pair()).unzip()
}

/// `stream`: one thread completes `n` one-shots in order, another reads them in order.
pub fn stream<O: Oneshot>(n: u64) -> Duration {
    let (txs, rxs) = pairs::<O>(n);
    let ends = std::sync::Mutex::new((Some(txs), Some(rxs)));
    timed_threads(2, |i| {
        if i == 0 {
            let txs = ends.lock().unwrap().0.take().unwrap();
            for (k, tx) in txs.into_iter().enumerate() {
                O::send(tx, k as u64);
            }
        } else {
            let rxs = ends.lock().unwrap().1.take().unwrap();
            for (k, rx) in rxs.into_iter().enumerate() {
                assert_eq!(O::recv(rx), k as u64);
            }
        }
    })
}

/// `pingpong`: `n` round trips, a request one-shot each way.
pub fn pingpong<O: Oneshot>(n: u64) -> Duration {
    let (req_tx, req_rx) = pairs::<O>(n);
    let (rep_tx, rep_rx) = pairs::<O>(n);
    let ends = std::sync::Mutex::new((Some((req_tx, rep_rx)), Some((req_rx, rep_tx))));
    timed_threads(2, |i| {
        if i == 0 {
            let (req_tx, rep_rx) = ends.lock().unwrap().0.take().unwrap();
            for (k, (tx, rx)) in req_tx.into_iter().zip(rep_rx).enumerate() {
                O::send(tx, k as u64);
                assert_eq!(O::recv(rx), k as u64 + 1);
            }
        } else {
            let (req_rx, rep_tx) = ends.lock().unwrap().1.take().unwrap();
            for (rx, tx) in req_rx.into_iter().zip(rep_tx) {
                let v = O::recv(rx);
                O::send(tx, v + 1);
            }
        }
    })
}

/// `local`: make, complete and read `n` one-shots on one thread.
pub fn local<O: Oneshot>(n: u64) -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for k in 0..n {
        let (tx, rx) = O::pair();
        O::send(tx, k);
        sum = sum.wrapping_add(O::recv(rx));
    }
    std::hint::black_box(sum);
    start.elapsed()
}

/// A way to run a closure elsewhere and wait for its result.
pub trait Spawner: 'static {
    fn run(v: u64) -> u64;
}

/// `lockgate::spawn(..).get()` on the default pool.
pub struct LockgateSpawn;

impl Spawner for LockgateSpawn {
    fn run(v: u64) -> u64 {
        lockgate::spawn(move || v + 1).get().unwrap()
    }
}

/// `std::thread::spawn(..).join()`: a thread per call.
pub struct ThreadSpawn;

impl Spawner for ThreadSpawn {
    fn run(v: u64) -> u64 {
        std::thread::spawn(move || v + 1).join().unwrap()
    }
}

/// `lockgate::spawn` of a job that spawns a child and waits for it (a nested wait inside the
/// pool: the child is claimed and run by the waiting worker, or by another worker).
pub struct LockgateSpawnNested;

impl Spawner for LockgateSpawnNested {
    fn run(v: u64) -> u64 {
        lockgate::spawn(move || lockgate::spawn(move || v + 1).get().unwrap() + 1)
            .get()
            .unwrap()
    }
}

/// The same shape with a thread per call: a thread that spawns and joins another.
pub struct ThreadSpawnNested;

impl Spawner for ThreadSpawnNested {
    fn run(v: u64) -> u64 {
        std::thread::spawn(move || std::thread::spawn(move || v + 1).join().unwrap() + 1)
            .join()
            .unwrap()
    }
}

/// `n` sequential round trips: run a tiny closure elsewhere and wait for it.
pub fn spawn_get<S: Spawner>(n: u64) -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for k in 0..n {
        sum = sum.wrapping_add(S::run(k));
    }
    std::hint::black_box(sum);
    start.elapsed()
}
