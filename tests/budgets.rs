//! Contention budgets: the counting build's per-unit counts of each structure (the shapes of
//! the cost report, `benches/src/costs.rs`), asserted as ceilings, so that no change makes
//! contention worse unnoticed. Each ceiling is about twice the highest of three baseline
//! runs on 2 cores with forced interleaving (benches/README.md): the counts of one shape vary
//! by up to 1.6x between runs there (how long a waiter spins before it parks moves reads
//! into parks and back; a failed-CAS rate ranges from 0.01 to 0.6 per item, as the OS
//! happens to preempt a thread between its load and its CAS), so a budget catches a change
//! that doubles a cost, not a 10% drift.
//!
//! The fetch-and-add ticket path of the bounded channel and the ring is held tighter, to
//! what it is built for: per item one `fetch_add` on each side's counter and one turn
//! hand-off on each side (4 shared writes; the ceiling is 5) and no wake-up while the
//! partner keeps up (at most 0.025 per item: late binding's short spins sleep sooner, see
//! `TICKETS`). Failed CAS are held to 0.5 per item, not 0:
//! forced interleaving makes some turn waits outlast their spin phase, and a thread whose
//! wait did enters late binding for a while (`queue/ring/wait.rs`), whose claims are CAS
//! (0.000-0.142 failed per item measured, varying with how much of a run it covers).
//!
//! Run with the counting build, one test at a time (the counters are process-wide):
//! `RUSTFLAGS="--cfg lockgate_count" cargo test --release --target-dir target/count --test budgets -- --test-threads=1`
#![cfg(lockgate_count)]

#[path = "../benches/src/costs.rs"]
#[allow(dead_code)]
mod costs;

use lockgate::__count::{reset, set_interleave, totals, Interleave};

/// Ceilings per unit: RMWs and stores on lines another thread wrote, failed CAS,
/// cross-thread reads, parks, unparks.
struct Budget {
    shared_writes: f64,
    failed_cas: f64,
    cross_reads: f64,
    parks: f64,
    unparks: f64,
}

/// The ticket path's ceilings (see the module docs): 4 shared writes per item by design
/// (25% margin); failed CAS and cross-thread reads only through late binding, whose share of
/// a run varies (0.000-0.142 failed CAS per item measured), so those two get room. Wake-ups:
/// 0.000-0.002 per item measured at 4p4c and 8p8c while late binding spun as long as ticket
/// waits; since a thread in late binding spins only the cutoff's floor (its partners were
/// seen descheduled, which forced interleaving makes common), 0.000-0.011 (parks
/// 0.000-0.007), so the ceilings are 0.025.
const TICKETS: Budget = Budget {
    shared_writes: 5.0,
    failed_cas: 0.5,
    cross_reads: 6.0,
    parks: 0.025,
    unparks: 0.025,
};

