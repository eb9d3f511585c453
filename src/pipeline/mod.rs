//! Pipelines: the "Pipeline" and "Fan-out/fan-in" sections of the Go concurrency patterns
//! tutorial as composable stages on lockgate channels.
//!
//! A [`Pipeline<T>`] is the receiving end of a chain of stages, each on its own thread,
//! joined by bounded channels (back-pressure throughout). [`Pipeline::from_iter`] is the
//! generator; [`map`](Pipeline::map), [`filter`](Pipeline::filter),
//! [`try_map`](Pipeline::try_map), [`fan_out`](Pipeline::fan_out) (unordered, `n` workers) and
//! [`par_map_ordered`](Pipeline::par_map_ordered) (`n` workers, order kept) add stages; the
//! consumer reads with [`recv`](Pipeline::recv), iterates, or
//! [`collect`](Pipeline::collect)s.
//!
//! Stages move items with plain `send`/`recv` (the channels' fastest path) and run on
//! dedicated threads, or as jobs of a [`WorkerPool`] chosen with [`on`](Pipeline::on) (a
//! stage holds its worker for the pipeline's life; a pool that refuses the job gets the
//! stage a dedicated thread instead).
//!
//! Every pipeline runs under its own child of a [`Context`] ([`context`](Pipeline::context)):
//! cancelling it, its deadline passing, or dropping the consumer closes every channel of the
//! pipeline at once (a watcher thread waits on the context for that), so each stage's next
//! send fails and it returns; dropping the pipeline joins them. (A stage inside user code
//! that blocks, such as a generator over another channel's blocking iterator, returns when
//! that code does: the drop waits for it.) An error ends the pipeline with that error
//! delivered to the consumer: a `try_map` stage's `Err`, or a panic in any stage
//! ([`PipelineError`]), never a silent drop. The end of the stream is reported (`Ok(None)`)
//! only when the generator reached the end of its iterator and every stage saw its input
//! end normally: a stage that stops any other way, and the cancellation itself, mark the
//! pipeline cut before any channel closes, so a consumer that finds its channel closed
//! reports [`PipelineError::Canceled`], even when the cancellation raced the last item.
//!
//! [`into_receiver`](Pipeline::into_receiver) hands the output over as a plain
//! [`Receiver`] of `Result<T, PipelineError>` (the end rule included: a cut stream ends with
//! an `Err`), for `select!` and everything else a receiver works with.
//!
//! [`fan_out`] and [`fan_in`] are also given on plain channels, as in the tutorial.
//!
//! # Example
//!
//! ```
//! use lockgate::pipeline::Pipeline;
//!
//! // The tutorial's generator -> square -> filter(even).
//! let even_squares: Vec<i64> = Pipeline::from_iter(1..=10)
//!     .map(|n| n * n)
//!     .filter(|n| n % 2 == 0)
//!     .collect()
//!     .unwrap();
//! assert_eq!(even_squares, [4, 16, 36, 64, 100]);
//! ```

mod error;
mod ordered;

use core::fmt;
use std::thread::JoinHandle;

use crate::channel::{bounded, Receiver, RecvError, Sender};
use crate::context::{CancelHandle, Context, ContextError};
use crate::future::{catch, Promise};
use crate::sync::{AtomicBool, Ordering::SeqCst};
use crate::workers::{Spawner, WorkerPool};

pub use error::PipelineError;

/// Capacity of the channel between two stages unless set with
/// [`Pipeline::capacity`].
pub const DEFAULT_CAPACITY: usize = 64;

/// What flows between stages. The error is boxed: it is rare, and a small item keeps the
/// channels' slots small.
type Msg<T> = Result<T, Box<PipelineError>>;

