//! The cost model: a structure's time per unit on many cores, predicted from its own
//! uncontended time there and the counting build's counts.
//!
//! ```text
//!   ns(k) = ns(1) + A · Δ shared writes + W · Δ unparks
//! ```
//!
//! `Δ` is the count per unit at `k` threads a side minus the count at one: what contention
//! adds. `ns(1)` is the structure's one-thread row of the same 16-core run (an input, not a
//! prediction): copying, allocating, the job's closure, what no count sees.
//!
//! - Shared writes (RMWs and stores on a word another thread wrote last) each move a line
//!   into the writer's cache in exclusive state: about one transfer each, and the writes of
//!   one structure's hot words serialize.
//! - Unparks are futex wake calls on the path of the item (the producer's, the
//!   submitter's), so they add to its time; parks happen on the waiting threads, in
//!   parallel, and are left out.
//!
//! Variants tried on the same counts and held out the same way did no better: the hottest
//! word's transfers alone (median held-out error 70%), with a CAS round per contender (61%),
//! all transfers including reads (61%), failed CAS scaled by contenders (69%); this one
//! gave 58%. `A` and `W` start from the 16-core anchors (a transfer 95-125 ns; a
//! park/unpark pair 2-5 µs) and are fitted by least squares on three rows of the 16-core
//! figures; the other contended rows are predicted (held out).

/// One row of the 16-core figures (`figures/16core-2026-12-04.md`): lockgate's Mops/s and
/// its peer's in the same run, and the median ratio the runner reported.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// The counting report's structure and shape (`structure`, `shape`).
    pub structure: &'static str,
    pub shape: &'static str,
    /// The ratio runner's group.
    pub group: &'static str,
    pub lockgate_mops: f64,
    pub peer: &'static str,
    pub peer_mops: f64,
    pub ratio: f64,
}

/// How the model uses a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// The structure's one-thread row: its `ns(1)`.
    Base,
    /// One of the three rows `A` and `W` are fitted on.
    Fit,
    /// Predicted, and compared.
    HeldOut,
}

/// The rows of the 16-core figures the model uses: per structure, its one-thread row (the
/// base; select, which has none, borrows the bounded channel's, and the barrier's is taken
/// as 0), the three fitted rows (two bound by a hot line, one by wake-ups) and the rest.
#[rustfmt::skip]
pub const ROWS: &[(Row, Use)] = &[
    (row("RingQueue cap1024", "1p1c", "queue/cap1024/1p1c", 29.322, "ArrayQueue", 28.376, 0.84), Use::Base),
    (row("RingQueue cap1024", "2p2c", "queue/cap1024/2p2c", 10.212, "ArrayQueue", 17.552, 0.54), Use::HeldOut),
    (row("RingQueue cap1024", "4p4c", "queue/cap1024/4p4c", 3.893, "ArrayQueue", 6.924, 0.54), Use::HeldOut),
    (row("RingQueue cap1024", "8p8c", "queue/cap1024/8p8c", 3.165, "ArrayQueue", 3.770, 0.77), Use::Fit),
    (row("channel cap1024", "1p1c", "channel/cap1024/1p1c", 12.450, "crossbeam-channel", 7.175, 1.53), Use::Base),
    (row("channel cap1024", "2p2c", "channel/cap1024/2p2c", 9.445, "crossbeam-channel", 10.327, 1.03), Use::HeldOut),
    (row("channel cap1024", "4p4c", "channel/cap1024/4p4c", 4.846, "crossbeam-channel", 4.686, 1.00), Use::Fit),
    (row("channel cap1024", "8p8c", "channel/cap1024/8p8c", 2.918, "crossbeam-channel", 2.994, 0.90), Use::HeldOut),
    (row("channel cap1", "1p1c", "channel/cap1/1p1c", 1.800, "crossbeam-channel", 1.657, 1.07), Use::Base),
    (row("channel cap1", "2p2c", "channel/cap1/2p2c", 1.343, "crossbeam-channel", 1.478, 0.91), Use::HeldOut),
    (row("channel cap1", "4p4c", "channel/cap1/4p4c", 1.319, "crossbeam-channel", 1.502, 0.90), Use::HeldOut),
    (row("channel cap1", "8p8c", "channel/cap1/8p8c", 1.081, "crossbeam-channel", 1.082, 1.00), Use::HeldOut),
    (row("unbounded", "1p1c", "unbounded/1p1c", 7.635, "crossbeam unbounded", 18.413, 0.41), Use::Base),
    (row("unbounded", "2p2c", "unbounded/2p2c", 15.295, "crossbeam unbounded", 19.195, 0.80), Use::HeldOut),
    (row("unbounded", "4p4c", "unbounded/4p4c", 11.679, "crossbeam unbounded", 15.704, 0.79), Use::HeldOut),
    (row("unbounded", "8p8c", "unbounded/8p8c", 9.166, "crossbeam unbounded", 10.139, 0.91), Use::HeldOut),
    (row("select 2ch", "2p1c", "select/2ch", 3.113, "crossbeam select!", 3.516, 0.89), Use::HeldOut),
    (row("semaphore", "1t", "semaphore/1t1p", 41.958, "async-lock", 17.171, 2.44), Use::Base),
    (row("semaphore", "16t", "semaphore/16t8p", 11.685, "async-lock", 2.882, 4.10), Use::HeldOut),
    (row("barrier", "16t", "barrier/16t", 0.035, "std Barrier", 0.022, 1.56), Use::HeldOut),
    (row("pubsub", "1to1", "pubsub/1to1/u64", 2.431, "bus", 2.227, 1.14), Use::Base),
    (row("pubsub", "1to8", "pubsub/1to8/u64", 0.647, "bus", 0.616, 0.87), Use::HeldOut),
    (row("WorkerPool", "1w", "workers/1w", 1.737, "threadpool", 2.536, 0.69), Use::Base),
    (row("WorkerPool", "2w", "workers/2w", 1.350, "threadpool", 1.730, 0.77), Use::HeldOut),
    (row("WorkerPool", "16w", "workers/16w", 0.432, "threadpool", 1.188, 0.34), Use::Fit),
];

