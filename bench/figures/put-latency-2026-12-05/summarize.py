#!/usr/bin/env python3
"""Markdown tables from run.sh's JSON lines: per (members, clients, server) the median throughput
(min-max), median p50/p99, server CPU per put (all members, all threads, from /proc) and load; and
the ratios to etcd 3.4 of the same round (paired), median over rounds.
  summarize.py put-run1.jsonl [put-run2.jsonl ...]"""
import json, statistics as st, sys
from collections import defaultdict

if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print(__doc__); sys.exit(0)
runs = []
for i, f in enumerate(sys.argv[1:]):
    for line in open(f):
        r = json.loads(line); r["run"] = i + 1; runs.append(r)
g = defaultdict(list)
by_round = {}
for r in runs:
    k = (r["cluster"]["members"], r["params"]["clients"], r["server"])
    g[k].append(r)
    by_round[(r["run"], r["round"]) + k] = r
med = lambda xs: st.median(xs) if xs else float("nan")
rps = lambda r: r["result"]["throughput_rps"]
cpu = lambda r: r["env"].get("server_cpu_cores", 0) * 1e6 / max(1, rps(r))
print("| members | conns/clients | server | rounds | req/s median (min-max) | p50 ms | p99 ms | server CPU µs/put | load1 mean |")
print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
for k in sorted(g, key=lambda k: (k[0], k[1], ["etcd", "base", "branch"].index(k[2]))):
    v = g[k]; xs = [rps(r) for r in v]
    print(f"| {k[0]} | {v[0]['params']['conns']}/{k[1]} | {k[2]} | {len(v)} | {med(xs):.0f} ({min(xs):.0f}-{max(xs):.0f}) | "
          f"{med([r['result']['latency']['p50_ms'] for r in v]):.2f} | {med([r['result']['latency']['p99_ms'] for r in v]):.1f} | "
          f"{med([cpu(r) for r in v]):.0f} | {med([r['env']['load1_mean'] for r in v]):.1f} |")
print()
print("| members | clients | base / etcd (paired, median; per round) | branch / etcd | branch / base | CPU µs/put base → branch (etcd) |")
print("|---:|---:|---|---|---|---|")
for m, c in sorted({(k[0], k[1]) for k in g}):
    ratios = defaultdict(list)
    for (run, rnd, mm, cc, s), r in by_round.items():
        if (mm, cc) != (m, c) or s != "etcd": continue
        b = by_round.get((run, rnd, m, c, "base")); n = by_round.get((run, rnd, m, c, "branch"))
        if b: ratios["be"].append(rps(b) / rps(r))
        if n: ratios["ne"].append(rps(n) / rps(r))
        if b and n: ratios["nb"].append(rps(n) / rps(b))
    fmt = lambda xs: f"{med(xs):.2f}× ({', '.join(f'{x:.2f}' for x in xs)})"
    c_b = med([cpu(r) for r in g[(m, c, 'base')]]); c_n = med([cpu(r) for r in g[(m, c, 'branch')]]); c_e = med([cpu(r) for r in g[(m, c, 'etcd')]])
    print(f"| {m} | {c} | {fmt(ratios['be'])} | {fmt(ratios['ne'])} | {fmt(ratios['nb'])} | {c_b:.0f} → {c_n:.0f} ({c_e:.0f}) |")