/// What every stage of one pipeline shares: its context, its cut mark and its channels'
/// closers; and where the stages added next run.
#[derive(Clone)]
pub(super) struct Run {
    /// The pipeline's own context (a child of the caller's): cancelled on drop.
    pub(super) ctx: Context,
    /// Set by a stage thread that stops before its input ended normally (downstream left,
    /// it passed an error on, it panicked), and by the cancellation, in each case *before*
    /// the stage drops its sender or any channel closes. Channel disconnection publishes it
    /// (every sender drop releases the sender count, the last one acquires it before it
    /// marks the channel disconnected, and the receiver that sees that mark acquires it; a
    /// close is a SeqCst RMW that the receiver's look at it reads), so a consumer told
    /// "disconnected" sees this store. While clear, a disconnected channel means every item
    /// went through; once set, it means the stream was cut short.
    cut: std::sync::Arc<AtomicBool>,
    /// Closes every channel of the pipeline (the cancellation).
    closers: std::sync::Arc<Closers>,
    /// The pool the stages added next run on; `None`: dedicated threads.
    pool: Option<Spawner>,
}

/// A receiving handle of each channel of a pipeline, kept to close it on cancellation; `None`
/// once closed (a channel made later is closed at once).
type Closers = std::sync::Mutex<Option<Vec<Box<dyn Fn() + Send>>>>;

impl Run {
    fn new(ctx: Context) -> Run {
        Run {
            ctx,
            cut: std::sync::Arc::new(AtomicBool::new(false)),
            closers: std::sync::Arc::new(std::sync::Mutex::new(Some(Vec::new()))),
            pool: None,
        }
    }

    /// The guard a stage thread holds for its whole run: see [`Exit`].
    pub(super) fn exit(&self) -> Exit<'_> {
        Exit {
            run: self,
            normal: false,
        }
    }

    fn is_cut(&self) -> bool {
        self.cut.load(SeqCst)
    }

    /// A channel of this pipeline: closed when the pipeline is cancelled.
    pub(super) fn channel<M: Send + 'static>(&self, cap: usize) -> (Sender<M>, Receiver<M>) {
        let (tx, rx) = bounded(cap);
        let mut closers = self.closers.lock().unwrap_or_else(|e| e.into_inner());
        match closers.as_mut() {
            Some(list) => {
                let r = rx.clone();
                list.push(Box::new(move || r.close()));
            }
            None => rx.close(),
        }
        (tx, rx)
    }

    /// The cancellation: marks the pipeline cut, then closes every channel (every stage's
    /// next send fails; receivers drain what is queued, then see the end). Drops the
    /// closers' handles, so a stage blocked sending to a consumer that left gets its item
    /// back once no receiver is left.
    fn cancel_close(&self) {
        // SeqCst: before the closes, which publish it (see `cut`).
        self.cut.store(true, SeqCst);
        let list = self
            .closers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        for close in list.into_iter().flatten() {
            close();
        }
    }

    /// Starts a stage: a job of the pool if one was chosen and it takes the job now, else a
    /// dedicated thread.
    pub(super) fn spawn(&self, f: impl FnOnce() + Send + 'static) -> Stage {
        // A stage job dropped unrun (a pool aborted while it was queued) drops the senders
        // it holds: the pipeline must read as cut, not ended, so the guard marks it first.
        let mut unrun = Unrun {
            f: Some(f),
            cut: self.cut.clone(),
        };
        let f = move || {
            if let Some(f) = unrun.f.take() {
                f();
            }
        };
        if let Some(pool) = &self.pool {
            match pool.try_submit(f) {
                Ok(p) => return Stage::Job(p),
                Err(e) => return Stage::Thread(stage_thread(e.into_inner())),
            }
        }
        Stage::Thread(stage_thread(f))
    }
}

/// A stage's body until it runs; dropped unrun, it marks the pipeline cut (in its `Drop`,
/// which runs before the body and the senders it holds are dropped).
struct Unrun<F> {
    f: Option<F>,
    cut: std::sync::Arc<AtomicBool>,
}

impl<F> Drop for Unrun<F> {
    fn drop(&mut self) {
        if self.f.is_some() {
            // SeqCst: before the senders inside `f` drop, which publish it (see `Run::cut`).
            self.cut.store(true, SeqCst);
        }
    }
}

/// A running stage, joined when the pipeline is dropped.
pub(super) enum Stage {
    Thread(JoinHandle<()>),
    Job(Promise<()>),
}

