#!/usr/bin/env python3
"""Medians of watch-warm.sh's lines by members, server and run (over the clusters): event p50 / p99, put p50 / p99
(ms) and the members' CPU (ms; for node also on the V8 platform workers).

usage: watch-warm-summary.py FILE.jsonl
"""
import collections
import json
import statistics
import sys

if len(sys.argv) != 2 or sys.argv[1] == '--help':
    print(__doc__.strip())
    sys.exit(0)
groups = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith('{'):
        d = json.loads(line)
        groups[(d['members'], d['server'], d['run'])].append(d)
print('| members | server | run | clusters | event p50 / p99 ms | put p50 / p99 ms | CPU ms (V8 workers) |')
print('| ---: | --- | ---: | ---: | --- | --- | --- |')
for (n, server, run), rows in sorted(groups.items()):
    med = lambda k: statistics.median(r[k] for r in rows)
    v8 = f" ({med('v8_workers_ms'):,.0f})" if server != 'etcd' else ''
    print(f"| {n} | {server} | {run} | {len(rows)} | {med('event_p50'):.2f} / {med('event_p99'):.1f} | {med('put_p50'):.2f} / {med('put_p99'):.1f} | {med('cpu_ms'):,.0f}{v8} |")
