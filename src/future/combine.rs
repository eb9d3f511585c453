//! Combinators over many promises: `when_all` (the tutorial's `WhenAll`), its fail-fast form,
//! and `when_any`; and the two tables they share with their forms over `Result`
//! (`fallible.rs`).
//!
//! A combinator reads each input's outcome through a *classification*: a success to collect,
//! or a failure that may settle the combined promise. For the plain forms a success is the
//! value and a failure the input's [`PromiseError`]; for the fallible forms a success is an
//! `Ok(value)` and a failure an `Err(e)` or a `PromiseError`. The tables only ever see
//! successes and failures, so one implementation serves both; a second function, *finish*,
//! turns the verdict (the successes, or the failure that decided) into the combined promise's
//! outcome.
//!
//! Each input gets a continuation that classifies its result, records it in a small shared
//! table and decides, under the table's lock, whether the combined promise is now settled; the
//! combined promise is then resolved outside the lock (resolving runs user continuations), and
//! whatever the table no longer needs (late results, failures that lost) is dropped outside
//! it too, since dropping a user value runs user code. Nothing waits: the inputs' resolvers do
//! the bookkeeping as they complete. The lock is held for a few stores per input, once per
//! input, never on a hot path.

use core::convert::identity;

use super::cell::Outcome;
use super::{Promise, PromiseError, Resolver};
use crate::sync::{Arc, Mutex};

/// A promise of every input's value, in argument order.
///
/// Settles like the tutorial's `WhenAll`, which waits for its inputs in order and returns the
/// first error it meets: with the error of the first input (in argument order) that failed,
/// as soon as every input before it has succeeded; otherwise with all the values. An empty
/// input gives an empty vector at once. Never blocks a thread.
///
/// ```
/// use lockgate::future::{when_all, Promise, PromiseError};
///
/// let all = when_all((1..=3).map(|i| lockgate::spawn(move || i * 10)));
/// assert_eq!(all.get(), Ok(vec![10, 20, 30]));
///
/// let (r, p) = Promise::<u32>::pending();
/// drop(r); // abandoned: the error reaches the combined promise
/// assert_eq!(when_all([Promise::ready(1), p]).get(), Err(PromiseError::Abandoned));
/// ```
pub fn when_all<T, I>(promises: I) -> Promise<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Promise<T>>,
{
    all(promises, false, identity, identity)
}

/// As [`when_all`], but fails with the first error in time, without waiting for the inputs
/// before it.
///
/// ```
/// use lockgate::future::{when_all_fail_fast, Promise, PromiseError};
///
/// let (_running, first) = Promise::<u32>::pending();
/// let (broken, second) = Promise::<u32>::pending();
/// let all = when_all_fail_fast([first, second]);
/// drop(broken); // the first input is still running: the error settles at once
/// assert_eq!(all.get(), Err(PromiseError::Abandoned));
/// ```
pub fn when_all_fail_fast<T, I>(promises: I) -> Promise<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Promise<T>>,
{
    all(promises, true, identity, identity)
}

/// A promise of the first input to succeed, with its position.
///
/// If every input fails, fails with the error of the first input in argument order (the
/// others are dropped); over no inputs, fails at once with [`PromiseError::NoInputs`].
/// Never blocks a thread.
///
/// ```
/// use lockgate::future::{when_any, Promise};
///
/// let (_slow, never) = Promise::<&str>::pending();
/// let any = when_any([never, Promise::ready("fast")]);
/// assert_eq!(any.get(), Ok((1, "fast")));
/// ```
pub fn when_any<T, I>(promises: I) -> Promise<(usize, T)>
where
    T: Send + 'static,
    I: IntoIterator<Item = Promise<T>>,
{
    any(promises, identity, identity)
}

/// Reads an input's outcome as a success (`Ok`) or a failure (`Err`).
pub(super) type Classify<I, V, F> = fn(Outcome<I>) -> Result<V, F>;