impl Stage {
    fn join(self) {
        match self {
            Stage::Thread(h) => drop(h.join()),
            Stage::Job(p) => drop(p.get()),
        }
    }
}

/// Marks the pipeline cut when dropped, unless [`normal`](Exit::normal) was called first.
/// A stage thread holds one for its whole run, so every way out but the normal end (a
/// cancellation, downstream gone, an error passed on, a panic unwinding out of user code
/// such as an item's `Drop`) marks the cut; as a local of the thread's closure it drops
/// before the sender the closure captured.
pub(super) struct Exit<'a> {
    run: &'a Run,
    normal: bool,
}

impl Exit<'_> {
    /// The stage ended normally: its input ended and everything it had was sent.
    pub(super) fn normal(mut self) {
        self.normal = true;
    }
}

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        if !self.normal {
            // SeqCst: rare, and read only after a disconnect.
            self.run.cut.store(true, SeqCst);
        }
    }
}

/// The consumer end of a chain of stages. See the [module docs](self).
pub struct Pipeline<T> {
    rx: Receiver<Msg<T>>,
    /// The context and cut mark every stage shares.
    run: Run,
    cancel: StdArcCancel,
    /// Every stage of the chain so far, joined on drop.
    threads: Vec<Stage>,
    /// The thread that closes the channels when the context ends; joined on drop.
    watcher: Option<JoinHandle<()>>,
    /// Capacity for the channels of stages added next.
    cap: usize,
    /// Set once the consumer has seen the end or an error.
    ended: bool,
}

/// The cancel handle, shared by every stage added later (they belong to one pipeline).
type StdArcCancel = std::sync::Arc<CancelHandle>;

/// Starts a stage thread, named `lockgate-stage`.
///
/// # Panics
/// If the thread cannot be started (as `std::thread::spawn`).
pub(super) fn stage_thread(f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(String::from("lockgate-stage"))
        .spawn(f)
        .expect("failed to start a pipeline stage thread")
}

/// Sends `m` downstream; false if the stage should stop (cancelled: the channel is closed;
/// or the consumer left).
fn send<T>(tx: &Sender<Msg<T>>, m: Msg<T>) -> bool {
    tx.send(m).is_ok()
}

