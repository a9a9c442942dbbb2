#!/usr/bin/env python3
"""Medians of the interleaved etcdprobe passes in this folder (before / refactor / today / etcd).

A run is left out when more than 0.5 core of the machine was busy with something other than the
probe and the servers (etcdprobe records machine CPU, its own and the servers'): that happened once,
while another job copied files during pass 1 of 'today' on 3 members.
"""
import json, statistics as st, sys, os
here = os.path.dirname(os.path.abspath(__file__))
rows, dropped = {}, []
for lab in ["before", "refactor", "today", "etcd"]:
    for line in open(os.path.join(here, f"{lab}.jsonl")):
        d = json.loads(line)
        if d["cmd"] not in ("put", "range"):
            continue
        p, e = d["params"], d["env"]
        other = e["machine_cpu_busy_pct"] / 100 * 2 - e["probe_cpu_cores"] - e["server_cpu_cores"]
        key = (len(p["endpoints"]), d["cmd"] + (f" ({p['consistency']})" if d["cmd"] == "range" else ""), p["clients"])
        if other > 0.5:
            dropped.append((lab, d["time"], key, round(other, 2)))
            continue
        rows.setdefault(key, {}).setdefault(lab, []).append(d["result"]["throughput_rps"])
print("| members | op | clients | before | refactor | today | etcd 3.4.23 | refactor ÷ before | today ÷ before |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in sorted(rows):
    r = rows[k]
    med = {l: st.median(v) for l, v in r.items()}
    cell = lambda l: f"{med[l]:,.0f} ({min(r[l]):,.0f}–{max(r[l]):,.0f}, n={len(r[l])})" if l in r else "–"
    print(f"| {k[0]} | {k[1]} | {k[2]} | {cell('before')} | {cell('refactor')} | {cell('today')} | {cell('etcd')} | {med['refactor']/med['before']:.2f}× | {med['today']/med['before']:.2f}× |")
print()
for d in dropped:
    print(f"left out: {d}", file=sys.stderr)
