//! Pipelines: the seed's stages give the seed's results; cancellation by context or by
//! dropping the consumer ends every stage thread (counted in /proc); errors and panics reach
//! the consumer; the ordered parallel map keeps order; fan-out/fan-in deliver every item once.

mod common;

use common::Watchdog;
use lockgate::channel::bounded;
use lockgate::context::{Context, ContextError};
use lockgate::pipeline::{fan_in, fan_out, Pipeline, PipelineError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Pipeline stage threads of this process (Linux: /proc/self/task, by thread name).
fn thread_count() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|n| n.trim_end() == "lockgate-stage")
        .count()
}

/// Every test here holds it: the thread counts must not see another test's stages.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    COUNT_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until the process has at most `n` threads (a stage thread may take a moment to be
/// reaped after its join), then returns how many it has.
fn settle_to(n: usize) -> usize {
    let start = Instant::now();
    loop {
        let now = thread_count();
        if now <= n || start.elapsed() > Duration::from_secs(5) {
            return now;
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn seed_pipeline() {
    let _w = Watchdog::new("seed_pipeline", 60);
    let _g = serial();
    let out: Vec<i64> = Pipeline::from_iter_with(1..=10, &Context::background(), 0)
        .map(|n| n * n)
        .filter(|n| n % 2 == 0)
        .collect()
        .unwrap();
    assert_eq!(out, [4, 16, 36, 64, 100]);
}

#[test]
fn dropping_the_consumer_stops_every_stage() {
    let _w = Watchdog::new("dropping_the_consumer_stops_every_stage", 60);
    let _g = serial();
    let before = thread_count();
    let mut p = Pipeline::from_iter(0u64..)
        .map(|n| n + 1)
        .fan_out(3, |n| n * 2)
        .par_map_ordered(2, |n| n)
        .filter(|_| true);
    assert!(p.recv().unwrap().is_some());
    assert!(thread_count() > before);
    drop(p); // an endless generator: only the drop can stop it
    assert!(
        settle_to(before) <= before,
        "a stage thread outlived the pipeline"
    );
}

#[test]
fn context_cancel_stops_the_pipeline_and_says_so() {
    let _w = Watchdog::new("context_cancel_stops_the_pipeline_and_says_so", 60);
    let _g = serial();
    let before = thread_count();
    let (ctx, cancel) = Context::background().with_cancel();
    let mut p = Pipeline::from_iter_ctx(0u64.., &ctx).map(|n| n * n);
    assert_eq!(p.recv().unwrap(), Some(0));
    assert_eq!(p.recv().unwrap(), Some(1));
    cancel.cancel();
    // Items already in flight may still come; then the cancellation.
    let err = loop {
        match p.recv() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without the cancellation"),
            Err(e) => break e,
        }
    };
    assert!(matches!(
        err,
        PipelineError::Canceled(ContextError::Canceled)
    ));
    assert_eq!(p.recv().unwrap(), None);
    drop(p);
    assert!(settle_to(before) <= before);
}

static COUNT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Debug)]
struct Bad(u32);
impl std::fmt::Display for Bad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad item {}", self.0)
    }
}
impl std::error::Error for Bad {}

