#!/usr/bin/env python3
"""Markdown tables from run.sh's JSON lines: per (members, clients, server) the median throughput
(min-max), p50/p99, servers' CPU per acknowledged put (all members, all threads, /proc) with every
round's value, and the load; then after/before paired by round (median, per round).
  summarize.py run1.jsonl [run2.jsonl ...]"""
import json, statistics as st, sys
from collections import defaultdict

if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print(__doc__); sys.exit(0)
rows = []
for i, f in enumerate(sys.argv[1:]):
    for line in open(f):
        r = json.loads(line); r["run"] = i + 1; rows.append(r)
g = defaultdict(list); by = {}
for r in rows:
    k = (r["cluster"]["members"], r["params"]["clients"], r["server"])
    g[k].append(r); by[(r["run"], r["round"]) + k] = r
med = lambda xs: st.median(xs) if xs else float("nan")
rps = lambda r: r["result"]["throughput_rps"]
cpu = lambda r: r["env"].get("server_cpu_cores", 0) * 1e6 / max(1e-9, rps(r))
load = lambda r: r["env"]["load1_mean"]
order = ["before", "after"]
print("| members | conns/clients | server | rounds | req/s median (min-max) | p50 ms | p99 ms | server CPU µs/put median (per round) | server CPU cores | load1 mean (per round) |")
print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for k in sorted(g, key=lambda k: (k[0], k[1], order.index(k[2]))):
    v = sorted(g[k], key=lambda r: (r["run"], r["round"])); xs = [rps(r) for r in v]
    print(f"| {k[0]} | {v[0]['params']['conns']}/{k[1]} | {k[2]} | {len(v)} | {med(xs):.0f} ({min(xs):.0f}-{max(xs):.0f}) | "
          f"{med([r['result']['latency']['p50_ms'] for r in v]):.2f} | {med([r['result']['latency']['p99_ms'] for r in v]):.1f} | "
          f"{med([cpu(r) for r in v]):.0f} ({', '.join(f'{cpu(r):.0f}' for r in v)}) | {med([r['env']['server_cpu_cores'] for r in v]):.2f} | "
          f"{med([load(r) for r in v]):.1f} ({', '.join(f'{load(r):.1f}' for r in v)}) |")
print()
print("| members | clients | throughput after/before (paired by round: median; per round) | CPU µs/put after/before (median; per round) |")
print("|---:|---:|---|---|")
for m, c in sorted({(k[0], k[1]) for k in g}):
    t, u = [], []
    for (run, rnd, mm, cc, s), b in sorted(by.items()):
        if (mm, cc) != (m, c) or s != "before": continue
        a = by.get((run, rnd, m, c, "after"))
        if a: t.append(rps(a) / rps(b)); u.append(cpu(a) / cpu(b))
    f = lambda xs: f"{med(xs):.2f}× ({', '.join(f'{x:.2f}' for x in xs)})"
    print(f"| {m} | {c} | {f(t)} | {f(u)} |")