impl<T: Send + 'static> Pipeline<T> {
    /// A generator stage: sends every item of `iter`, under a fresh background context.
    // Not `FromIterator`: building a pipeline starts a thread and takes a capacity.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I>(iter: I) -> Pipeline<T>
    where
        I: IntoIterator<Item = T> + Send + 'static,
    {
        Self::from_iter_ctx(iter, &Context::background())
    }

    /// A generator stage under a child of `ctx`: cancelling `ctx` stops the whole pipeline,
    /// and the consumer then sees [`PipelineError::Canceled`].
    pub fn from_iter_ctx<I>(iter: I, ctx: &Context) -> Pipeline<T>
    where
        I: IntoIterator<Item = T> + Send + 'static,
    {
        Self::from_iter_with(iter, ctx, DEFAULT_CAPACITY)
    }

    /// As [`from_iter_ctx`](Self::from_iter_ctx), with the generator's channel capacity
    /// (`0`: unbuffered, as the tutorial's Go channels).
    pub fn from_iter_with<I>(iter: I, ctx: &Context, capacity: usize) -> Pipeline<T>
    where
        I: IntoIterator<Item = T> + Send + 'static,
    {
        let (ctx, cancel) = ctx.with_cancel();
        let run = Run::new(ctx);
        let (tx, rx) = run.channel(capacity);
        let r = run.clone();
        let watcher = stage_thread(move || {
            let _ = r.ctx.done();
            r.cancel_close();
        });
        let r = run.clone();
        let h = stage_thread(move || {
            let exit = r.exit();
            if generate(iter, &tx) {
                exit.normal();
            }
        });
        Pipeline {
            rx,
            run,
            cancel: std::sync::Arc::new(cancel),
            threads: vec![Stage::Thread(h)],
            watcher: Some(watcher),
            cap: capacity,
            ended: false,
        }
    }

    /// Runs the stages added after this call as jobs of `pool` (each holds a worker for the
    /// pipeline's life; if the pool refuses one, that stage gets a dedicated thread). The
    /// pool must outlive the pipeline's use of it: a pool shut down first refuses them.
    ///
    /// A stage job waits in the pool's queue until a worker is free: give the pool a worker
    /// per stage (or keep its compensation on, the default), since dropping the pipeline
    /// waits for every stage job to have run and returned. A stage job dropped unrun (the
    /// pool aborted) reads as a cut stream, never as its end.
    pub fn on(mut self, pool: &WorkerPool) -> Self {
        self.run.pool = Some(pool.spawner());
        self
    }

    /// The pipeline's context: a child of the one it was built under, cancelled when the
    /// pipeline is dropped or [`cancel`](Self::cancel)led. Stages may read its values.
    pub fn context(&self) -> &Context {
        &self.run.ctx
    }

    /// Sets the capacity of the channels of the stages added after this call.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.cap = capacity;
        self
    }

    /// Adds a stage running `f` on `workers` threads that share this pipeline's output;
    /// `f` returns what to send downstream for each item (`None`: nothing).
    fn stage<U, F>(self, workers: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> Option<Result<U, PipelineError>> + Send + Sync + 'static,
    {
        assert!(workers >= 1, "a pipeline stage needs at least one worker");
        self.extend(|input, run, cap| {
            let (tx, rx) = run.channel(cap);
            let f = std::sync::Arc::new(f);
            let threads = (0..workers)
                .map(|_| {
                    let (input, tx, f, r) = (input.clone(), tx.clone(), f.clone(), run.clone());
                    run.spawn(move || {
                        let exit = r.exit();
                        if run_stage(&input, &tx, |v| f(v)) {
                            exit.normal();
                        }
                    })
                })
                .collect();
            (rx, threads)
        })
    }

    /// The pipeline continued by the stage `build` starts on this one's output (given the
    /// input, the pipeline's context and cut mark, and the channel capacity; it returns the
    /// new output and its threads; each thread that stops early marks the cut). The stage
    /// threads so far move to the new handle, so dropping this one cancels nothing.
    fn extend<U>(
        mut self,
        build: impl FnOnce(Receiver<Msg<T>>, &Run, usize) -> (Receiver<Msg<U>>, Vec<Stage>),
    ) -> Pipeline<U> {
        let input = self.take_rx();
        let mut threads = core::mem::take(&mut self.threads);
        let (rx, started) = build(input, &self.run, self.cap);
        threads.extend(started);
        Pipeline {
            rx,
            run: self.run.clone(),
            cancel: self.cancel.clone(),
            threads,
            watcher: self.watcher.take(),
            cap: self.cap,
            ended: false,
        }
    }

    fn take_rx(&mut self) -> Receiver<Msg<T>> {
        let (_, empty) = bounded(0);
        core::mem::replace(&mut self.rx, empty)
    }

    /// Applies `f` to every item (the tutorial's `square` stage).
    pub fn map<U, F>(self, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.stage(1, move |v| Some(Ok(f(v))))
    }

    /// Keeps the items for which `f` is true.
    pub fn filter<F>(self, f: F) -> Pipeline<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.stage(1, move |v| f(&v).then_some(Ok(v)))
    }

    /// Applies a fallible `f`; the first `Err` ends the pipeline and reaches the consumer as
    /// [`PipelineError::Failed`].
    pub fn try_map<U, E, F>(self, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
        F: Fn(T) -> Result<U, E> + Send + Sync + 'static,
    {
        self.stage(1, move |v| Some(f(v).map_err(PipelineError::failed)))
    }

    /// Fan-out and fan-in: `f` runs on `workers` threads reading this pipeline's output, and
    /// their results merge into one (in completion order, as the tutorial's `fanIn`).
    pub fn fan_out<U, F>(self, workers: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.stage(workers, move |v| Some(Ok(f(v))))
    }

    /// As [`fan_out`](Self::fan_out), but the results come out in input order. At most
    /// `workers * 2` items are in flight, so one slow item holds back at most that many.
    pub fn par_map_ordered<U, F>(self, workers: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        assert!(workers >= 1, "a pipeline stage needs at least one worker");
        self.extend(|input, run, cap| ordered::par_map_ordered(input, workers, cap, run, f))
    }

    /// The next item; `Ok(None)` at the end; an error (a stage's failure or panic, or the
    /// context's end) once, after which the pipeline is over (an error cancels the rest).
    ///
    /// `Ok(None)` means every item went through: the generator reached its end and every
    /// stage saw its input end. Once the context has ended, the result is
    /// [`PipelineError::Canceled`], even when every stage has already stopped and the channel
    /// this reads is closed.
    pub fn recv(&mut self) -> Result<Option<T>, PipelineError> {
        if self.ended {
            return Ok(None);
        }
        if let Some(e) = self.run.ctx.err() {
            return Err(self.end(PipelineError::Canceled(e)));
        }
        match self.rx.recv() {
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(e)) => Err(self.end(*e)),
            Err(RecvError) => {
                if self.run.is_cut() {
                    // A stage stopped early: the stream was cut short, not finished.
                    let e = self.run.ctx.err().unwrap_or(ContextError::Canceled);
                    return Err(self.end(PipelineError::Canceled(e)));
                }
                self.ended = true;
                Ok(None)
            }
        }
    }

    /// The pipeline is over with `e`: stops every stage still running.
    fn end(&mut self, e: PipelineError) -> PipelineError {
        self.ended = true;
        self.cancel.cancel();
        e
    }

    /// The output as a plain receiver of `Result<T, PipelineError>`, with the same end
    /// rule as [`recv`](Self::recv): items, then the end if every item went through, or an
    /// `Err` and then the end if the pipeline was cut (an error, a panic, a cancellation).
    /// Works with `select!` and everything else a [`Receiver`] offers. The stages are no
    /// longer joined by anyone: they stop on their own when the stream ends, the context
    /// ends, or every clone of the receiver is dropped (which cancels the pipeline).
    pub fn into_receiver(mut self) -> Receiver<Result<T, PipelineError>> {
        let input = self.take_rx();
        let (tx, rx) = bounded(self.cap);
        let (run, cancel) = (self.run.clone(), self.cancel.clone());
        let sink = move || {
            let out = |m| tx.send(m).is_ok();
            loop {
                match input.recv() {
                    Ok(Ok(v)) => {
                        if !out(Ok(v)) {
                            break; // every receiver left
                        }
                    }
                    Ok(Err(e)) => {
                        let _ = out(Err(*e));
                        break;
                    }
                    Err(RecvError) => {
                        if run.is_cut() {
                            let e = run.ctx.err().unwrap_or(ContextError::Canceled);
                            let _ = out(Err(PipelineError::Canceled(e)));
                        }
                        break;
                    }
                }
            }
            drop(input);
            cancel.cancel(); // the rest stops (a no-op after a normal end)
        };
        // The sink is this pipeline's last thread; the others are left to end by themselves.
        let _ = stage_thread(sink);
        self.threads.clear();
        if let Some(w) = self.watcher.take() {
            drop(w); // detached: it returns once the context ends, which the sink ensures
        }
        rx
    }

    /// Every item, or the first error.
    pub fn collect(mut self) -> Result<Vec<T>, PipelineError> {
        let mut out = Vec::new();
        while let Some(v) = self.recv()? {
            out.push(v);
        }
        Ok(out)
    }

    /// Runs `f` on every item (a sink stage on the consumer's thread); the first error.
    pub fn for_each(mut self, mut f: impl FnMut(T)) -> Result<(), PipelineError> {
        while let Some(v) = self.recv()? {
            f(v);
        }
        Ok(())
    }

    /// Stops every stage now (as dropping the pipeline does, without waiting for them).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// The generator's loop: sends every item of `iter`. Returns `true` if the iterator ended
