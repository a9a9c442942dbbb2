#!/usr/bin/env python3
"""recv -> reply of each put on the leader (the largest ETCDTS_LATENCY_TRACE file in DIR), per window of W puts.

usage: windows.py DIR [W]   (W default 400)
"""
import glob
import os
import sys

if len(sys.argv) < 2 or sys.argv[1] == '--help':
    print(__doc__); sys.exit(0)
f = max(glob.glob(os.path.join(sys.argv[1], '*.trace')), key=os.path.getsize)
rows, cur = [], None
for line in open(f):
    p = line.split()
    if len(p) < 4:
        continue
    t, st = int(p[0]), p[1]
    if st == 'recv' and p[3] == 'Put':
        cur = {'recv': t}; rows.append(cur)
    elif cur is not None and st not in cur:
        cur[st] = t
d = [r for r in rows if 'reply' in r]
w = int(sys.argv[2]) if len(sys.argv) > 2 else 400
out = []
for i in range(0, len(d), w):
    v = sorted(r['reply'] - r['recv'] for r in d[i:i + w])
    out.append('%d-%d: p50 %.1f p99 %.1f ms, over 4 ms %d' % (i, i + len(v), v[len(v) // 2] / 1e3, v[int(len(v) * .99)] / 1e3, sum(1 for x in v if x > 4000)))
print(' | '.join(out))
