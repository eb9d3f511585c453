//! The promise combinator checker: bytes become a sequence of pending promises, resolves,
//! abandons, `then`, `and_then`, `when_all` (seed order and fail-fast) and `when_any`, and the
//! same three over `Result` (`try_when_all`, `try_when_all_fail_fast`, `try_when_any`), with
//! `is_done` and zero-timeout reads along the way; a model computes what each promise must
//! hold, and when, from the order in which the resolvers were completed.
//!
//! The fallible forms read their inputs through [`to_result`] (a value that is 3 modulo 4 is
//! an `Err`) and give their result back as a `u32` through [`encode`], so every promise stays
//! a `Promise<u32>` and one model covers both families.

use lockgate::future::{
    try_when_all, try_when_all_fail_fast, try_when_any, when_all, when_all_fail_fast, when_any,
    GetTimeoutError, Promise, PromiseError, Resolver,
};
use std::time::Duration;

/// What a promise is, in terms of resolvers.
#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Add(Box<Expr>, u32),
    Mul(Box<Expr>, u32),
    /// `when_all(..).then(sum)`; `true` for the fail-fast form; how it reads its inputs; the
    /// step it was made at.
    All(Vec<Expr>, bool, Read, usize),
    /// `when_any(..).then(|(i, v)| v + i)`, how it reads its inputs, and the step it was made
    /// at.
    Any(Vec<Expr>, Read, usize),
}

/// Which family a combinator belongs to.
#[derive(Clone, Copy, Debug)]
enum Read {
    /// `when_*` over the `u32` inputs.
    Plain,
    /// `try_when_*` over the inputs mapped by [`to_result`]; the result mapped by [`encode`].
    Fallible,
}

/// How the fallible forms' inputs are made: a value that is 3 modulo 4 is an `Err`.
fn to_result(v: u32) -> Result<u32, u32> {
    if v % 4 == 3 {
        Err(v)
    } else {
        Ok(v)
    }
}

/// A fallible combinator's result as a `u32`: the kind in the low bit.
fn encode(r: Result<u32, u32>) -> u32 {
    match r {
        Ok(v) => v << 1,
        Err(e) => e << 1 | 1,
    }
}

/// An input's outcome as a combinator reads it: a success, or a failure with what the
/// combined promise holds if that failure decides.
fn classify(read: Read, o: Result<u32, PromiseError>) -> Result<u32, Result<u32, PromiseError>> {
    match (read, o) {
        (_, Err(e)) => Err(Err(e)),
        (Read::Plain, Ok(v)) => Ok(v),
        (Read::Fallible, Ok(v)) => to_result(v).map_err(|e| Ok(encode(Err(e)))),
    }
}

/// What the combined promise holds for what its successes make.
fn success(read: Read, v: u32) -> u32 {
    match read {
        Read::Plain => v,
        Read::Fallible => encode(Ok(v)),
    }
}

#[derive(Clone, Copy, Debug)]
enum Res {
    Pending,
    /// Value and the step at which it was resolved.
    Value(u32, usize),
    Abandoned(usize),
}

type Settled = (Result<u32, PromiseError>, usize);

fn eval(e: &Expr, res: &[Res]) -> Option<Settled> {
    match e {
        Expr::Leaf(r) => match res[*r] {
            Res::Pending => None,
            Res::Value(v, t) => Some((Ok(v), t)),
            Res::Abandoned(t) => Some((Err(PromiseError::Abandoned), t)),
        },
        Expr::Add(x, a) => eval(x, res).map(|(o, t)| (o.map(|v| v.wrapping_add(*a)), t)),
        Expr::Mul(x, m) => eval(x, res).map(|(o, t)| (o.map(|v| v.wrapping_mul(*m)), t)),
        Expr::All(xs, false, read, made) => {
            // The seed's in-order scan: settled by the first failure once every input before
            // it succeeded, or by the last success.
            let (mut sum, mut time) = (0u32, 0usize);
            for x in xs {
                let (o, t) = eval(x, res)?;
                time = time.max(t);
                match classify(*read, o) {
                    Ok(v) => sum = sum.wrapping_add(v),
                    Err(out) => return Some((out, time.max(*made))),
                }
            }
            Some((Ok(success(*read, sum)), time.max(*made)))
        }
        Expr::All(xs, true, read, made) => {
            // Inputs already in when the combinator was made are seen at that step, in
            // argument order (their continuations run as they are registered).
            let evs: Vec<_> = xs
                .iter()
                .map(|x| eval(x, res).map(|(o, t)| (classify(*read, o), t)))
                .collect();
            let first_failure = evs
                .iter()
                .flatten()
                .filter(|(c, _)| c.is_err())
                .min_by_key(|(_, t)| (*t).max(*made));
            if let Some((Err(out), t)) = first_failure {
                return Some((out.clone(), (*t).max(*made)));
            }
            let mut sum = 0u32;
            let mut time = 0;
            for ev in evs {
                let (c, t) = ev?;
                sum = sum.wrapping_add(c.expect("no failure"));
                time = time.max(t);
            }
            Some((Ok(success(*read, sum)), time.max(*made)))
        }
        Expr::Any(xs, read, made) => {
            if xs.is_empty() {
                return Some((Err(PromiseError::NoInputs), *made));
            }
            let evs: Vec<_> = xs
                .iter()
                .map(|x| eval(x, res).map(|(o, t)| (classify(*read, o), t)))
                .collect();
            let first_ok = evs
                .iter()
                .enumerate()
                .filter_map(|(i, ev)| match ev {
                    Some((Ok(v), t)) => Some((i, *v, *t)),
                    _ => None,
                })
                .min_by_key(|(_, _, t)| (*t).max(*made));
            if let Some((i, v, t)) = first_ok {
                let won = v.wrapping_add(i as u32);
                return Some((Ok(success(*read, won)), t.max(*made)));
            }
            // All failed: the first in argument order, once the last is in.
            let mut time = 0;
            let mut first = None;
            for ev in evs {
                let (c, t) = ev?;
                time = time.max(t);
                first = first.or(c.err());
            }
            Some((first.expect("every input failed"), time.max(*made)))
        }
    }
}

