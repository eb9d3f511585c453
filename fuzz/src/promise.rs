//! The promise combinator checker: bytes become a sequence of pending promises, resolves,
//! abandons, `then`, `and_then`, `when_all` (seed order and fail-fast) and `when_any`, with
//! `is_done` and zero-timeout reads along the way; a model computes what each promise must
//! hold, and when, from the order in which the resolvers were completed.

use lockgate::future::{
    when_all, when_all_fail_fast, when_any, GetTimeoutError, Promise, PromiseError, Resolver,
};
use std::time::Duration;

/// What a promise is, in terms of resolvers.
#[derive(Clone, Debug)]
enum Expr {
    Leaf(usize),
    Add(Box<Expr>, u32),
    Mul(Box<Expr>, u32),
    /// `when_all(..).then(sum)`; `true` for the fail-fast form; the step it was made at.
    All(Vec<Expr>, bool, usize),
    /// `when_any(..).then(|(i, v)| v + i)`, and the step it was made at.
    Any(Vec<Expr>, usize),
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
        Expr::All(xs, false, made) => {
            // The seed's in-order scan: settled by the first failure once every input before
            // it succeeded, or by the last success.
            let (mut sum, mut time) = (0u32, 0usize);
            for x in xs {
                let (o, t) = eval(x, res)?;
                time = time.max(t);
                match o {
                    Ok(v) => sum = sum.wrapping_add(v),
                    Err(e) => return Some((Err(e), time.max(*made))),
                }
            }
            Some((Ok(sum), time.max(*made)))
        }
        Expr::All(xs, true, made) => {
            // Inputs already in when the combinator was made are seen at that step, in
            // argument order (their continuations run as they are registered).
            let evs: Vec<_> = xs.iter().map(|x| eval(x, res)).collect();
            let first_err = evs
                .iter()
                .flatten()
                .filter(|(o, _)| o.is_err())
                .min_by_key(|(_, t)| (*t).max(*made));
            if let Some((e, t)) = first_err {
                return Some((e.clone(), (*t).max(*made)));
            }
            let mut sum = 0u32;
            let mut time = 0;
            for ev in evs {
                let (o, t) = ev?;
                sum = sum.wrapping_add(o.expect("no error"));
                time = time.max(t);
            }
            Some((Ok(sum), time.max(*made)))
        }
        Expr::Any(xs, made) => {
            if xs.is_empty() {
                return Some((Err(PromiseError::NoInputs), *made));
            }
            let evs: Vec<_> = xs.iter().map(|x| eval(x, res)).collect();
            let first_ok = evs
                .iter()
                .enumerate()
                .filter_map(|(i, ev)| match ev {
                    Some((Ok(v), t)) => Some((i, *v, *t)),
                    _ => None,
                })
                .min_by_key(|(_, _, t)| (*t).max(*made));
            if let Some((i, v, t)) = first_ok {
                return Some((Ok(v.wrapping_add(i as u32)), t.max(*made)));
            }
            // All failed: the first in argument order, once the last is in.
            let mut time = 0;
            let mut first = None;
            for ev in evs {
                let (o, t) = ev?;
                time = time.max(t);
                first = first.or(o.err());
            }
            Some((Err(first.expect("every input failed")), time.max(*made)))
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
        match op % 9 {
            0 => {
                let (r, p) = Promise::pending();
                promises.push((p, Expr::Leaf(resolvers.len())));
                resolvers.push(Some(r));
                res.push(Res::Pending);
            }
            1 | 2 if !resolvers.is_empty() => {
                let k = pick(resolvers.len());
                if let Some(r) = resolvers[k].take() {
                    if op % 9 == 1 {
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
                if op % 9 == 3 {
                    promises.push((
                        p.then(move |v| v.wrapping_add(a)),
                        Expr::Add(Box::new(e), a),
                    ));
                } else {
                    let chained = p.and_then(move |v| Promise::ready(v.wrapping_mul(a)));
                    promises.push((chained, Expr::Mul(Box::new(e), a)));
                }
            }
            5..=7 => {
                let n = (arg % 4) as usize;
                let mut ps = Vec::new();
                let mut es = Vec::new();
                for _ in 0..n.min(promises.len()) {
                    let (p, e) = promises.swap_remove(pick(promises.len()));
                    ps.push(p);
                    es.push(e);
                }
                let (p, e) = match op % 9 {
                    5 => (
                        when_all(ps).then(|v| v.iter().fold(0u32, |s, x| s.wrapping_add(*x))),
                        Expr::All(es, false, step),
                    ),
                    6 => (
                        when_all_fail_fast(ps)
                            .then(|v| v.iter().fold(0u32, |s, x| s.wrapping_add(*x))),
                        Expr::All(es, true, step),
                    ),
                    _ => (
                        when_any(ps).then(|(i, v)| v.wrapping_add(i as u32)),
                        Expr::Any(es, step),
                    ),
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
