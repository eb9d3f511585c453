#!/usr/bin/env python3
"""Turns criterion's results into the README's ratio table.

Reads target/criterion/**/new/{benchmark,estimates}.json, takes each benchmark's median time
per element, and prints, per group, every implementation's throughput and lockgate's ratio to
each peer measured in the same run. Usage: python3 benches/ratios.py [criterion-dir]
"""
import json
import pathlib
import sys
from collections import defaultdict

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
groups = defaultdict(dict)
for bench in root.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    ns = est["median"]["point_estimate"]
    name = meta.get("function_id") or meta.get("value_str")
    groups[meta["group_id"]][name] = ns

def order(g):
    kind, *rest = g.split("/")
    cap = next((int(p[3:]) for p in rest if p.startswith("cap")), 0)
    shape = next((p for p in rest if p.endswith("c") and "p" in p), "")
    threads = int(shape.split("p")[0]) if shape else 0
    return (kind, -cap, threads, g)

print("| group | implementation | Melem/s (median) | lockgate ratio |")
print("|---|---|---:|---:|")
for g in sorted(groups, key=order):
    impls = groups[g]
    ours = next((k for k in impls if k.startswith("lockgate")), None)
    for name, ns in sorted(impls.items(), key=lambda kv: kv[1]):
        rate = 1e3 / ns
        ratio = "" if name == ours or ours is None else f"{impls[name] / impls[ours]:.2f}x"
        if g.startswith("latency"):
            rate_s = f"{ns:.0f} ns/round trip"
        else:
            rate_s = f"{rate:.2f}"
        print(f"| {g} | {name} | {rate_s} | {ratio} |")
