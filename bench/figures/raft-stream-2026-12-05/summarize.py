#!/usr/bin/env python3
"""Medians of the interleaved etcdprobe passes in this folder (before / streams / inline / etcd):
req/s (min–max, n), p50 ms, server CPU µs per request (all members' CPU over the run ÷ requests),
and the ratios. A run is left out when more than 0.5 core was busy with something other than the
probe and the servers (etcdprobe records machine CPU, its own and the servers')."""
import json, os, statistics as st, sys
here = os.path.dirname(os.path.abspath(__file__))
labs = [l for l in ["before", "streams", "inline", "etcd"] if os.path.exists(os.path.join(here, f"{l}.jsonl"))]
rows, dropped = {}, []
for lab in labs:
    for line in open(os.path.join(here, f"{lab}.jsonl")):
        d = json.loads(line)
        if d["cmd"] not in ("put", "range"):
            continue
        p, e = d["params"], d["env"]
        key = (len(p["endpoints"]), d["cmd"] + (f" ({p['consistency']})" if d["cmd"] == "range" else ""), p["clients"])
        other = e["machine_cpu_busy_pct"] / 100 * e["ncpu"] - e["probe_cpu_cores"] - e["server_cpu_cores"]
        if other > 0.5:
            dropped.append((lab, d["time"], key, round(other, 2)))
            continue
        thr = d["result"]["throughput_rps"]
        rows.setdefault(key, {}).setdefault(lab, []).append((thr, d["result"]["latency"]["p50_ms"], e["server_cpu_cores"] / thr * 1e6, e["load1_mean"]))
med = lambda xs, i: st.median(x[i] for x in xs)
print("| members | op | clients | " + " | ".join(f"{l} req/s (min–max, n)" for l in labs) + " | p50 ms " + " / ".join(labs) + " | CPU µs/req " + " / ".join(labs) + " | streams ÷ before | inline ÷ streams | streams ÷ etcd | inline ÷ etcd |")
print("| ---: | --- | ---: | " + " | ".join("---:" for _ in labs) + " | ---: | ---: | ---: | ---: | ---: | ---: |")
ratio = lambda r, a, b: f"{med(r[a], 0) / med(r[b], 0):.2f}×" if a in r and b in r else "–"
for k in sorted(rows):
    r = rows[k]
    cell = lambda l: f"{med(r[l], 0):,.0f} ({min(x[0] for x in r[l]):,.0f}–{max(x[0] for x in r[l]):,.0f}, {len(r[l])})" if l in r else "–"
    p50 = " / ".join(f"{med(r[l], 1):.2f}" if l in r else "–" for l in labs)
    cpu = " / ".join(f"{med(r[l], 2):,.0f}" if l in r else "–" for l in labs)
    print(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(cell(l) for l in labs) + f" | {p50} | {cpu} | {ratio(r, 'streams', 'before')} | {ratio(r, 'inline', 'streams')} | {ratio(r, 'streams', 'etcd')} | {ratio(r, 'inline', 'etcd')} |")
loads = [x[3] for r in rows.values() for xs in r.values() for x in xs]
if loads:
    print(f"\nload1 mean over the runs: {min(loads):.1f}–{max(loads):.1f}")
for d in dropped:
    print(f"left out: {d}", file=sys.stderr)
