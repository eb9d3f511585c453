//! Loom models of lockgate live in `tests/`; this crate only carries the shared helpers.
//!
//! Run with `RUSTFLAGS="--cfg lockgate_loom --cfg crossbeam_loom --cfg crossbeam_sanitize" cargo test --release`
//! (the last two put crossbeam-epoch, used by the pub-sub, on loom too, and make it collect
//! garbage within a small model).

/// Checks `f` under loom with preemption bound `bound`: 3 for the cheap models, 2 for the rest,
/// so the suite stays within minutes on two cores. `LOOM_MAX_PREEMPTIONS`, when set,
/// overrides it for every model. Prints how many interleavings were explored, so a model that
/// explores suspiciously few shows it.
#[cfg(lockgate_loom)]
pub fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let mut b = loom::model::Builder::new();
    // The rings wait for an operation of the other side that is in flight (a value being
    // copied in or out) by spinning, which under loom is a yield per turn; give such paths
    // room.
    b.max_branches = b.max_branches.max(20_000);
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(bound);
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let bound = b.preemption_bound;
    b.check(move || {
        r.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom: {} interleavings explored (preemption bound {:?})",
        runs.load(Ordering::Relaxed),
        bound
    );
}