/// Runs the byte-driven sequence and compares every observation with the model.
pub fn check_promise(data: &[u8]) {
    let mut resolvers: Vec<Option<Resolver<u32>>> = Vec::new();
    let mut res: Vec<Res> = Vec::new();
    let mut promises: Vec<(Promise<u32>, Expr)> = Vec::new();
    let mut step = 0usize;
    for pair in data.chunks(2) {
        step += 1;
        let (op, arg) = (pair[0], pair.get(1).copied().unwrap_or(0));
        if resolvers.len() > 48 {
            break;
        }
        let pick = |n: usize| arg as usize % n.max(1);
        match op % 12 {
            0 => {
                let (r, p) = Promise::pending();
                promises.push((p, Expr::Leaf(resolvers.len())));
                resolvers.push(Some(r));
                res.push(Res::Pending);
            }
            1 | 2 if !resolvers.is_empty() => {
                let k = pick(resolvers.len());
                if let Some(r) = resolvers[k].take() {
                    if op % 12 == 1 {
                        r.resolve(u32::from(arg));
                        res[k] = Res::Value(u32::from(arg), step);
                    } else {
                        drop(r);
                        res[k] = Res::Abandoned(step);
                    }
                }
            }
            3 | 4 if !promises.is_empty() => {
                let (p, e) = promises.swap_remove(pick(promises.len()));
                let a = u32::from(arg);
                if op % 12 == 3 {
                    promises.push((
                        p.then(move |v| v.wrapping_add(a)),
                        Expr::Add(Box::new(e), a),
                    ));
                } else {
                    let chained = p.and_then(move |v| Promise::ready(v.wrapping_mul(a)));
                    promises.push((chained, Expr::Mul(Box::new(e), a)));
                }
            }
            5..=7 | 9..=11 => {
                let n = (arg % 4) as usize;
                let mut ps = Vec::new();
                let mut es = Vec::new();
                for _ in 0..n.min(promises.len()) {
                    let (p, e) = promises.swap_remove(pick(promises.len()));
                    ps.push(p);
                    es.push(e);
                }
                let sum = |v: Vec<u32>| v.iter().fold(0u32, |s, x| s.wrapping_add(*x));
                let won = |(i, v): (usize, u32)| v.wrapping_add(i as u32);
                let (p, e) = match op % 12 {
                    5 => (
                        when_all(ps).then(sum),
                        Expr::All(es, false, Read::Plain, step),
                    ),
                    6 => (
                        when_all_fail_fast(ps).then(sum),
                        Expr::All(es, true, Read::Plain, step),
                    ),
                    7 => (when_any(ps).then(won), Expr::Any(es, Read::Plain, step)),
                    form => {
                        let ps: Vec<_> = ps.into_iter().map(|p| p.then(to_result)).collect();
                        match form {
                            9 => (
                                try_when_all(ps).then(move |r| encode(r.map(sum))),
                                Expr::All(es, false, Read::Fallible, step),
                            ),
                            10 => (
                                try_when_all_fail_fast(ps).then(move |r| encode(r.map(sum))),
                                Expr::All(es, true, Read::Fallible, step),
                            ),
                            _ => (
                                try_when_any(ps).then(move |r| encode(r.map(won))),
                                Expr::Any(es, Read::Fallible, step),
                            ),
                        }
                    }
                };
                promises.push((p, e));
            }
            8 if !promises.is_empty() => {
                let k = pick(promises.len());
                let (p, e) = promises.swap_remove(k);
                let want = eval(&e, &res);
                assert_eq!(p.is_done(), want.is_some(), "is_done of {e:?}");
                match (p.get_timeout(Duration::ZERO), want) {
                    (Ok(v), Some((Ok(w), _))) => assert_eq!(v, w, "{e:?}"),
                    (Err(GetTimeoutError::Failed(x)), Some((Err(y), _))) => {
                        assert_eq!(x, y, "{e:?}")
                    }
                    (Err(GetTimeoutError::Timeout(p)), None) => promises.push((p, e)),
                    (got, want) => panic!("{e:?}: got {got:?}, model {want:?}"),
                }
            }
            _ => {}
        }
        for (p, e) in &promises {
            assert_eq!(p.is_done(), eval(e, &res).is_some(), "is_done of {e:?}");
        }
    }
    // Complete every resolver left (alternately resolving and abandoning), then read all.
    for (k, r) in resolvers.iter_mut().enumerate() {
        step += 1;
        if let Some(r) = r.take() {
            if k % 2 == 0 {
                r.resolve(k as u32);
                res[k] = Res::Value(k as u32, step);
            } else {
                drop(r);
                res[k] = Res::Abandoned(step);
            }
        }
    }
    for (p, e) in promises {
        let (want, _) = eval(&e, &res).expect("every resolver completed");
        assert_eq!(p.get(), want, "{e:?}");
    }
}
