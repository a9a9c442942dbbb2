#!/usr/bin/env python3
"""etcd-ts beside etcd 3.4.23 from the etcdprobe JSON lines in this folder: median req/s, the ratio,
and server CPU per request (all members' CPU over the run ÷ requests), per size, op and clients.
Usage: summarize.py [FOLDER] (default: this one; final-2-2026-12-05 holds the second set)."""
import json, os, statistics as st, sys
here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rows, fail = {}, {}
for lab in ["etcd-ts", "etcd"]:
    for line in open(os.path.join(here, f"{lab}.jsonl")):
        d = json.loads(line)
        if d["cmd"] == "failover":
            fail.setdefault(lab, []).append(d)
            continue
        if d["cmd"] not in ("put", "range"):
            continue
        p, e = d["params"], d["env"]
        key = (len(p["endpoints"]), d["cmd"] + (f" ({p['consistency']})" if d["cmd"] == "range" else ""), p["clients"])
        thr = d["result"]["throughput_rps"]
        rows.setdefault(key, {}).setdefault(lab, []).append((thr, e["server_cpu_cores"] / thr * 1e6, e["load1_mean"]))
print("| members | op | clients | etcd-ts req/s | etcd req/s | etcd-ts ÷ etcd | CPU µs per request, etcd-ts / etcd | runs | load |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for k in sorted(rows):
    a, b = rows[k]["etcd-ts"], rows[k]["etcd"]
    ma, mb = st.median(x[0] for x in a), st.median(x[0] for x in b)
    ca, cb = st.median(x[1] for x in a), st.median(x[1] for x in b)
    loads = [x[2] for x in a + b]
    print(f"| {k[0]} | {k[1]} | {k[2]} | {ma:,.0f} | {mb:,.0f} | {ma/mb:.2f}× | {ca:,.0f} / {cb:,.0f} | {len(a)} | {min(loads):.1f}–{max(loads):.1f} |")
