//! Interleaved ratio runner: lockgate against its peers, round-robin, for ratios that hold up
//! on a noisy machine.
//!
//! Criterion measures one implementation for seconds, then the next, so a burst of noise (a
//! neighbour on a shared host, a frequency change) lands on one of them and skews the ratio.
//! This runner instead does `LOCKGATE_ROUNDS` rounds (default 7); in each round every
//! implementation moves the same number of items once, in turn. It reports each
//! implementation's median throughput and the median of the per-round ratios, with their
//! range, as a markdown table. Same shapes, pinning and timing as the criterion benches.
//!
//! `cargo bench -p lockgate-benches --bench ratios` (`LOCKGATE_FILTER=channel/cap1024` for a
//! subset, `LOCKGATE_ITEMS` for the items per transfer, default 2,000,000).

use lockgate_benches::{
    chan_transfer, queue_transfer, shapes, Chan, Crossbeam, Flume, Kanal, Lockgate, Queue, StdSync,
};
use std::time::Duration;

type Run = Box<dyn Fn(usize, usize, usize, u64) -> Duration>;
/// An implementation under test: its name, how to run one transfer, and whether it allows
/// several consumers.
type Impl = (&'static str, Run, bool);

fn queue<Q: Queue + 'static>() -> Run {
    Box::new(|cap, p, c, n| queue_transfer::<Q>(cap, p, c, n))
}

fn chan<C: Chan + 'static>() -> Run {
    Box::new(|cap, p, c, n| chan_transfer::<C>(cap, p, c, n))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // Command-line arguments belong to criterion (`cargo bench` passes them to every bench);
    // `LOCKGATE_FILTER` picks groups by substring.
    let filter: Option<String> = std::env::var("LOCKGATE_FILTER").ok();
    let rounds = env("LOCKGATE_ROUNDS", 7) as usize;
    let items = env("LOCKGATE_ITEMS", 2_000_000);
    let kinds: Vec<(&str, Vec<Impl>)> = vec![
        (
            "queue",
            vec![
                (
                    "lockgate RingQueue",
                    queue::<lockgate::queue::RingQueue<u64>>(),
                    true,
                ),
                (
                    "lockgate ScqQueue",
                    queue::<lockgate::queue::ScqQueue<u64>>(),
                    true,
                ),
                (
                    "crossbeam ArrayQueue",
                    queue::<crossbeam_queue::ArrayQueue<u64>>(),
                    true,
                ),
            ],
        ),
        (
            "channel",
            vec![
                ("lockgate", chan::<Lockgate>(), true),
                ("crossbeam-channel", chan::<Crossbeam>(), true),
                ("flume", chan::<Flume>(), true),
                ("kanal", chan::<Kanal>(), true),
                ("std sync_channel", chan::<StdSync>(), false),
            ],
        ),
    ];
    println!("| group | implementation | Mitems/s (median of {rounds}) | lockgate ÷ peer, median (range) |");
    println!("|---|---|---:|---:|");
    for (kind, impls) in &kinds {
        for cap in [1024usize, 1] {
            // Capacity 1 moves every item through a hand-off: fewer items keep rounds short.
            let n = if cap == 1 { items / 10 } else { items };
            for (p, c) in shapes() {
                let group = format!("{kind}/cap{cap}/{p}p{c}c");
                if filter.as_ref().is_some_and(|f| !group.contains(f.as_str())) {
                    continue;
                }
                let active: Vec<_> = impls
                    .iter()
                    .filter(|(_, _, mpmc)| *mpmc || c == 1)
                    .collect();
                let mut rates = vec![Vec::new(); active.len()];
                for _ in 0..rounds {
                    for (i, (_, run, _)) in active.iter().enumerate() {
                        let d = run(cap, p, c, n);
                        rates[i].push(n as f64 / d.as_secs_f64() / 1e6);
                    }
                }
                let ours = rates[0].clone();
                for (i, (name, _, _)) in active.iter().enumerate() {
                    let mut r = rates[i].clone();
                    let med = median(&mut r);
                    if i == 0 {
                        println!("| {group} | {name} | {med:.2} | |");
                        continue;
                    }
                    let mut ratios: Vec<f64> =
                        ours.iter().zip(&rates[i]).map(|(a, b)| a / b).collect();
                    let lo = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
                    let hi = ratios.iter().cloned().fold(0.0, f64::max);
                    let m = median(&mut ratios);
                    println!("| {group} | {name} | {med:.2} | {m:.2}x ({lo:.2}-{hi:.2}) |");
                }
            }
        }
    }
}
