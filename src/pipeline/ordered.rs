//! The order-preserving parallel map: a dispatcher numbers the items and hands them to `n`
//! workers, a re-order stage releases results in input order. A semaphore of `2n` permits
//! bounds the items in flight (taken by the dispatcher, given back as each result leaves in
//! order), so one slow item holds back at most that many and memory stays bounded.
//!
//! Every thread holds the pipeline's exit guard (`Exit`): any way out but its input's normal
//! end marks the pipeline cut, so a consumer never takes a cancelled map for a finished one.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{send, Msg, PipelineError, Run, Stage};
use crate::channel::Receiver;
use crate::future::catch;
use crate::semaphore::Semaphore;

pub(super) fn par_map_ordered<T, U, F>(
    input: Receiver<Msg<T>>,
    workers: usize,
    capacity: usize,
    run: &Run,
    f: F,
) -> (Receiver<Msg<U>>, Vec<Stage>)
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    let window = Arc::new(Semaphore::new(workers * 2));
    let (work_tx, work_rx) = run.channel::<(u64, T)>(workers);
    let (done_tx, done_rx) = run.channel::<(u64, Msg<U>)>(workers * 2);
    let (out_tx, out_rx) = run.channel::<Msg<U>>(capacity);
    let f = Arc::new(f);
    let mut threads = Vec::with_capacity(workers + 2);

    // Dispatcher: numbers items, waits for a window permit, hands them out.
    {
        let (r, window, done_tx) = (run.clone(), window.clone(), done_tx.clone());
        threads.push(run.spawn(move || {
            let exit = r.exit(); // every return but the input's end marks the cut
            let mut seq = 0u64;
            loop {
                let Ok(item) = input.recv() else {
                    return exit.normal(); // input over (or closed by a cancellation)
                };
                // The window's wait is the one wait here not on a channel: it ends with the
                // context.
                let Ok(permit) = window.acquire_ctx(&r.ctx) else {
                    return;
                };
                permit.forget(); // given back by the re-order stage
                match item {
                    Ok(v) => {
                        if work_tx.send((seq, v)).is_err() {
                            return;
                        }
                    }
                    // An upstream error takes its place in the order, then ends the stage.
                    Err(e) => {
                        let _ = done_tx.send((seq, Err(e)));
                        return;
                    }
                }
                seq += 1;
            }
        }));
    }
    // Workers.
    for _ in 0..workers {
        let (work_rx, done_tx, f, r) = (work_rx.clone(), done_tx.clone(), f.clone(), run.clone());
        threads.push(run.spawn(move || {
            let exit = r.exit();
            loop {
                let Ok((i, v)) = work_rx.recv() else {
                    return exit.normal(); // dispatcher done (or a cancellation's close)
                };
                let out = catch(|| f(v)).map_err(|p| Box::new(PipelineError::from_promise(p)));
                if done_tx.send((i, out)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(done_tx);
    // Re-order stage.
    {
        let r = run.clone();
        threads.push(run.spawn(move || {
            let exit = r.exit();
            let mut pending: BTreeMap<u64, Msg<U>> = BTreeMap::new();
            let mut next = 0u64;
            loop {
                let (i, out) = match done_rx.recv() {
                    Ok(done) => done,
                    // Every worker is done; a gap left in the order would mean one stopped
                    // early, and it marked the cut already.
                    Err(_) if pending.is_empty() => return exit.normal(),
                    Err(_) => return,
                };
                pending.insert(i, out);
                while let Some(out) = pending.remove(&next) {
                    let stop = out.is_err();
                    if !send(&out_tx, out) || stop {
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
