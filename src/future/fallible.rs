//! Combinators over promises of `Result<T, E>`: `try_when_all` (the tutorial's `WhenAll`,
//! which returns the first error, with the error inside the value), its fail-fast form, and
//! `try_when_any`.
//!
//! They are the tables of `combine.rs` with another classification: an input's `Ok(v)` is a
//! success, and both its `Err(e)` and its promise's own [`PromiseError`] are failures. The
//! combined promise holds `Ok(..)` when the inputs succeed and `Err(e)` when an input's error
//! decides; a `PromiseError` that decides fails the combined promise itself, as in the plain
//! forms.

use super::cell::Outcome;
use super::combine::{all, any};
use super::{Promise, PromiseError};

/// Why an input of a fallible combinator did not succeed.
enum Failure<E> {
    /// It yielded `Err(e)`.
    Failed(E),
    /// Its promise failed: the computation panicked, or the resolver was dropped.
    Broken(PromiseError),
}

fn classify<T, E>(out: Outcome<Result<T, E>>) -> Result<T, Failure<E>> {
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Failed(e)),
        Err(e) => Err(Failure::Broken(e)),
    }
}

fn finish<W, E>(verdict: Result<W, Failure<E>>) -> Outcome<Result<W, E>> {
    match verdict {
        Ok(w) => Ok(Ok(w)),
        Err(Failure::Failed(e)) => Ok(Err(e)),
        Err(Failure::Broken(e)) => Err(e),
    }
}

/// A promise of every input's `Ok` value, in argument order, or of the first error.
///
/// [`when_all`](super::when_all) over fallible computations: settles, as the tutorial's
/// `WhenAll` does, with the first failure in argument order as soon as every input before it
/// has succeeded, without waiting for the inputs after it. An input's `Err(e)` settles the
/// combined promise with `Ok(Err(e))`; an input's own [`PromiseError`] (it panicked or was
/// abandoned) fails the combined promise with that error. If every input succeeds:
/// `Ok(Ok(values))`. An empty input gives `Ok(Ok(vec![]))` at once. Never blocks a thread.
///
/// ```
/// use lockgate::future::{try_when_all, Promise};
///
/// let parse = |s: &'static str| lockgate::spawn(move || s.parse::<u8>());
/// let all = try_when_all([parse("1"), parse("2")]);
/// assert_eq!(all.get(), Ok(Ok(vec![1, 2])));
///
/// // The second input fails while the third still runs: no need to wait for it.
/// let (_running, third) = Promise::pending();
/// let all = try_when_all([parse("1"), parse("x"), third]);
/// assert!(matches!(all.get(), Ok(Err(_)))); // the `ParseIntError` of "x"
/// ```
pub fn try_when_all<T, E, I>(promises: I) -> Promise<Result<Vec<T>, E>>
where
    T: Send + 'static,
    E: Send + 'static,
    I: IntoIterator<Item = Promise<Result<T, E>>>,
{
    all(promises, false, classify, finish)
}

/// As [`try_when_all`], but settles with the first failure in time (an `Err(e)` or a
/// [`PromiseError`]), without waiting for the inputs before it.
///
/// ```
/// use lockgate::future::{try_when_all_fail_fast, Promise};
///
/// let (_running, first) = Promise::<Result<u32, &str>>::pending();
/// let (failing, second) = Promise::pending();
/// let all = try_when_all_fail_fast([first, second]);
/// failing.resolve(Err("disk full"));
/// assert_eq!(all.get(), Ok(Err("disk full")));
/// ```
pub fn try_when_all_fail_fast<T, E, I>(promises: I) -> Promise<Result<Vec<T>, E>>
where
    T: Send + 'static,
    E: Send + 'static,
    I: IntoIterator<Item = Promise<Result<T, E>>>,
{
    all(promises, true, classify, finish)
}

/// A promise of the first input to yield `Ok`, with its position.
///
/// [`when_any`](super::when_any) over fallible computations: the first `Ok(v)` in time wins
/// `Ok(Ok((index, v)))`. If every input fails, settles with the failure of the first input in
/// argument order: its `Err(e)` as `Ok(Err(e))`, its [`PromiseError`] as the combined
/// promise's error. Over no inputs, fails at once with [`PromiseError::NoInputs`]. Never
/// blocks a thread.
///
/// ```
/// use lockgate::future::{try_when_any, Promise};
///
/// let mirrors = [
///     Promise::ready(Err("mirror 0 down")),
///     Promise::ready(Ok("bytes from mirror 1")),
/// ];
/// assert_eq!(try_when_any(mirrors).get(), Ok(Ok((1, "bytes from mirror 1"))));
///
/// let down = [Promise::<Result<(), _>>::ready(Err("a")), Promise::ready(Err("b"))];
/// assert_eq!(try_when_any(down).get(), Ok(Err("a")));
/// ```
pub fn try_when_any<T, E, I>(promises: I) -> Promise<Result<(usize, T), E>>
where
    T: Send + 'static,
    E: Send + 'static,
    I: IntoIterator<Item = Promise<Result<T, E>>>,
{
    any(promises, classify, finish)
}
