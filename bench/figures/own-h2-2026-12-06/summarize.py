#!/usr/bin/env python3
"""Paired A/B of ab.sh lines: per cell, each build's throughput, p50 and server CPU per request, and new/base."""
import json, statistics, sys
from collections import defaultdict
if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print("usage: summarize.py AB.jsonl  (lines written by bench/figures/grpcwire-2026-12-05/ab.sh)"); sys.exit(0)
cells = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    d = json.loads(line); r = d["res"]; res = r["result"]; env = r["env"]
    rps = res["throughput_rps"]
    cells[(d["n"], d["w"], d["clients"])][d["build"]].append((rps, res["latency"]["p50_ms"], res["latency"]["p99_ms"], 1e6 * env["server_cpu_cores"] / rps if rps else 0))
print("| members | workload | clients | base req/s | new req/s | new/base | p50 ms base → new | p99 ms base → new | server CPU µs/req base → new |")
print("| ---: | --- | ---: | ---: | ---: | ---: | --- | --- | --- |")
for (n, w, c), b in sorted(cells.items()):
    med = lambda k, i: statistics.median(x[i] for x in b[k])
    print(f"| {n} | {w} | {c} | {med('base',0):,.0f} | {med('new',0):,.0f} | {med('new',0)/med('base',0):.2f}× | {med('base',1):.2f} → {med('new',1):.2f} | {med('base',2):.2f} → {med('new',2):.2f} | {med('base',3):.0f} → {med('new',3):.0f} |")
