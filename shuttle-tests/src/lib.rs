//! Shuttle models of lockgate live in `tests/`; this crate only carries the shared harness.
//!
//! Run with `RUSTFLAGS="--cfg lockgate_shuttle" cargo test --release`. Each model runs a
//! bounded number of schedules under PCT (probabilistic concurrency testing: random thread
//! priorities with a few random priority changes, which finds any bug that needs at most
//! `depth - 1` such changes with a known probability per schedule) and as many under
//! shuttle's uniformly random scheduler. Shuttle's schedules are sampled, not enumerated, so
//! models can have 4-8 threads and need many preemptions, which loom cannot afford; in
//! return a pass is evidence, not proof.
//!
//! Every model starts its schedulers from a fixed point derived from its name, so a run is
//! repeatable. Two variables widen a campaign:
//!
//! - `LOCKGATE_SHUTTLE_ITERS=N`: every scheduler of every model runs `N` schedules;
//! - `LOCKGATE_SHUTTLE_VARIANT=K` (a number): mixed into every starting point, so each `K`
//!   walks different schedules.
//!
//! On a failure shuttle prints the failing schedule (to replay it with `shuttle::replay`), and
//! the harness says after how many schedules and seconds it came.

#![cfg(lockgate_shuttle)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use shuttle::scheduler::{PctScheduler, RandomScheduler, Scheduler};
use shuttle::{Config, Runner};

/// How many schedules to run: `LOCKGATE_SHUTTLE_ITERS` when set, else `default`.
pub fn schedules(default: usize) -> usize {
    match std::env::var("LOCKGATE_SHUTTLE_ITERS") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("LOCKGATE_SHUTTLE_ITERS must be a number of schedules"),
        Err(_) => default,
    }
}

/// The scheduler's starting point for model `name` under scheduler `kind`: a hash of both,
/// mixed with `LOCKGATE_SHUTTLE_VARIANT`.
fn start(name: &str, kind: &str) -> u64 {
    let variant: u64 = match std::env::var("LOCKGATE_SHUTTLE_VARIANT") {
        Ok(s) => s
            .trim()
            .parse()
            .expect("LOCKGATE_SHUTTLE_VARIANT must be a number"),
        Err(_) => 0,
    };
    // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([0]).chain(kind.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ variant.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn config() -> Config {
    let mut config = Config::new();
    // lockgate names weaker orderings on purpose (shuttle runs them all as SeqCst; loom checks
    // them), and its globals are dropped at the end of every execution by design.
    config.silence_warnings = true;
    // Room for the crate's frames on each model thread's stack.
    config.stack_size = 0x4_0000;
    config
}

/// Runs `f` for the schedules `scheduler` chooses, reporting the count and time, and on a
/// failure after how many schedules it came.
fn run(
    name: &str,
    what: &str,
    scheduler: impl Scheduler + 'static,
    f: impl Fn() + Send + Sync + 'static,
) {
    struct Report<'a> {
        name: &'a str,
        what: &'a str,
        runs: Arc<AtomicUsize>,
        began: Instant,
    }
    impl Drop for Report<'_> {
        fn drop(&mut self) {
            let (runs, secs) = (self.runs.load(Ordering::Relaxed), self.began.elapsed());
            if std::thread::panicking() {
                eprintln!(
                    "shuttle: {}: FAILED at schedule {runs} of {} after {:.2} s",
                    self.name,
                    self.what,
                    secs.as_secs_f64()
                );
            } else {
                eprintln!(
                    "shuttle: {}: {runs} schedules of {} passed in {:.2} s",
                    self.name,
                    self.what,
                    secs.as_secs_f64()
                );
            }
        }
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let report = Report {
        name,
        what,
        runs: runs.clone(),
        began: Instant::now(),
    };
    let ran = Runner::new(scheduler, config()).run(move || {
        runs.fetch_add(1, Ordering::Relaxed);
        f();
    });
    assert!(ran > 0, "{name}: no schedule ran");
    drop(report);
}

/// Runs `f` under PCT with `depth` (up to `depth - 1` priority changes per schedule) for
/// [`schedules`]`(n)` schedules.
pub fn pct(name: &str, depth: usize, n: usize, f: impl Fn() + Send + Sync + 'static) {
    let n = schedules(n);
    let what = format!("PCT depth {depth}");
    let scheduler = PctScheduler::new_from_seed(start(name, "pct"), depth, n);
    run(name, &what, scheduler, f);
}

/// Runs `f` under the uniformly random scheduler for [`schedules`]`(n)` schedules.
pub fn random(name: &str, n: usize, f: impl Fn() + Send + Sync + 'static) {
    let n = schedules(n);
    let scheduler = RandomScheduler::new_from_seed(start(name, "random"), n);
    run(name, "random", scheduler, f);
}

/// The usual check: [`pct`] with `depth`, then [`random`], `n` schedules each.
pub fn check(name: &str, depth: usize, n: usize, f: impl Fn() + Send + Sync + Clone + 'static) {
    pct(name, depth, n, f.clone());
    random(name, n, f);
}
