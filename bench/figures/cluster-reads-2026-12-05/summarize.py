#!/usr/bin/env python3
"""Table of paired.sh results: per cell and build, req/s and server CPU µs per request (all members'
utime+stime over the run from /proc, as etcdprobe records it, divided by requests), each run listed
in pass order, and the most CPU anything else used during a run of the cell ("others": the machine's
busy cores minus the servers' and the probe's; the idle second cluster's ~0.03 cores are in it).
A pass's pair (the two builds' runs of a cell in one pass) is left out, and counted, when either run
had others above --max-others cores (default: keep all).

  summarize.py [--max-others CORES] results.jsonl [more.jsonl ...]
"""
import json, sys
from collections import defaultdict
args = sys.argv[1:]
if not args or args[0] in ("-h", "--help"):
    print(__doc__); sys.exit(0)
max_others = float("inf")
if args[0] == "--max-others":
    max_others = float(args[1]); args = args[2:]
seq = defaultdict(int)
runs = {}  # (file, cell, pass) -> {build: run}
for fi, f in enumerate(args):
    for line in open(f):
        r = json.loads(line)
        p, res, env = r["params"], r["result"], r["env"]
        cell = (p["consistency"], p["clients"])
        k = (fi, cell, r["build"]); n = seq[k]; seq[k] += 1
        others = env["machine_cpu_busy_pct"] / 100 * env["ncpu"] - env["server_cpu_cores"] - env["probe_cpu_cores"]
        run = dict(rps=res["throughput_rps"], cpu=env["server_cpu_cores"] * res["elapsed_s"] * 1e6 / res["succeeded"],
                   load=(env["loadavg_start"][0], env["load1_max"]), others=others)
        runs.setdefault((fi, cell, n), {})[r["build"]] = run
mean = lambda xs: sum(xs) / len(xs)
print("| op | clients | before req/s | after req/s | after ÷ before | CPU µs/req before | CPU µs/req after | pairs with less CPU after | pairs (left out) | load | others, cores |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for cell in [("s", 1), ("s", 100), ("l", 1), ("l", 100)]:
    pairs = [v for k, v in sorted(runs.items()) if k[1] == cell and len(v) == 2]
    kept = [v for v in pairs if max(v["before"]["others"], v["after"]["others"]) <= max_others]
    if not kept: continue
    b, a = [v["before"] for v in kept], [v["after"] for v in kept]
    rb, ra, cb, ca = mean([x["rps"] for x in b]), mean([x["rps"] for x in a]), mean([x["cpu"] for x in b]), mean([x["cpu"] for x in a])
    loads = [l for x in b + a for l in x["load"]]
    each = lambda xs, key, fmt: "/".join(format(x[key], fmt) for x in xs)
    better = sum(1 for x, y in zip(b, a) if y["cpu"] < x["cpu"])
    print(f"| range ({cell[0]}) | {cell[1]} | {rb:,.0f} ({each(b, 'rps', ',.0f')}) | {ra:,.0f} ({each(a, 'rps', ',.0f')}) | {ra/rb:.2f}× "
          f"| {cb:.0f} ({each(b, 'cpu', '.0f')}) | {ca:.0f} ({each(a, 'cpu', '.0f')}) | {better} of {len(kept)} | {len(kept)} ({len(pairs) - len(kept)}) "
          f"| {min(loads):.1f}–{max(loads):.1f} | ≤ {max(x['others'] for x in b + a):.2f} |")