const fn row(
    structure: &'static str,
    shape: &'static str,
    group: &'static str,
    lockgate_mops: f64,
    peer: &'static str,
    peer_mops: f64,
    ratio: f64,
) -> Row {
    Row {
        structure,
        shape,
        group,
        lockgate_mops,
        peer,
        peer_mops,
        ratio,
    }
}

/// Counts per unit, the model's inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PerUnit {
    /// RMWs and stores on words another thread wrote last.
    pub shared_writes: f64,
    /// Line transfers in all (shared writes and cross-thread reads).
    pub transfers: f64,
    pub failed_cas: f64,
    pub parks: f64,
    pub unparks: f64,
}

/// The coefficients, in ns.
#[derive(Debug, Clone, Copy)]
pub struct Coeffs {
    /// Per added shared write.
    pub transfer: f64,
    /// Per added unpark on the item's path.
    pub wake: f64,
}

/// What contention adds at `k` over one thread: (Δ shared writes, Δ unparks), never
/// negative.
pub fn delta(at_k: &PerUnit, at_1: &PerUnit) -> (f64, f64) {
    (
        (at_k.shared_writes - at_1.shared_writes).max(0.0),
        (at_k.unparks - at_1.unparks).max(0.0),
    )
}

impl Coeffs {
    /// The anchors: 110 ns a transfer, 1.75 µs a wake (half a 3.5 µs park/unpark pair).
    pub const ANCHORS: Coeffs = Coeffs {
        transfer: 110.0,
        wake: 1750.0,
    };

    /// Predicted ns per unit: `base_ns` (the one-thread row) plus what contention adds.
    pub fn ns(&self, base_ns: f64, d: (f64, f64)) -> f64 {
        base_ns + self.transfer * d.0 + self.wake * d.1
    }
}

/// Fits both coefficients by least squares on `((Δ shared writes, Δ unparks), measured ns −
/// base ns)`; keeps the anchors if the samples cannot tell them apart or give a negative cost.
pub fn fit(samples: &[((f64, f64), f64)]) -> Coeffs {
    let (mut hh, mut hu, mut uu, mut hy, mut uy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for ((h, u), y) in samples {
        hh += h * h;
        hu += h * u;
        uu += u * u;
        hy += h * y;
        uy += u * y;
    }
    let det = hh * uu - hu * hu;
    if det.abs() < 1e-9 {
        return Coeffs::ANCHORS;
    }
    let transfer = (hy * uu - uy * hu) / det;
    let wake = (hh * uy - hu * hy) / det;
    if transfer <= 0.0 || wake <= 0.0 {
        return Coeffs::ANCHORS;
    }
    Coeffs { transfer, wake }
}

/// The base row of `structure` (select borrows the bounded channel's): its shape and ns.
pub fn base_of(structure: &str) -> Option<(&'static str, f64)> {
    let st = if structure == "select 2ch" {
        "channel cap1024"
    } else {
        structure
    };
    ROWS.iter()
        .find(|(r, u)| *u == Use::Base && r.structure == st)
        .map(|(r, _)| (r.shape, 1000.0 / r.lockgate_mops))
}