/// and every item was sent; `false` if it stopped early (the context ended, downstream left,
/// or the iterator panicked and the panic was passed on).
fn generate<T, I: IntoIterator<Item = T>>(iter: I, tx: &Sender<Msg<T>>) -> bool {
    let mut it = match catch(|| iter.into_iter()) {
        Ok(it) => it,
        Err(p) => {
            let _ = send(tx, Err(Box::new(PipelineError::from_promise(p))));
            return false;
        }
    };
    loop {
        match catch(|| it.next()) {
            Ok(Some(v)) => {
                if !send(tx, Ok(v)) {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(p) => {
                let _ = send(tx, Err(Box::new(PipelineError::from_promise(p))));
                return false;
            }
        }
    }
}

/// A stage's loop: read until the input ends, apply `f`, send what it returns. Stops on
/// the first error (passing it on), or when its output is closed (cancelled) or downstream
/// is gone. Returns `true` only if it stopped because its input ended; after a cancellation
/// that end is the close, and the cut mark (set before it) tells the consumer.
fn run_stage<T, U>(
    input: &Receiver<Msg<T>>,
    tx: &Sender<Msg<U>>,
    f: impl Fn(T) -> Option<Result<U, PipelineError>>,
) -> bool {
    loop {
        let v = match input.recv() {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let _ = send(tx, Err(e));
                return false;
            }
            Err(RecvError) => return true,
        };
        match catch(|| f(v)) {
            Ok(None) => {}
            Ok(Some(Ok(out))) => {
                if !send(tx, Ok(out)) {
                    return false;
                }
            }
            Ok(Some(Err(e))) => {
                let _ = send(tx, Err(Box::new(e)));
                return false;
            }
            Err(p) => {
                let _ = send(tx, Err(Box::new(PipelineError::from_promise(p))));
                return false;
            }
        }
    }
}

impl<T> Drop for Pipeline<T> {
    fn drop(&mut self) {
        let Some(watcher) = self.watcher.take() else {
            return; // moved on (`extend`, `into_receiver`)
        };
        // The consumer left: the watcher closes every channel; with our receiver and the
        // closers' gone, a stage blocked sending to us gets its item back. Then every stage
        // returns, and is joined.
        self.cancel.cancel();
        let (_, empty) = bounded(0);
        drop(core::mem::replace(&mut self.rx, empty));
        let _ = watcher.join();
        for h in self.threads.drain(..) {
            h.join();
        }
    }
}

impl<T: Send + 'static> Iterator for Pipeline<T> {
    type Item = Result<T, PipelineError>;

    /// Items, then at most one error; `None` after the end or the error.
    fn next(&mut self) -> Option<Self::Item> {
        self.recv().transpose()
    }
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.threads.len())
            .field("ended", &self.ended)
            .finish()
    }
}

