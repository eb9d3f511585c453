//! The cost model: time per unit on many cores predicted from the counting build's counts.
//!
//! ```text
//!   ns per unit = C + A · (transfers of the hottest call site + failed CAS) + W · unparks
//! ```
//!
//! Why this shape: transfers of different lines proceed in parallel on many cores, those of
//! one line serialize, so the hottest line bounds throughput (its call site stands for it);
//! a failed CAS is one more transfer of that line that achieves nothing. Parks happen on the
//! waiting threads, in parallel; unparks are futex wake calls made on the path of the item
//! (the submitter, the producer), so they serialize with it. `C` is what a unit costs with
//! no contention at all (the copy, an allocation, the job's closure). The coefficients
//! start from the 16-core anchors (a transfer 95-125 ns; a park/unpark pair 2-5 µs) and are
//! fitted by least squares on three rows of the 16-core figures; every other row is
//! predicted (held out).

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

/// The rows the model is checked against, from the 16-core figures; `true` marks the three it
/// is fitted on: one bound by a hot line, one by wake-ups, one by neither.
#[rustfmt::skip]
pub const ROWS: &[(Row, bool)] = &[
    (row("RingQueue cap1024", "1p1c", "queue/cap1024/1p1c", 29.322, "ArrayQueue", 28.376, 0.84), false),
    (row("RingQueue cap1024", "2p2c", "queue/cap1024/2p2c", 10.212, "ArrayQueue", 17.552, 0.54), false),
    (row("RingQueue cap1024", "4p4c", "queue/cap1024/4p4c", 3.893, "ArrayQueue", 6.924, 0.54), false),
    (row("RingQueue cap1024", "8p8c", "queue/cap1024/8p8c", 3.165, "ArrayQueue", 3.770, 0.77), true),
    (row("channel cap1024", "1p1c", "channel/cap1024/1p1c", 12.450, "crossbeam-channel", 7.175, 1.53), false),
    (row("channel cap1024", "2p2c", "channel/cap1024/2p2c", 9.445, "crossbeam-channel", 10.327, 1.03), false),
    (row("channel cap1024", "4p4c", "channel/cap1024/4p4c", 4.846, "crossbeam-channel", 4.686, 1.00), false),
    (row("channel cap1024", "8p8c", "channel/cap1024/8p8c", 2.918, "crossbeam-channel", 2.994, 0.90), false),
    (row("channel cap1", "1p1c", "channel/cap1/1p1c", 1.800, "crossbeam-channel", 1.657, 1.07), false),
    (row("channel cap1", "2p2c", "channel/cap1/2p2c", 1.343, "crossbeam-channel", 1.478, 0.91), false),
    (row("channel cap1", "4p4c", "channel/cap1/4p4c", 1.319, "crossbeam-channel", 1.502, 0.90), false),
    (row("channel cap1", "8p8c", "channel/cap1/8p8c", 1.081, "crossbeam-channel", 1.082, 1.00), false),
    (row("unbounded", "1p1c", "unbounded/1p1c", 7.635, "crossbeam unbounded", 18.413, 0.41), false),
    (row("unbounded", "2p2c", "unbounded/2p2c", 15.295, "crossbeam unbounded", 19.195, 0.80), false),
    (row("unbounded", "4p4c", "unbounded/4p4c", 11.679, "crossbeam unbounded", 15.704, 0.79), false),
    (row("unbounded", "8p8c", "unbounded/8p8c", 9.166, "crossbeam unbounded", 10.139, 0.91), false),
    (row("select 2ch", "2p1c", "select/2ch", 3.113, "crossbeam select!", 3.516, 0.89), false),
    (row("semaphore", "16t", "semaphore/16t8p", 11.685, "async-lock", 2.882, 4.10), false),
    (row("barrier", "16t", "barrier/16t", 0.035, "std Barrier", 0.022, 1.56), false),
    (row("pubsub", "1to8", "pubsub/1to8/u64", 0.647, "bus", 0.616, 0.87), false),
    (row("WorkerPool", "1w", "workers/1w", 1.737, "threadpool", 2.536, 0.69), true),
    (row("WorkerPool", "2w", "workers/2w", 1.350, "threadpool", 1.730, 0.77), false),
    (row("WorkerPool", "16w", "workers/16w", 0.432, "threadpool", 1.188, 0.34), true),
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
    /// Line transfers at the call site with the most of them, plus failed CAS.
    pub hot: f64,
    /// Line transfers in all.
    pub transfers: f64,
    pub failed_cas: f64,
    pub parks: f64,
    pub unparks: f64,
}

/// The coefficients, in ns.
#[derive(Debug, Clone, Copy)]
pub struct Coeffs {
    /// Per unit, whatever the contention.
    pub base: f64,
    /// Per transfer of the hottest line (or failed CAS).
    pub transfer: f64,
    /// Per unpark on the item's path.
    pub wake: f64,
}

impl Coeffs {
    /// The anchors: 20 ns a unit, 110 ns a transfer, 1.75 µs a wake (half a 3.5 µs
    /// park/unpark pair).
    pub const ANCHORS: Coeffs = Coeffs {
        base: 20.0,
        transfer: 110.0,
        wake: 1750.0,
    };

    /// Predicted ns per unit.
    pub fn ns(&self, c: &PerUnit) -> f64 {
        self.base + self.transfer * c.hot + self.wake * c.unparks
    }
}

/// Fits the three coefficients by least squares on `(counts, measured ns per unit)` (three
/// samples: solved exactly); keeps the anchors if the samples cannot tell them apart or give
/// a negative cost.
pub fn fit(samples: &[(PerUnit, f64)]) -> Coeffs {
    // Normal equations M·x = v over the features (1, hot, unparks).
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for (c, y) in samples {
        let f = [1.0, c.hot, c.unparks];
        for i in 0..3 {
            v[i] += f[i] * y;
            for j in 0..3 {
                m[i][j] += f[i] * f[j];
            }
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-9 {
        return Coeffs::ANCHORS;
    }
    // Cramer's rule.
    let solve = |k: usize| {
        let mut mk = m;
        for (row, vi) in mk.iter_mut().zip(v) {
            row[k] = vi;
        }
        det(&mk) / d
    };
    let (base, transfer, wake) = (solve(0), solve(1), solve(2));
    if base < 0.0 || transfer <= 0.0 || wake <= 0.0 {
        return Coeffs::ANCHORS;
    }
    Coeffs {
        base,
        transfer,
        wake,
    }
}
