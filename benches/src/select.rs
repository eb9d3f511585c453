//! Fan-in through a select: `k` producers (pinned), each feeding its own bounded channel,
//! and one consumer that receives every value with a select over the `k` receivers. The same
//! shape for lockgate's `select!` and crossbeam-channel's `select!`; the senders stay alive
//! until the consumer is done, so no arm ever fires with a disconnect.

use std::time::Duration;

use crate::{share, timed_threads};

/// Each producer's channel capacity: room enough that producers rarely wait, so the select
/// path (try every arm, or park in every list) is what is measured.
const CAP: usize = 128;

fn check(sum: u64, items: u64, k: usize) {
    let want: u64 = (0..k).map(|i| (0..share(items, k, i)).sum::<u64>()).sum();
    assert_eq!(sum, want, "select fan-in lost or duplicated values");
}

/// One fan-in function per crate: the bodies differ only in the `bounded` and `select!`
/// they name.
macro_rules! fanin {
    ($(#[$doc:meta])* $name:ident, [$($chan:ident)::+], [$($sel:ident)::+]) => {
        $(#[$doc])*
        pub fn $name(k: usize, items: u64) -> Duration {
            let chans: Vec<_> = (0..k).map(|_| $($chan)::+::bounded::<u64>(CAP)).collect();
            let sum = std::sync::atomic::AtomicU64::new(0);
            let d = timed_threads(k + 1, |i| {
                if i < k {
                    for v in 0..share(items, k, i) {
                        chans[i].0.send(v).unwrap();
                    }
                    return;
                }
                let r: Vec<_> = chans.iter().map(|c| &c.1).collect();
                let mut local = 0u64;
                for _ in 0..items {
                    let v = match k {
                        2 => $($sel)::+::select! {
                            recv(r[0]) -> v => v,
                            recv(r[1]) -> v => v,
                        },
                        4 => $($sel)::+::select! {
                            recv(r[0]) -> v => v,
                            recv(r[1]) -> v => v,
                            recv(r[2]) -> v => v,
                            recv(r[3]) -> v => v,
                        },
                        _ => unreachable!("k is 2 or 4"),
                    };
                    local += v.unwrap();
                }
                sum.store(local, std::sync::atomic::Ordering::Relaxed);
            });
            check(sum.into_inner(), items, k);
            d
        }
    };
}

fanin!(
    /// lockgate's `select!`: `k` in {2, 4}.
    lockgate_fanin,
    [lockgate::channel],
    [lockgate]
);
fanin!(
    /// crossbeam-channel's `select!`: `k` in {2, 4}.
    crossbeam_fanin,
    [crossbeam_channel],
    [crossbeam_channel]
);
