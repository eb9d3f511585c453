//! Combinators over many promises: `when_all` (the tutorial's `WhenAll`), its fail-fast form,
//! and `when_any`.
//!
//! Each input gets a continuation that records its result in a small shared table and decides,
//! under the table's lock, whether the combined promise is now settled; the combined promise is
//! then resolved outside the lock (resolving runs user continuations). Nothing waits: the
//! inputs' resolvers do the bookkeeping as they complete. The lock is held for a few stores
//! per input, once per input, never on a hot path.

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
    all(promises, false)
}

/// As [`when_all`], but fails with the first error in time, without waiting for the inputs
/// before it.
pub fn when_all_fail_fast<T, I>(promises: I) -> Promise<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Promise<T>>,
{
    all(promises, true)
}

struct All<T: Send + 'static> {
    /// Each input's result, by position; `None` until it completes.
    results: Vec<Option<Outcome<T>>>,
    /// Inputs `0..prefix` have all succeeded (the tutorial's in-order scan, done incrementally).
    prefix: usize,
    /// `Some` until the combined promise is settled.
    resolver: Option<Resolver<Vec<T>>>,
}

fn all<T, I>(promises: I, fail_fast: bool) -> Promise<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Promise<T>>,
{
    let inputs: Vec<Promise<T>> = promises.into_iter().collect();
    let (r, p) = Promise::pending();
    if inputs.is_empty() {
        r.resolve(Vec::new());
        return p;
    }
    let table = Arc::new(Mutex::new(All {
        results: inputs.iter().map(|_| None).collect(),
        prefix: 0,
        resolver: Some(r),
    }));
    for (i, input) in inputs.into_iter().enumerate() {
        let table = table.clone();
        input.on_result(move |out| {
            // User values are dropped and the combined promise resolved outside the lock.
            let (settled, _dropped) = {
                let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                record(&mut t, i, out, fail_fast)
            };
            if let Some((r, outcome)) = settled {
                r.complete(outcome);
            }
        });
    }
    p
}

/// A combined promise's resolver with the outcome it settles with.
type Settle<T> = (Resolver<T>, Outcome<T>);

/// Results no longer needed, dropped by the caller outside the lock.
type Leftovers<T> = Vec<Option<Outcome<T>>>;

/// Records input `i`'s result; returns the resolver and the outcome if that settles it, and
/// whatever results are no longer needed (for the caller to drop outside the lock).
fn record<T: Send + 'static>(
    t: &mut All<T>,
    i: usize,
    out: Outcome<T>,
    fail_fast: bool,
) -> (Option<Settle<Vec<T>>>, Leftovers<T>) {
    let Some(r) = t.resolver.take() else {
        return (None, vec![Some(out)]); // settled already: a late result
    };
    if fail_fast {
        if let Err(e) = out {
            return (Some((r, Err(e))), t.results.drain(..).collect());
        }
    }
    t.results[i] = Some(out);
    while let Some(Some(Ok(_))) = t.results.get(t.prefix) {
        t.prefix += 1;
    }
    if let Some(Some(Err(e))) = t.results.get(t.prefix) {
        let e = e.clone();
        return (Some((r, Err(e))), t.results.drain(..).collect());
    }
    if t.prefix < t.results.len() {
        t.resolver = Some(r);
        return (None, Vec::new());
    }
    let values = t
        .results
        .drain(..)
        .map(|r| match r {
            Some(Ok(v)) => v,
            _ => unreachable!("every input before the prefix end succeeded"),
        })
        .collect();
    (Some((r, Ok(values))), Vec::new())
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
    let inputs: Vec<Promise<T>> = promises.into_iter().collect();
    let (r, p) = Promise::pending();
    if inputs.is_empty() {
        r.complete(Err(PromiseError::NoInputs));
        return p;
    }
    struct Any<T: Send + 'static> {
        /// Inputs still running.
        left: usize,
        /// The failure of the lowest-numbered failed input so far.
        first_err: Option<(usize, PromiseError)>,
        /// `Some` until settled.
        resolver: Option<Resolver<(usize, T)>>,
    }
    let table = Arc::new(Mutex::new(Any {
        left: inputs.len(),
        first_err: None,
        resolver: Some(r),
    }));
    for (i, input) in inputs.into_iter().enumerate() {
        let table = table.clone();
        input.on_result(move |out| {
            let mut late = None; // a losing value, dropped outside the lock
            let settled = {
                let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
                t.left -= 1;
                match out {
                    Ok(v) => match t.resolver.take() {
                        Some(r) => Some((r, Ok((i, v)))),
                        None => {
                            late = Some(v);
                            None
                        }
                    },
                    Err(e) => {
                        if t.first_err.as_ref().map_or(true, |(j, _)| i < *j) {
                            t.first_err = Some((i, e));
                        }
                        match (t.left, t.first_err.take()) {
                            (0, Some((_, e))) => t.resolver.take().map(|r| (r, Err(e))),
                            (_, kept) => {
                                t.first_err = kept;
                                None
                            }
                        }
                    }
                }
            };
            drop(late);
            if let Some((r, outcome)) = settled {
                r.complete(outcome);
            }
        });
    }
    p
}
