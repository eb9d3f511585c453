//! The fuzz checkers (fuzz/src/lib.rs) run from `cargo test`: over the committed seed corpus
//! in `fuzz/seeds/`, and over a deterministic batch of generated operation sequences.

mod common;

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checkers;

use std::fs;
use std::path::Path;

/// A small deterministic generator (xorshift), so the batch is the same on every run.
fn inputs(seed: u64, count: usize, len: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut s = seed;
    (0..count).map(move |_| {
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    })
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty seed corpus for {target}");
    files.into_iter().map(|f| fs::read(f).unwrap()).collect()
}

#[test]
fn ring_queue_seed_corpus() {
    for input in seeds("ring_queue") {
        checkers::check_ring_queue(&input);
    }
}

#[test]
fn ring_queue_generated() {
    for input in inputs(0x9E37_79B9_7F4A_7C15, 3000, 200) {
        checkers::check_ring_queue(&input);
    }
}

#[test]
fn channel_seed_corpus() {
    for input in seeds("channel") {
        checkers::check_channel(&input);
    }
}

#[test]
fn channel_generated() {
    for input in inputs(0xD1B5_4A32_D192_ED03, 3000, 200) {
        checkers::check_channel(&input);
    }
}

#[test]
fn ring_queue_threaded_seed_corpus() {
    let _dog = common::Watchdog::new("ring_queue_threaded_seed_corpus", 120);
    for input in seeds("ring_queue_threaded") {
        checkers::check_ring_queue_threaded(&input);
    }
}

#[test]
fn semaphore_seed_corpus() {
    for input in seeds("semaphore") {
        checkers::check_semaphore(&input);
    }
}

#[test]
fn semaphore_generated() {
    for input in inputs(0x2545_F491_4F6C_DD1D, 3000, 200) {
        checkers::check_semaphore(&input);
    }
}

#[test]
fn counts_seed_corpus() {
    for input in seeds("counts") {
        checkers::check_counts(&input);
    }
}

#[test]
fn counts_generated() {
    for input in inputs(0x9E6C_63D0_676A_9A99, 3000, 200) {
        checkers::check_counts(&input);
    }
}

#[test]
fn pool_seed_corpus() {
    for input in seeds("pool") {
        checkers::check_pool(&input);
    }
}

#[test]
fn pool_generated() {
    for input in inputs(0x6A09_E667_F3BC_C909, 3000, 200) {
        checkers::check_pool(&input);
    }
}

#[test]
fn pubsub_seed_corpus() {
    for input in seeds("pubsub") {
        checkers::check_pubsub(&input);
    }
}

#[test]
fn pubsub_generated() {
    for input in inputs(0xBB67_AE85_84CA_A73B, 3000, 200) {
        checkers::check_pubsub(&input);
    }
}

#[test]
fn context_seed_corpus() {
    for input in seeds("context") {
        checkers::check_context(&input);
    }
}

#[test]
fn context_generated() {
    for input in inputs(0x3C6E_F372_FE94_F82B, 3000, 120) {
        checkers::check_context(&input);
    }
}

#[test]
fn select_seed_corpus() {
    for input in seeds("select") {
        checkers::check_select(&input);
    }
}

#[test]
fn select_generated() {
    for input in inputs(0x5e1ec7, 3_000, 64) {
        checkers::check_select(&input);
    }
}

#[test]
fn promise_seed_corpus() {
    for input in seeds("promise") {
        checkers::check_promise(&input);
    }
}

#[test]
fn promise_generated() {
    for input in inputs(0xA54F_F53A_5F1D_36F1, 3000, 160) {
        checkers::check_promise(&input);
    }
}

#[test]
fn workers_seed_corpus() {
    for input in seeds("workers") {
        checkers::check_workers(&input);
    }
}

#[test]
fn workers_generated() {
    for input in inputs(0x510E_527F_ADE6_82D1, 300, 40) {
        checkers::check_workers(&input);
    }
}

#[test]
fn group_seed_corpus() {
    for input in seeds("workers") {
        checkers::check_group(&input);
    }
}

#[test]
fn group_generated() {
    for input in inputs(0x3C6E_F372_FE94_F82B, 300, 60) {
        checkers::check_group(&input);
    }
}

#[test]
fn stealing_seed_corpus() {
    for input in seeds("workers") {
        checkers::check_stealing(&input);
    }
}

#[test]
fn stealing_generated() {
    for input in inputs(0x9B05_688C_2B3E_6C1F, 300, 40) {
        checkers::check_stealing(&input);
    }
}

#[test]
fn pipeline_seed_corpus() {
    for input in seeds("pipeline") {
        checkers::check_pipeline(&input);
    }
}

#[test]
fn pipeline_generated() {
    for input in inputs(0x9B05_688C_2B3E_6C1F, 300, 60) {
        checkers::check_pipeline(&input);
    }
}
