#!/usr/bin/env python3
"""Per micro run (fsync-prealloc.mjs --json output files): each mode paired with "grow" of the same
round, median over rounds (statistics.median) of the p50 / p90 / mean latency ratios, and how many
rounds the mode's mean was lower; the load average range of the run.
  micro-summary.py micro-run1.txt [micro-run2.txt ...]"""
import json, statistics as st, sys

if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print(__doc__); sys.exit(0)
print("| run | rounds x syncs | load1 | mode | p50 ratio | p90 ratio | mean ratio | rounds faster (mean) |")
print("|---|---|---|---|---:|---:|---:|---:|")
for f in sys.argv[1:]:
    d = json.loads([l for l in open(f) if l.startswith("{")][-1])
    rows = d["rows"]; by = {(r["round"], r["mode"]): r for r in rows}
    rounds = sorted({r["round"] for r in rows})
    loads = [r["load1Before"] for r in rows] + [r["load1After"] for r in rows]
    for m in [m for m in d["opts"]["modes"].split(",") if m != "grow"]:
        ratio = lambda k: st.median(by[(x, m)][k] / by[(x, "grow")][k] for x in rounds)
        faster = sum(1 for x in rounds if by[(x, m)]["mean"] < by[(x, "grow")]["mean"])
        print(f"| {f} | {len(rounds)} x {d['opts']['syncs']} | {min(loads):.1f}-{max(loads):.1f} | {m} | {ratio('p50'):.2f} | {ratio('p90'):.2f} | {ratio('mean'):.2f} | {faster}/{len(rounds)} |")
