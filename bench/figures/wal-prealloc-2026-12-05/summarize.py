#!/usr/bin/env python3
"""Markdown tables from run.sh's JSON lines: per (members, clients, server) the median throughput
(min-max), median p50/p90/p99, load; then branch/main ratios of the same round (paired).
  summarize.py OUT.jsonl [OUT2.jsonl ...]"""
import json, statistics as st, sys
from collections import defaultdict

if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print(__doc__); sys.exit(0)
runs = []
for i, f in enumerate(sys.argv[1:]):
    for line in open(f):
        if line.strip():
            r = json.loads(line); r["run"] = i + 1; runs.append(r)
g = defaultdict(list); by = {}
for r in runs:
    k = (r["cluster"]["members"], r["params"]["clients"], r["server"])
    g[k].append(r); by[(r["run"], r["round"]) + k] = r
med = lambda xs: st.median(xs) if xs else float("nan")
rps = lambda r: r["result"]["throughput_rps"]
lat = lambda r, p: r["result"]["latency"][p]
order = ["etcd", "main", "branch"]
print("| members | conns/clients | server | rounds | req/s median (min-max) | p50 ms | p90 ms | p99 ms | errors | load1 mean (min-max) |")
print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for k in sorted(g, key=lambda k: (k[0], k[1], order.index(k[2]))):
    v = g[k]; xs = [rps(r) for r in v]; ld = [r["env"]["load1_mean"] for r in v]
    print(f"| {k[0]} | {v[0]['params']['conns']}/{k[1]} | {k[2]} | {len(v)} | {med(xs):.0f} ({min(xs):.0f}-{max(xs):.0f}) | "
          f"{med([lat(r, 'p50_ms') for r in v]):.2f} | {med([lat(r, 'p90_ms') for r in v]):.2f} | {med([lat(r, 'p99_ms') for r in v]):.1f} | "
          f"{sum(r['result']['errors'] for r in v)} | {med(ld):.1f} ({min(ld):.1f}-{max(ld):.1f}) |")
print("\nPaired (same round): branch / main\n")
print("| members | clients | per-round req/s ratio | median | per-round p50 ratio | median |")
print("|---:|---:|---|---:|---|---:|")
for m, c in sorted({(k[0], k[1]) for k in g}):
    rr, pr = [], []
    for (run, rnd, mm, cc, s), r in by.items():
        if (mm, cc, s) == (m, c, "branch") and (run, rnd, m, c, "main") in by:
            b = by[(run, rnd, m, c, "main")]
            rr.append(rps(r) / rps(b)); pr.append(lat(r, "p50_ms") / lat(b, "p50_ms"))
    if rr:
        print(f"| {m} | {c} | {' '.join(f'{x:.2f}' for x in rr)} | {med(rr):.2f} | {' '.join(f'{x:.2f}' for x in pr)} | {med(pr):.2f} |")
