#!/usr/bin/env python3
"""Auth ÷ no auth per server, workload and size, from an `etcdkit bench --auth-cost` result.json
(default: the one in this folder): median req/s over the trials, and servers' CPU µs per request."""
import json, os, statistics as st, sys
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "result.json")
r = json.load(open(path))
fig = {}
for run in r["runs"]:
    for w in run["workloads"]:
        ok = [t for t in w["trials"] if t.get("throughput")]
        if not ok:
            continue
        thr = st.median(t["throughput"] for t in ok)
        cpu = st.median(sum(m.get("cpuPercentMean", 0) for m in t.get("members", [])) / 100 / t["throughput"] * 1e6 for t in ok)
        fig[(run["members"], w["name"], run["server"], bool(run.get("auth")))] = (thr, cpu)
print("| members | workload | server | no auth req/s | auth req/s | auth ÷ no auth | CPU µs per request, no auth → auth |")
print("| ---: | --- | --- | ---: | ---: | ---: | ---: |")
for (m, w, s, a) in sorted(k for k in fig if not k[3]):
    if (m, w, s, True) not in fig:
        continue
    (t0, c0), (t1, c1) = fig[(m, w, s, False)], fig[(m, w, s, True)]
    print(f"| {m} | {w} | {s} | {t0:,.0f} | {t1:,.0f} | {t1/t0:.2f}× | {c0:,.0f} → {c1:,.0f} |")