/// Turns a verdict (what the successes make, or the failure that decided) into the combined
/// promise's outcome.
pub(super) type Finish<W, F, O> = fn(Result<W, F>) -> Outcome<O>;

/// What recording one verdict hands the caller: the combined promise's resolver and the
/// verdict it settles with, if that settled it, and what to drop outside the lock.
type Recorded<O, W, V, F> = (Option<(Resolver<O>, Result<W, F>)>, Leftovers<V, F>);

/// Keeps the failure of the lowest-numbered input in `slot`; returns the one that lost, for
/// the caller to drop outside the lock.
fn keep_first<F>(slot: &mut Option<(usize, F)>, i: usize, f: F) -> Option<F> {
    match slot {
        Some((j, _)) if *j < i => Some(f),
        _ => slot.replace((i, f)).map(|(_, lost)| lost),
    }
}

struct All<V, F, O: Send + 'static> {
    /// Each input's value, by position; `None` until it succeeds.
    values: Vec<Option<V>>,
    /// The failure of the lowest-numbered failed input so far (never set when failing fast:
    /// a failure settles at once).
    failure: Option<(usize, F)>,
    /// Inputs `0..prefix` have all succeeded (the tutorial's in-order scan, done incrementally).
    prefix: usize,
    /// `Some` until the combined promise is settled.
    resolver: Option<Resolver<O>>,
}

/// The table behind `when_all`, `when_all_fail_fast` and their fallible forms: collects the
/// successes in argument order; settles with a failure at once when failing fast, otherwise
/// once every input before it has succeeded.
pub(super) fn all<I, V, F, O>(
    promises: impl IntoIterator<Item = Promise<I>>,
    fail_fast: bool,
    classify: Classify<I, V, F>,
    finish: Finish<Vec<V>, F, O>,
) -> Promise<O>
where
    I: Send + 'static,
    V: Send + 'static,
    F: Send + 'static,
    O: Send + 'static,
{
    let inputs: Vec<Promise<I>> = promises.into_iter().collect();
    let (r, p) = Promise::pending();
    if inputs.is_empty() {
        r.complete(finish(Ok(Vec::new())));
        return p;
    }
    let table = Arc::new(Mutex::new(All {
        values: inputs.iter().map(|_| None).collect(),
        failure: None,
        prefix: 0,
        resolver: Some(r),
    }));
    for (i, input) in inputs.into_iter().enumerate() {
        let table = table.clone();
        input.on_result(move |out| {
            let verdict = classify(out);
            // Leftovers are dropped, and the combined promise resolved, outside the lock.
            let (decided, _leftovers) = {
                let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                record_all(&mut t, i, verdict, fail_fast)
            };
            if let Some((r, verdict)) = decided {
                r.complete(finish(verdict));
            }
        });
    }
    p
}

/// Records input `i`'s verdict; returns the resolver and the verdict if that settles the
/// combined promise, and what is no longer needed.
fn record_all<V, F, O: Send + 'static>(
    t: &mut All<V, F, O>,
    i: usize,
    verdict: Result<V, F>,
    fail_fast: bool,
) -> Recorded<O, Vec<V>, V, F> {
    let Some(r) = t.resolver.take() else {
        return (None, Leftovers::late(verdict));
    };
    let lost = match verdict {
        Ok(v) => {
            t.values[i] = Some(v);
            None
        }
        Err(f) if fail_fast => return (Some((r, Err(f))), Leftovers::values(&mut t.values)),
        Err(f) => keep_first(&mut t.failure, i, f),
    };
    while let Some(Some(_)) = t.values.get(t.prefix) {
        t.prefix += 1;
    }
    if t.failure.as_ref().is_some_and(|(j, _)| *j == t.prefix) {
        let (_, f) = t.failure.take().expect("checked just above");
        let mut left = Leftovers::values(&mut t.values);
        left.lost = lost;
        return (Some((r, Err(f))), left);
    }
    let left = Leftovers::lost(lost);
    if t.prefix < t.values.len() {
        t.resolver = Some(r);
        return (None, left);
    }
    let values = t
        .values
        .drain(..)
        .map(|v| v.expect("every input before the prefix end succeeded"))
        .collect();
    (Some((r, Ok(values))), left)
}