/// Runs `structure` at `k` over `units` (at least 100,000 items or arrivals, so the rates
/// are stable) three times, and checks the median of each count against its ceiling (one
/// run's preemptions can double a count on two cores; the median is steadier).
fn check(structure: &str, k: usize, units: u64, b: Budget) {
    set_interleave(Interleave::Yield);
    let shape = costs::shapes()
        .into_iter()
        .find(|s| s.structure == structure)
        .expect("a structure of the cost report");
    let runs: Vec<[f64; 5]> = (0..3)
        .map(|_| {
            reset();
            let n = (shape.run)(k, units) as f64;
            let c = totals();
            [
                (c.cross_rmws + c.cross_stores) as f64 / n,
                c.failed_cas as f64 / n,
                c.cross_reads as f64 / n,
                c.parks as f64 / n,
                c.unparks as f64 / n,
            ]
        })
        .collect();
    let median = |i: usize| {
        let mut v: Vec<f64> = runs.iter().map(|r| r[i]).collect();
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let ceilings = [
        b.shared_writes,
        b.failed_cas,
        b.cross_reads,
        b.parks,
        b.unparks,
    ];
    let what = [
        "RMWs/stores on shared lines",
        "failed CAS",
        "cross-thread reads",
        "parks",
        "unparks",
    ];
    let name = (shape.name)(k);
    let got: Vec<(&str, f64, f64)> = (0..5).map(|i| (what[i], median(i), ceilings[i])).collect();
    eprintln!("{structure} {name} (medians of 3): {got:.3?}");
    for (what, v, ceiling) in got {
        assert!(
            v <= ceiling,
            "{structure} {name}: {v:.3} {what} per {} (median of 3 runs) exceeds the budget of {ceiling}",
            shape.unit
        );
    }
}

#[test]
fn ring_queue_4p4c() {
    let b = Budget {
        shared_writes: 6.0,
        failed_cas: 0.4,
        cross_reads: 7.0,
        parks: 0.0,
        unparks: 0.0,
    };
    check("RingQueue cap1024", 4, 100_000, b);
}

#[test]
fn scq_queue_4p4c() {
    let b = Budget {
        shared_writes: 20.0,
        failed_cas: 1.5,
        cross_reads: 24.0,
        parks: 0.0,
        unparks: 0.0,
    };
    check("ScqQueue cap1024", 4, 100_000, b);
}

#[test]
fn channel_cap1024_4p4c() {
    let b = TICKETS;
    check("channel cap1024", 4, 100_000, b);
}

#[test]
fn channel_cap1024_8p8c() {
    let b = TICKETS;
    check("channel cap1024", 8, 100_000, b);
}

#[test]
fn ring_queue_wait_8p8c() {
    let b = TICKETS;
    check("RingQueue wait cap1024", 8, 100_000, b);
}

/// Capacity 1 with four senders and four receivers: with forced interleaving most turn waits
/// outlast their spin phase, so the threads run in late binding, waiting unbound on the
/// slot they would take next; every waiter of a slot wakes when its turn comes and reads it
/// (18 cross-thread reads per item measured, against 7 with tickets only; 0.2 wake-ups per
/// item against 2.0).
#[test]
fn channel_cap1_4p4c() {
    let b = Budget {
        shared_writes: 10.5,
        failed_cas: 0.3,
        cross_reads: 40.0,
        parks: 5.5,
        unparks: 4.0,
    };
    check("channel cap1", 4, 100_000, b);
}

#[test]
fn unbounded_4p4c() {
    let b = Budget {
        shared_writes: 8.5,
        failed_cas: 1.5,
        cross_reads: 9.0,
        parks: 0.2,
        unparks: 0.2,
    };
    check("unbounded", 4, 100_000, b);
}

#[test]
fn select_2p1c() {
    let b = Budget {
        shared_writes: 4.2,
        failed_cas: 1.5,
        cross_reads: 5.3,
        parks: 0.3,
        unparks: 0.3,
    };
    check("select 2ch", 2, 100_000, b);
}

#[test]
fn semaphore_8t() {
    let b = Budget {
        shared_writes: 4.0,
        failed_cas: 1.5,
        cross_reads: 2.7,
        parks: 0.1,
        unparks: 0.1,
    };
    check("semaphore", 8, 100_000, b);
}

/// 12,500 rounds of 8 threads: 100,000 arrivals.
#[test]
fn barrier_8t() {
    let b = Budget {
        shared_writes: 19.3,
        failed_cas: 0.3,
        cross_reads: 29.0,
        parks: 0.8,
        unparks: 0.8,
    };
    check("barrier", 8, 12_500, b);
}

/// 25,000 messages to 4 subscribers: 100,000 deliveries.
#[test]
fn pubsub_1to4() {
    let b = Budget {
        shared_writes: 45.6,
        failed_cas: 0.3,
        cross_reads: 31.0,
        parks: 7.5,
        unparks: 7.5,
    };
    check("pubsub", 4, 25_000, b);
}

#[test]
fn object_pool_4t() {
    let b = Budget {
        shared_writes: 0.1,
        failed_cas: 0.1,
        cross_reads: 0.1,
        parks: 0.1,
        unparks: 0.1,
    };
    check("object pool", 4, 100_000, b);
}

/// Sixteen workers, one submitter, on the work-stealing scheduler: a submit puts its job in
/// the injector (a ticket: 2 shared writes) and reads the wake rule's word; a worker takes
/// it with one CAS on the injector's head and hands the slot back. Measured per job (three
/// runs, medians of 3): 4.55-4.63 shared writes, 6.95-7.03 cross-thread reads (44 on the
/// single-channel pool before), 0.170-0.175 parks and as many wake-ups (forced interleaving
/// makes every search fail often; the wake-ups are workers waking workers, not submits),
/// 0.028-0.034 failed CAS (workers racing on the injector's head; none on the wake rule's
/// word, which only takes `fetch_add`s).
#[test]
fn worker_pool_16w() {
    let b = Budget {
        shared_writes: 8.0,
        failed_cas: 0.1,
        cross_reads: 14.0,
        parks: 0.35,
        unparks: 0.35,
    };
    check("WorkerPool", 16, 100_000, b);
}

/// The instrument itself: a queue used by one thread moves no line; the same queue between
/// two threads moves lines on every item (forced interleaving), and those show as shared
/// writes and cross-thread reads.
#[test]
fn counts_see_only_cross_thread_traffic() {
    use lockgate::queue::RingQueue;
    set_interleave(Interleave::Yield);
    let q = RingQueue::new(64);
    reset();
    for v in 0..10_000u64 {
        q.push(v).unwrap();
        assert_eq!(q.pop(), Some(v));
    }
    let alone = totals();
    assert_eq!(
        alone.transfers(),
        0,
        "one thread alone moved lines: {alone:?}"
    );
    assert!(
        alone.rmws >= 20_000,
        "every push and pop is an RMW: {alone:?}"
    );
    reset();
    std::thread::scope(|s| {
        s.spawn(|| {
            for v in 0..10_000u64 {
                while q.push(v).is_err() {
                    std::thread::yield_now();
                }
            }
        });
        for v in 0..10_000u64 {
            loop {
                if let Some(got) = q.pop() {
                    assert_eq!(got, v);
                    break;
                }
                std::thread::yield_now();
            }
        }
    });
    let shared = totals();
    assert!(
        shared.cross_reads >= 5_000 && shared.cross_rmws + shared.cross_stores >= 5_000,
        "two threads on one queue moved too few lines: {shared:?}"
    );
}
