//! Ping-pong latency through two capacity-1 channels between two pinned threads, lockgate
//! against crossbeam-channel: criterion measures the mean round trip, then a direct run of
//! `LOCKGATE_LATENCY_ROUNDS` (default 200 000) round trips per channel prints p50, p99 and
//! p99.9, since low-latency users judge by the tail.

use criterion::{criterion_group, BenchmarkId, Criterion};
use lockgate_benches::timed_threads;
use std::time::{Duration, Instant};

/// One side of a ping-pong: the two operations it needs.
trait PingPong: Sized + Send + Sync {
    fn pair() -> (Self, Self);
    fn send(&self, v: u64);
    fn recv(&self) -> u64;
}

struct Lg(
    lockgate::channel::Sender<u64>,
    lockgate::channel::Receiver<u64>,
);
impl PingPong for Lg {
    fn pair() -> (Self, Self) {
        let (a_tx, a_rx) = lockgate::channel::bounded(1);
        let (b_tx, b_rx) = lockgate::channel::bounded(1);
        (Lg(a_tx, b_rx), Lg(b_tx, a_rx))
    }
    fn send(&self, v: u64) {
        self.0.send(v).unwrap()
    }
    fn recv(&self) -> u64 {
        self.1.recv().unwrap()
    }
}

struct Cb(
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
);
impl PingPong for Cb {
    fn pair() -> (Self, Self) {
        let (a_tx, a_rx) = crossbeam_channel::bounded(1);
        let (b_tx, b_rx) = crossbeam_channel::bounded(1);
        (Cb(a_tx, b_rx), Cb(b_tx, a_rx))
    }
    fn send(&self, v: u64) {
        self.0.send(v).unwrap()
    }
    fn recv(&self) -> u64 {
        self.1.recv().unwrap()
    }
}

/// `rounds` round trips; returns each round trip's time if `record`.
fn ping_pong<P: PingPong>(rounds: u64, record: bool) -> (Duration, Vec<u64>) {
    let (ping, pong) = P::pair();
    let samples = std::sync::Mutex::new(Vec::new());
    let d = timed_threads(2, |i| {
        if i == 0 {
            let mut local = Vec::with_capacity(if record { rounds as usize } else { 0 });
            for v in 0..rounds {
                let t = Instant::now();
                ping.send(v);
                assert_eq!(ping.recv(), v);
                if record {
                    local.push(t.elapsed().as_nanos() as u64);
                }
            }
            *samples.lock().unwrap() = local;
        } else {
            for _ in 0..rounds {
                let v = pong.recv();
                pong.send(v);
            }
        }
    });
    (d, samples.into_inner().unwrap())
}

fn percentiles<P: PingPong>(name: &str, rounds: u64) {
    let _ = ping_pong::<P>(rounds / 10, false); // warm up
    let (_, mut s) = ping_pong::<P>(rounds, true);
    s.sort_unstable();
    let at = |q: f64| s[((s.len() as f64 * q) as usize).min(s.len() - 1)];
    println!(
        "latency/{name}: round trip p50 {} ns, p99 {} ns, p99.9 {} ns ({rounds} rounds)",
        at(0.50),
        at(0.99),
        at(0.999)
    );
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("latency/ping-pong cap1");
    g.bench_function(BenchmarkId::from_parameter("lockgate"), |b| {
        b.iter_custom(|iters| ping_pong::<Lg>(iters, false).0)
    });
    g.bench_function(BenchmarkId::from_parameter("crossbeam-channel"), |b| {
        b.iter_custom(|iters| ping_pong::<Cb>(iters, false).0)
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = lockgate_benches::criterion();
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let rounds = std::env::var("LOCKGATE_LATENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    percentiles::<Lg>("lockgate", rounds);
    percentiles::<Cb>("crossbeam-channel", rounds);
}
