#!/usr/bin/env python3
"""Medians of measure.sh's JSON lines: idle CPU per member, and server CPU per range request.

  summarize.py FILE.jsonl [FILE.jsonl ...]

CPU per request = every member's CPU during the timed part (etcdprobe --pid-dir) ÷ requests served.
Runs with more than 0.5 core busy outside the probe and the servers are listed, not left out.
"""
import json, sys, statistics as st, collections

idle, rng, busy = collections.defaultdict(list), collections.defaultdict(list), []
labels = []
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        lab = d["label"]
        if lab not in labels:
            labels.append(lab)
        if d["cmd"] == "idle":
            idle[(d["members"], lab)].append(d["cores_per_member"] * 1000)  # millicores
            continue
        if d["cmd"] != "range" or not d.get("ok"):
            continue
        p, e, r = d["params"], d["env"], d["result"]
        n = len(d["cluster"]["endpoints"]) if d.get("cluster") else len(p["endpoints"])
        key = (n, p["consistency"], p["clients"], p.get("rate", 0), lab)
        us = e["server_cpu_cores"] * e["wall_s"] / r["succeeded"] * 1e6
        rng[key].append((us, r["throughput_rps"], e["load1_mean"]))
        other = e["machine_cpu_busy_pct"] / 100 * e["ncpu"] - e["probe_cpu_cores"] - e["server_cpu_cores"]
        if other > 0.5:
            busy.append((lab, d["time"], key[:4], round(other, 2)))

def med(v):
    return st.median(v) if v else float("nan")

print("### Idle CPU per member (millicores, no client, over measure.sh's idle window: IDLE_S, 1 member 10 s)\n")
print("| members | " + " | ".join(labels) + " |")
print("|---:|" + "---:|" * len(labels))
for n in sorted({k[0] for k in idle}):
    cells = []
    for l in labels:
        v = idle.get((n, l), [])
        cells.append(f"{med(v):.1f} ({', '.join(f'{x:.1f}' for x in v)})" if v else "–")
    print(f"| {n} | " + " | ".join(cells) + " |")

print("\n### Server CPU per range request (µs, all members), median (runs); throughput median req/s; load1 mean\n")
print("| members | consistency | clients | rate limit | " + " | ".join(f"{l} µs/req | {l} req/s" for l in labels) + " | load1 (median) |")
print("|---:|---|---:|---:|" + "---:|---:|" * len(labels) + "---:|")
for k in sorted({k[:4] for k in rng}):
    cells, loads = [], []
    for l in labels:
        v = rng.get(k + (l,), [])
        loads += [x[2] for x in v]
        if not v:
            cells += ["–", "–"]
            continue
        cells.append(f"**{med([x[0] for x in v]):.0f}** ({', '.join(f'{x[0]:.0f}' for x in v)})")
        cells.append(f"{med([x[1] for x in v]):,.0f}")
    print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3] or '–'} | " + " | ".join(cells) + f" | {med(loads):.2f} |")
if busy:
    print(f"\n{len(busy)} of {sum(len(v) for v in rng.values())} runs had more than 0.5 core busy outside the probe and the servers (median {med([b[3] for b in busy]):.2f} cores)")
