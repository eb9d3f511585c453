//! The order-preserving parallel map: a dispatcher numbers the items and hands them to `n`
//! workers, a re-order stage releases results in input order. A semaphore of `2n` permits
//! bounds the items in flight (taken by the dispatcher, given back as each result leaves in
//! order), so one slow item holds back at most that many and memory stays bounded.
//!
//! Every thread holds the pipeline's exit guard (`Exit`): any way out but its input's normal
//! end marks the pipeline cut, so a consumer never takes a cancelled map for a finished one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{send, stage_thread, Msg, PipelineError, Run};
use crate::channel::{bounded, Receiver, RecvCtxError};
use crate::future::catch;
use crate::semaphore::Semaphore;

pub(super) fn par_map_ordered<T, U, F>(
    input: Receiver<Msg<T>>,
    workers: usize,
    capacity: usize,
    run: &Run,
    f: F,
) -> (Receiver<Msg<U>>, Vec<JoinHandle<()>>)
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    let window = Arc::new(Semaphore::new(workers * 2));
    let (work_tx, work_rx) = bounded::<(u64, T)>(workers);
    let (done_tx, done_rx) = bounded::<(u64, Msg<U>)>(workers * 2);
    let (out_tx, out_rx) = bounded::<Msg<U>>(capacity);
    let f = Arc::new(f);
    let mut threads = Vec::with_capacity(workers + 2);

    // Dispatcher: numbers items, waits for a window permit, hands them out.
    {
        let (run, window, done_tx) = (run.clone(), window.clone(), done_tx.clone());
        threads.push(stage_thread(move || {
            let exit = run.exit(); // every return but the input's end marks the cut
            let ctx = &run.ctx;
            let mut seq = 0u64;
            loop {
                let item = match input.recv_ctx(ctx) {
                    Ok(m) => m,
                    Err(RecvCtxError::Disconnected) => return exit.normal(), // input over
                    Err(RecvCtxError::Done(_)) => return,
                };
                let Ok(permit) = window.acquire_ctx(ctx) else {
                    return;
                };
                permit.forget(); // given back by the re-order stage
                match item {
                    Ok(v) => {
                        if work_tx.send_ctx((seq, v), ctx).is_err() {
                            return;
                        }
                    }
                    // An upstream error takes its place in the order, then ends the stage.
                    Err(e) => {
                        let _ = done_tx.send_ctx((seq, Err(e)), ctx);
                        return;
                    }
                }
                seq += 1;
            }
        }));
    }
    // Workers.
    for _ in 0..workers {
        let (work_rx, done_tx, f, run) = (work_rx.clone(), done_tx.clone(), f.clone(), run.clone());
        threads.push(stage_thread(move || {
            let exit = run.exit();
            loop {
                let (i, v) = match work_rx.recv_ctx(&run.ctx) {
                    Ok(job) => job,
                    Err(RecvCtxError::Disconnected) => return exit.normal(), // dispatcher done
                    Err(RecvCtxError::Done(_)) => return,
                };
                let out = catch(|| f(v)).map_err(|p| Box::new(PipelineError::from_promise(p)));
                if done_tx.send_ctx((i, out), &run.ctx).is_err() {
                    return;
                }
            }
        }));
    }
    drop(done_tx);
    // Re-order stage.
    {
        let run = run.clone();
        threads.push(stage_thread(move || {
            let exit = run.exit();
            let ctx = &run.ctx;
            let mut pending: BTreeMap<u64, Msg<U>> = BTreeMap::new();
            let mut next = 0u64;
            loop {
                let (i, out) = match done_rx.recv_ctx(ctx) {
                    Ok(done) => done,
                    // Every worker is done; a gap left in the order would mean one stopped
                    // early, and it marked the cut already.
                    Err(RecvCtxError::Disconnected) if pending.is_empty() => return exit.normal(),
                    Err(_) => return,
                };
                pending.insert(i, out);
                while let Some(out) = pending.remove(&next) {
                    let stop = out.is_err();
                    if !send(&out_tx, out, ctx) || stop {
                        return;
                    }
                    next += 1;
                    window.add_permits(1);
                }
            }
        }));
    }
    (out_rx, threads)
}
