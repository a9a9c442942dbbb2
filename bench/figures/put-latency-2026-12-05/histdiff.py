#!/usr/bin/env python3
"""Mean and interpolated median of Prometheus histograms over a run (after - before), per member.
usage: histdiff.py DIR N   (DIR holds mK.before / mK.after scrapes and probe.json)"""
import json
import re
import sys

NAMES = ["etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds",
         "etcd_network_peer_round_trip_time_seconds"]


def parse(path):
    h = {}
    for line in open(path):
        m = re.match(r'^(\w+)_(bucket|sum|count)(\{[^}]*\})? ([0-9.e+-]+)$', line.strip())
        if not m or m.group(1) not in NAMES:
            continue
        name, kind, labels, v = m.group(1), m.group(2), m.group(3) or "", float(m.group(4))
        le = re.search(r'le="([^"]+)"', labels)
        rest = re.sub(r',?le="[^"]+"', "", labels).replace("{,", "{")
        key = (name, "" if rest == "{}" else rest)
        d = h.setdefault(key, {"b": {}, "sum": 0, "count": 0})
        if kind == "bucket":
            d["b"][float(le.group(1))] = v
        else:
            d[kind] = v
    return h


def median(b, n):
    prev_le, prev_c = 0.0, 0.0
    for le in sorted(b):
        c = b[le]
        if c >= n / 2 and c > prev_c:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (n / 2 - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return float("nan")


d, n = sys.argv[1], int(sys.argv[2])
p = json.load(open(f"{d}/probe.json"))
print(f"probe: {p['result']['throughput_rps']:.0f} req/s, p50 {p['result']['latency']['p50_ms']} ms, "
      f"leader {p['cluster']['leader_name']}, load1 {p['env']['loadavg_start'][0]}")
print("| member | histogram | labels | count | mean µs | median µs |\n|---|---|---|---:|---:|---:|")
for i in range(1, n + 1):
    a, b = parse(f"{d}/m{i}.after"), parse(f"{d}/m{i}.before")
    for key, da in sorted(a.items()):
        db = b.get(key, {"b": {}, "sum": 0, "count": 0})
        cnt = da["count"] - db["count"]
        if cnt <= 0:
            continue
        bk = {le: v - db["b"].get(le, 0) for le, v in da["b"].items()}
        mean = (da["sum"] - db["sum"]) / cnt * 1e6
        print(f"| m{i} | {key[0].replace('etcd_', '')} | {key[1]} | {cnt:.0f} | {mean:.0f} | {median(bk, cnt) * 1e6:.0f} |")