#[test]
fn errors_and_panics_reach_the_consumer() {
    let _w = Watchdog::new("errors_and_panics_reach_the_consumer", 60);
    let _g = serial();
    let mut p = Pipeline::from_iter(1..=100u32)
        .try_map(|n| if n == 7 { Err(Bad(n)) } else { Ok(n) })
        .map(|n| n * 10);
    let mut got = Vec::new();
    let err = loop {
        match p.recv() {
            Ok(Some(v)) => got.push(v),
            Ok(None) => panic!("the error was dropped"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, [10, 20, 30, 40, 50, 60]);
    assert_eq!(err.to_string(), "a pipeline stage failed: bad item 7");
    let r = Pipeline::from_iter(1..=10u32)
        .map(|n| if n == 3 { panic!("stage panic") } else { n })
        .collect();
    assert!(matches!(r, Err(PipelineError::Panicked(m)) if m == "stage panic"));
    // A panic inside the ordered map, in order.
    let mut p = Pipeline::from_iter(0..50u32).par_map_ordered(4, |n| {
        assert!(n != 20, "ordered panic");
        n
    });
    let mut got = Vec::new();
    let err = loop {
        match p.recv() {
            Ok(Some(v)) => got.push(v),
            Ok(None) => panic!("the panic was dropped"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert!(matches!(err, PipelineError::Panicked(_)));
}

#[test]
fn ordered_parallel_map_keeps_order() {
    let _w = Watchdog::new("ordered_parallel_map_keeps_order", 60);
    let _g = serial();
    let out = Pipeline::from_iter(0..5_000u64)
        .par_map_ordered(4, |n| {
            if n % 97 == 0 {
                thread::sleep(Duration::from_micros(200)); // a slow item must not reorder
            }
            n * 3
        })
        .collect()
        .unwrap();
    assert_eq!(out, (0..5_000u64).map(|n| n * 3).collect::<Vec<_>>());
}

#[test]
fn fan_out_delivers_every_item_once() {
    let _w = Watchdog::new("fan_out_delivers_every_item_once", 60);
    let _g = serial();
    let mut out = Pipeline::from_iter(0..10_000u64)
        .fan_out(4, |n| n * n)
        .collect()
        .unwrap();
    out.sort_unstable();
    assert_eq!(out, (0..10_000u64).map(|n| n * n).collect::<Vec<_>>());
}

#[test]
fn seed_fan_out_fan_in_on_channels() {
    let _w = Watchdog::new("seed_fan_out_fan_in_on_channels", 60);
    let _g = serial();
    let (tx, rx) = bounded(0);
    let producer = thread::spawn(move || {
        for n in 0..1_000u64 {
            tx.send(n).unwrap();
        }
    });
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let outs = fan_out(rx, 3, 0, move |n: u64| {
        s.fetch_add(1, Ordering::SeqCst);
        n * n
    });
    let merged = fan_in(outs, 0);
    let mut all: Vec<u64> = merged.iter().collect();
    producer.join().unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..1_000u64).map(|n| n * n).collect::<Vec<_>>());
    assert_eq!(seen.load(Ordering::SeqCst), 1_000);
}

/// Pipelines cancelled mid-stream, many times: no stage thread survives.
#[test]
fn stress_cancel_mid_stream_leaves_no_thread() {
    let _w = Watchdog::new("stress_cancel_mid_stream_leaves_no_thread", 120);
    let _g = serial();
    let before = thread_count();
    for i in 0..100u64 {
        let (ctx, cancel) = Context::background().with_cancel();
        let mut p = Pipeline::from_iter_ctx(0u64.., &ctx)
            .capacity((i % 3) as usize)
            .map(|n| n + 1)
            .fan_out(2, |n| n)
            .par_map_ordered(2, |n| n);
        for _ in 0..(i % 7) {
            let _ = p.recv();
        }
        if i % 2 == 0 {
            cancel.cancel();
            while let Ok(Some(_)) = p.recv() {}
        }
        drop(p);
    }
    assert!(settle_to(before) <= before, "stage threads leaked");
}

/// Review finding: a panic in the generator's `into_iter`, and an upstream error passing
/// through an ordered and a multi-worker stage, all reach the consumer.
#[test]
fn errors_cross_every_kind_of_stage() {
    let _w = Watchdog::new("errors_cross_every_kind_of_stage", 60);
    let _g = serial();
    struct Exploding;
    impl IntoIterator for Exploding {
        type Item = u32;
        type IntoIter = std::vec::IntoIter<u32>;
        fn into_iter(self) -> Self::IntoIter {
            panic!("into_iter exploded")
        }
    }
    let r = Pipeline::from_iter(Exploding).map(|n| n + 1).collect();
    assert!(matches!(r, Err(PipelineError::Panicked(m)) if m == "into_iter exploded"));
    let r = Pipeline::from_iter(0..100u32)
        .try_map(|n| if n == 50 { Err(Bad(n)) } else { Ok(n) })
        .par_map_ordered(3, |n| n)
        .fan_out(3, |n| n)
        .collect();
    assert!(matches!(r, Err(PipelineError::Failed(_))));
    let mut sum = 0;
    Pipeline::from_iter(1..=4u32)
        .for_each(|n| sum += n)
        .unwrap();
    assert_eq!(sum, 10);
}

/// A cancellation or deadline racing the end of a short stream: the consumer gets either
/// every item and then the end, or the cancellation; never a short stream reported as
/// complete.
#[test]
fn stress_cancel_racing_the_end_never_reports_a_short_stream() {
    let _w = Watchdog::new(
        "stress_cancel_racing_the_end_never_reports_a_short_stream",
        120,
    );
    let _g = serial();
    let (mut complete, mut canceled) = (0, 0);
    for i in 0..300u64 {
        let n = 20 + i % 30;
        let parent = if i % 2 == 0 {
            Context::background()
        } else {
            Context::background().with_timeout(Duration::from_micros(50 + i % 400))
        };
        let (ctx, cancel) = parent.with_cancel();
        let p = Pipeline::from_iter_ctx(0..n, &ctx)
            .capacity((i % 3) as usize)
            .map(|v| v + 1);
        let p = if i % 4 < 2 {
            p.par_map_ordered(2, |v| v)
        } else {
            p.fan_out(2, |v| v)
        };
        let canceller = thread::spawn(move || {
            for _ in 0..(i % 50) {
                thread::yield_now();
            }
            cancel.cancel();
        });
        match p.collect() {
            Ok(v) => {
                assert_eq!(v.len() as u64, n, "a short stream was reported complete");
                complete += 1;
            }
            Err(PipelineError::Canceled(_)) => canceled += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
        canceller.join().unwrap();
    }
    eprintln!("{complete} complete, {canceled} cancelled");
}

/// The output as a plain receiver: read with `select!` until the end; every item, in order
/// (one stage), then the end and no error.
#[test]
fn into_receiver_works_in_select() {
    let _w = Watchdog::new("into_receiver_works_in_select", 60);
    let _g = serial();
    let before = thread_count();
    let rx = Pipeline::from_iter(0..1000u32)
        .map(|n| n * 2)
        .into_receiver();
    let mut got = Vec::new();
    loop {
        lockgate::select! {
            recv(rx) -> m => match m {
                Ok(Ok(v)) => got.push(v),
                Ok(Err(e)) => panic!("a finished pipeline reported {e}"),
                Err(_) => break,
            },
            default(Duration::from_secs(10)) => panic!("no item in 10 s"),
        }
    }
    assert_eq!(got, (0..1000u32).map(|n| n * 2).collect::<Vec<_>>());
    drop(rx);
    assert!(settle_to(before) <= before, "stage threads leaked");
}

/// A cut stream through `into_receiver` ends with one `Err`, then the end; dropping the
/// receiver mid-stream cancels the pipeline and every stage thread returns.
#[test]
fn into_receiver_reports_the_cut_and_cancels_when_dropped() {
    let _w = Watchdog::new("into_receiver_reports_the_cut_and_cancels_when_dropped", 60);
    let _g = serial();
    let before = thread_count();
    let (ctx, cancel) = Context::background().with_cancel();
    let rx = Pipeline::from_iter_ctx(0u64.., &ctx)
        .map(|n| n + 1)
        .into_receiver();
    assert_eq!(rx.recv().unwrap().unwrap(), 1);
    cancel.cancel();
    let mut errors = 0;
    for m in rx.iter() {
        if let Err(e) = m {
            assert!(
                matches!(e, PipelineError::Canceled(ContextError::Canceled)),
                "{e}"
            );
            errors += 1;
        }
    }
    assert_eq!(errors, 1, "a cut stream ends with exactly one error");
    drop(rx);
    assert!(
        settle_to(before) <= before,
        "stage threads leaked after a cancel"
    );
    // Dropping the receiver of an endless pipeline stops it.
    let rx = Pipeline::from_iter(0u64..)
        .map(|n| n * 3)
        .fan_out(2, |n| n)
        .into_receiver();
    for _ in 0..10 {
        rx.recv().unwrap().unwrap();
    }
    drop(rx);
    assert!(
        settle_to(before) <= before,
        "stage threads leaked after the drop"
    );
}

/// Stages on a WorkerPool: the same results as on threads, the pool's workers run them, and
/// the pipeline's context is reachable.
#[test]
fn stages_on_a_worker_pool() {
    let _w = Watchdog::new("stages_on_a_worker_pool", 60);
    let _g = serial();
    let pool = lockgate::workers::WorkerPool::new(6);
    let mut p = Pipeline::from_iter(1..=200u64)
        .on(&pool)
        .map(|n| n * n)
        .filter(|n| n % 2 == 0)
        .fan_out(2, |n| n + 1)
        .par_map_ordered(2, |n| n - 1);
    assert!(!p.context().is_done());
    let mut got = Vec::new();
    while let Some(v) = p.recv().unwrap() {
        got.push(v);
    }
    got.sort_unstable();
    let want: Vec<u64> = (1..=200u64).map(|n| n * n).filter(|n| n % 2 == 0).collect();
    assert_eq!(got, want);
    drop(p);
    // Every stage job has returned: the pool shuts down at once.
    assert!(pool.shutdown_timeout(Duration::from_secs(10)));
    assert!(pool.completed() >= 7, "the stages ran as the pool's jobs");
}

/// A stage job dropped unrun (its pool aborted while the job was queued) reads as a cut
/// stream, never as a finished one.
#[test]
fn a_stage_job_dropped_unrun_is_a_cut() {
    let _w = Watchdog::new("a_stage_job_dropped_unrun_is_a_cut", 60);
    let _g = serial();
    let pool = Arc::new(
        lockgate::workers::WorkerPool::builder()
            .workers(1)
            .max_stand_ins(0)
            .build(),
    );
    let latch = Arc::new(lockgate::barrier::Latch::new(1));
    let l = latch.clone();
    let busy = pool.submit(move || l.wait()).unwrap();
    while pool.active_workers() == 0 {
        thread::yield_now();
    }
    let mut p = Pipeline::from_iter(0..10u32).on(&pool).map(|n| n + 1);
    // The map stage is queued behind the busy worker; abort drops it unrun.
    let opener = {
        let pool = pool.clone();
        thread::spawn(move || {
            while !pool.is_shutdown() {
                thread::yield_now();
            }
            latch.count_down();
        })
    };
    pool.abort();
    opener.join().unwrap();
    busy.get().unwrap();
    match p.recv() {
        Err(PipelineError::Canceled(_)) => {}
        other => panic!("a stage dropped unrun read as {other:?}"),
    }
}