struct Any<F, O: Send + 'static> {
    /// Inputs still running.
    left: usize,
    /// The failure of the lowest-numbered failed input so far.
    failure: Option<(usize, F)>,
    /// `Some` until settled.
    resolver: Option<Resolver<O>>,
}

/// The table behind `when_any` and its fallible form: settles with the first success in time;
/// when every input has failed, with the failure of the first in argument order. No inputs:
/// [`PromiseError::NoInputs`] at once.
pub(super) fn any<I, V, F, O>(
    promises: impl IntoIterator<Item = Promise<I>>,
    classify: Classify<I, V, F>,
    finish: Finish<(usize, V), F, O>,
) -> Promise<O>
where
    I: Send + 'static,
    V: Send + 'static,
    F: Send + 'static,
    O: Send + 'static,
{
    let inputs: Vec<Promise<I>> = promises.into_iter().collect();
    let (r, p) = Promise::pending();
    if inputs.is_empty() {
        r.complete(Err(PromiseError::NoInputs));
        return p;
    }
    let table = Arc::new(Mutex::new(Any {
        left: inputs.len(),
        failure: None,
        resolver: Some(r),
    }));
    for (i, input) in inputs.into_iter().enumerate() {
        let table = table.clone();
        input.on_result(move |out| {
            let verdict = classify(out);
            // Leftovers are dropped, and the combined promise resolved, outside the lock.
            let (decided, _leftovers) = {
                let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                record_any(&mut t, i, verdict)
            };
            if let Some((r, verdict)) = decided {
                r.complete(finish(verdict));
            }
        });
    }
    p
}

/// Records input `i`'s verdict; returns the resolver and the verdict if that settles the
/// combined promise, and what is no longer needed.
fn record_any<V, F, O: Send + 'static>(
    t: &mut Any<F, O>,
    i: usize,
    verdict: Result<V, F>,
) -> Recorded<O, (usize, V), V, F> {
    t.left -= 1;
    let Some(r) = t.resolver.take() else {
        return (None, Leftovers::late(verdict));
    };
    match verdict {
        // The first success in time wins; a failure kept so far is no longer needed.
        Ok(v) => {
            let kept = t.failure.take().map(|(_, f)| f);
            (Some((r, Ok((i, v)))), Leftovers::lost(kept))
        }
        Err(f) => {
            let lost = Leftovers::lost(keep_first(&mut t.failure, i, f));
            if t.left > 0 {
                t.resolver = Some(r);
                return (None, lost);
            }
            let (_, f) = t.failure.take().expect("every input failed, one is kept");
            (Some((r, Err(f))), lost)
        }
    }
}

/// What a record no longer needs, dropped by the caller outside the lock: dropping a user
/// value runs user code. Its fields are never read, only dropped.
#[allow(dead_code)]
struct Leftovers<V, F> {
    /// The values collected by a table that has settled with a failure.
    values: Vec<Option<V>>,
    /// A verdict that came after the combined promise had settled.
    late: Option<Result<V, F>>,
    /// A failure that lost to an earlier input's.
    lost: Option<F>,
}

impl<V, F> Leftovers<V, F> {
    fn lost(lost: Option<F>) -> Self {
        Leftovers {
            values: Vec::new(),
            late: None,
            lost,
        }
    }

    fn late(verdict: Result<V, F>) -> Self {
        Leftovers {
            late: Some(verdict),
            ..Leftovers::lost(None)
        }
    }

    fn values(values: &mut Vec<Option<V>>) -> Self {
        Leftovers {
            values: core::mem::take(values),
            ..Leftovers::lost(None)
        }
    }
}
