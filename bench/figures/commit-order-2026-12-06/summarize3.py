#!/usr/bin/env python3
"""ab3.sh lines: per cell, each build's median throughput and p50, and each build's ratio to build a, per round
(rounds pair the builds on the same minutes of the machine), with the median of those ratios."""
import json, statistics, sys
from collections import defaultdict
if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print("usage: summarize3.py RES3.jsonl"); sys.exit(0)
cells = defaultdict(lambda: defaultdict(dict))
for line in open(sys.argv[1]):
    d = json.loads(line); res = d["res"]["result"]
    cells[(d["n"], d["w"])][d["round"]][d["build"]] = (res["throughput_rps"], res["latency"]["p50_ms"])
print("| members | workload | a req/s | b req/s | c req/s | b/a per round (median) | c/a per round (median) | c/b per round (median) |")
print("| ---: | --- | ---: | ---: | ---: | --- | --- | --- |")
for (n, w), rounds in sorted(cells.items()):
    full = [x for x in rounds.values() if len(x) == 3]
    med = lambda b: statistics.median(x[b][0] for x in full)
    ratio = lambda p, q: [x[p][0] / x[q][0] for x in full]
    fmt = lambda rs: " ".join(f"{v:.2f}" for v in rs) + f" ({statistics.median(rs):.2f})"
    print(f"| {n} | {w} | {med('a'):,.0f} | {med('b'):,.0f} | {med('c'):,.0f} | {fmt(ratio('b','a'))} | {fmt(ratio('c','a'))} | {fmt(ratio('c','b'))} |")
