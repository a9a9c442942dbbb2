#!/usr/bin/env python3
"""The slow puts of an ETCDTS_LATENCY_TRACE file (../tier-up-2026-12-06/stage-trace.sh writes them): for each put of the
last N whose recv -> reply took over MS milliseconds, its three longest steps between trace points; then how many
slow puts had each step as their longest.

usage: slow-put-stages.py TRACE N MS
"""
import collections
import sys

if len(sys.argv) != 4 or sys.argv[1] == '--help':
    print(__doc__.strip())
    sys.exit(0)
rows, cur = [], None
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) < 4:
        continue
    t, st = int(p[0]), p[1]
    if st == 'recv' and p[3] == 'Put':
        cur = {'recv': t, '_order': ['recv']}; rows.append(cur)
    elif cur is not None and st not in cur:
        cur[st] = t; cur['_order'].append(st)
last, thr = int(sys.argv[2]), float(sys.argv[3]) * 1000
rows = rows[-last:]
longest = collections.Counter()
slow = 0
for r in rows:
    if 'reply' not in r:
        continue
    total = r['reply'] - r['recv']
    if total < thr:
        continue
    slow += 1
    o = r['_order']
    end = o.index('reply')
    gaps = sorted(((r[o[i + 1]] - r[o[i]], o[i] + '->' + o[i + 1]) for i in range(end)), reverse=True)
    longest[gaps[0][1]] += 1
    print(total, ' '.join(f'{g[1]}:{g[0]}' for g in gaps[:3]))
print(slow, 'slow of', len(rows), dict(longest))
