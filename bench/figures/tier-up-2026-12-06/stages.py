#!/usr/bin/env python3
"""Median µs between trace points of each put (ETCDTS_LATENCY_TRACE file of one member, puts one at a time).

usage: stages.py TRACE STAGE,STAGE,... [--last N]   (only the last N puts; the first 50 of those are skipped)
A put starts at its `recv ... Put` line; each STAGE is the first such trace point after it.
"""
import statistics
import sys

args = sys.argv[1:]
last = None
if '--last' in args:
    i = args.index('--last'); last = int(args[i + 1]); del args[i:i + 2]
if len(args) != 2:
    print(__doc__); sys.exit(0 if not args else 2)
order = args[1].split(',')
rows, cur = [], None
for line in open(args[0]):
    p = line.split()
    if len(p) < 4:
        continue
    t, st = int(p[0]), p[1]
    if st == 'recv' and p[3] == 'Put':
        cur = {'recv': t}; rows.append(cur)
    elif cur is not None and st in order and st not in cur:
        cur[st] = t
if last:
    rows = rows[-last:]
rows = rows[50:]
prev = 'recv'
for st in order:
    d = [r[st] - r[prev] for r in rows if st in r and prev in r]
    if d:
        print(f"{prev:>10} -> {st:<10} median {statistics.median(d):8.1f} µs  p90 {sorted(d)[int(len(d) * .9)]:8.1f}  n={len(d)}")
    prev = st
