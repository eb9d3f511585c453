//! The cost report: per item moved (per round, per job), what each structure costs in the
//! currencies that decide speed on many cores: RMWs on lines another thread wrote, failed
//! CAS, cross-thread line reads, parks and unparks, and the three call sites that move the
//! most lines. Then the cost model (`lockgate_benches::model`) fitted on three rows of the
//! 16-core figures and checked on the rest.
//!
//! Needs the counting build:
//! `RUSTFLAGS="--cfg lockgate_count" cargo bench -p lockgate-benches --bench costs --target-dir target/count`
//! (`-- --csv` for CSV; `LOCKGATE_COST_ITEMS` items per shape, default 100,000;
//! `LOCKGATE_COST_FILTER` a structure-name substring, which skips the model too;
//! `LOCKGATE_COUNT_INTERLEAVE` = `yield` (default), `spin:N` or `off`).

#[cfg(lockgate_count)]
fn main() {
    use lockgate::__count::{hot_words, reset, top_sites, totals, Counts};
    use lockgate_benches::costs::shapes;
    use lockgate_benches::model::{base_of, delta, fit, PerUnit, Row, Use, ROWS};

    let csv = std::env::args().any(|a| a == "--csv");
    let items: u64 = std::env::var("LOCKGATE_COST_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let per = |c: &Counts, n: u64| {
        let n = n as f64;
        PerUnit {
            shared_writes: (c.cross_rmws + c.cross_stores) as f64 / n,
            transfers: c.transfers() as f64 / n,
            failed_cas: c.failed_cas as f64 / n,
            parks: c.parks as f64 / n,
            unparks: c.unparks as f64 / n,
        }
    };
    if csv {
        println!("structure,shape,unit,units,loads,cross_reads,stores,cross_stores,rmws,cross_rmws,failed_cas,spins,yields,parks,unparks,locks");
    } else {
        println!("| structure | shape | per | RMWs on shared lines | failed CAS | cross-thread reads | parks | unparks | hottest word: transfers, CAS share | top call sites (line transfers per unit) |");
        println!("|---|---|---|---:|---:|---:|---:|---:|---|---|");
    }
    let filter = std::env::var("LOCKGATE_COST_FILTER").ok();
    let mut measured: Vec<(String, String, PerUnit)> = Vec::new();
    for s in shapes() {
        if filter
            .as_ref()
            .is_some_and(|f| !s.structure.contains(f.as_str()))
        {
            continue;
        }
        let ks: &[usize] = match s.structure {
            "select 2ch" => &[2, 4],
            "barrier" => &[2, 4, 8, 16],
            "semaphore" => &[1, 2, 4, 8, 16],
            "WorkerPool" => &[1, 2, 4, 8, 16],
            _ => &[1, 2, 4, 8],
        };
        for &k in ks {
            // Barrier rounds and jobs cost more per unit: fewer of them.
            let n = match s.structure {
                "barrier" => (items / 20).max(1000),
                "WorkerPool" | "pubsub" => (items / 4).max(1000),
                _ => items,
            };
            reset();
            let units = (s.run)(k, n);
            let c = totals();
            let top = top_sites(3);
            // The word with the most transfers: the line most likely to bound throughput.
            let hot_word = hot_words(1).into_iter().next();
            let name = (s.name)(k);
            let u = units as f64;
            if csv {
                println!(
                    "{},{},{},{units},{},{},{},{},{},{},{},{},{},{},{},{}",
                    s.structure,
                    name,
                    s.unit,
                    c.loads,
                    c.cross_reads,
                    c.stores,
                    c.cross_stores,
                    c.rmws,
                    c.cross_rmws,
                    c.failed_cas,
                    c.spins,
                    c.yields,
                    c.parks,
                    c.unparks,
                    c.locks
                );
            } else {
                let short = |site: &str| site.rsplit("src/").next().unwrap_or(site).to_string();
                let sites: Vec<String> = top
                    .into_iter()
                    .map(|(site, sc)| format!("{} {:.2}", short(&site), sc.transfers() as f64 / u))
                    .collect();
                let word = hot_word.as_ref().map_or(String::from("-"), |(site, wc)| {
                    let cas = if wc.rmws > 0 {
                        wc.cas as f64 / wc.rmws as f64
                    } else {
                        0.0
                    };
                    format!("{} {:.2}, {cas:.2}", short(site), wc.transfers() as f64 / u)
                });
                println!(
                    "| {} | {name} | {} | {:.2} | {:.3} | {:.2} | {:.3} | {:.3} | {word} | {} |",
                    s.structure,
                    s.unit,
                    (c.cross_rmws + c.cross_stores) as f64 / u,
                    c.failed_cas as f64 / u,
                    c.cross_reads as f64 / u,
                    c.parks as f64 / u,
                    c.unparks as f64 / u,
                    sites.join("; ")
                );
            }
            measured.push((s.structure.to_string(), name, per(&c, units)));
        }
    }
    if csv || filter.is_some() {
        return;
    }
    // The model: fitted on the rows marked fit, checked on the held-out ones.
    let find = |st: &str, sh: &str| {
        measured
            .iter()
            .find(|(a, b, _)| a == st && b == sh)
            .map(|(_, _, p)| *p)
    };
    // (Δ shared writes, Δ unparks) of a row over its structure's one-thread counts, and the
    // base ns.
    let inputs = |r: &Row| -> Option<((f64, f64), f64)> {
        let at_k = find(r.structure, r.shape)?;
        let (base_shape, base_ns) = base_of(r.structure).unwrap_or(("", 0.0));
        let base_st = if r.structure == "select 2ch" {
            "channel cap1024"
        } else {
            r.structure
        };
        let at_1 = find(base_st, base_shape).unwrap_or_default();
        Some((delta(&at_k, &at_1), base_ns))
    };
    let samples: Vec<((f64, f64), f64)> = ROWS
        .iter()
        .filter(|(_, u)| *u == Use::Fit)
        .filter_map(|(r, _)| inputs(r).map(|(d, base)| (d, 1000.0 / r.lockgate_mops - base)))
        .collect();
    let k = fit(&samples);
    println!();
    println!(
        "Cost model (fitted on the rows marked fit): {:.0} ns per added shared write, {:.0} ns per added unpark",
        k.transfer, k.wake
    );
    println!();
    println!("| 16-core group | row | predicted Mops/s | measured | predicted ÷ peer | measured ÷ peer | error |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut errs = Vec::new();
    for (r, u) in ROWS {
        if *u == Use::Base {
            continue;
        }
        let Some((d, base)) = inputs(r) else {
            continue;
        };
        let pred = 1000.0 / k.ns(base, d);
        let pred_ratio = pred / r.peer_mops;
        let err = pred_ratio / r.ratio - 1.0;
        if *u == Use::HeldOut {
            errs.push(err.abs());
        }
        println!(
            "| {} ÷ {} | {} | {pred:.2} | {:.2} | {pred_ratio:.2}x | {:.2}x | {:+.0}%{} |",
            r.group,
            r.peer,
            if *u == Use::Fit { "fit" } else { "held out" },
            r.lockgate_mops,
            r.ratio,
            err * 100.0,
            if err.abs() > 0.3 { " (>30%)" } else { "" }
        );
    }
    errs.sort_by(f64::total_cmp);
    if !errs.is_empty() {
        println!();
        println!(
            "Held-out rows: {}, median |error| {:.0}%, {} of them off by more than 30%",
            errs.len(),
            errs[errs.len() / 2] * 100.0,
            errs.iter().filter(|e| **e > 0.3).count()
        );
    }
}

#[cfg(not(lockgate_count))]
fn main() {
    eprintln!(
        "the cost report needs the counting build: RUSTFLAGS=\"--cfg lockgate_count\" \
         cargo bench -p lockgate-benches --bench costs --target-dir target/count"
    );
}