/// The tutorial's `fanOut` on plain channels: `workers` threads read `source` and each sends
/// `f(item)` to its own output channel (capacity `capacity`); a thread ends when `source`
/// ends or, at its next send, when its output's receiver is gone. As with goroutines, a
/// source that never ends keeps the threads waiting: for cancellation, use
/// [`Pipeline::fan_out`] under a context.
pub fn fan_out<T, U, F>(
    source: Receiver<T>,
    workers: usize,
    capacity: usize,
    f: F,
) -> Vec<Receiver<U>>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    let f = std::sync::Arc::new(f);
    (0..workers)
        .map(|_| {
            let (tx, rx) = bounded(capacity);
            let (source, f) = (source.clone(), f.clone());
            stage_thread(move || {
                for v in source.iter() {
                    if tx.send(f(v)).is_err() {
                        return;
                    }
                }
            });
            rx
        })
        .collect()
}

/// The tutorial's `fanIn` on plain channels: one thread per input forwards into one output
/// (capacity `capacity`), which ends when every input has ended. A thread also ends at its
/// next forward once the output's receiver is gone.
pub fn fan_in<T: Send + 'static>(inputs: Vec<Receiver<T>>, capacity: usize) -> Receiver<T> {
    let (tx, rx) = bounded(capacity);
    for input in inputs {
        let tx = tx.clone();
        stage_thread(move || {
            for v in input.iter() {
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
    }
    rx
}

#[cfg(all(test, not(any(lockgate_loom, lockgate_shuttle))))]
mod tests;
