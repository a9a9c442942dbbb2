#!/usr/bin/env python3
"""Puts one at a time, from an ETCDTS_LATENCY_TRACE file (a put starts at its `recv ... Put` line; each stage is
the first such trace point after it).

usage: stages.py TRACE STAGE,STAGE,... [--last N]   median µs between the stages (of the last N puts, the first
                                                    50 of those skipped)
       stages.py TRACE --windows W                  recv -> reply per window of W puts: p50, p99, puts over 4 ms
"""
import statistics
import sys


def puts(path):
    rows, cur = [], None
    for line in open(path):
        p = line.split()
        if len(p) < 4:
            continue
        t, st = int(p[0]), p[1]
        if st == 'recv' and p[3] == 'Put':
            cur = {'recv': t}; rows.append(cur)
        elif cur is not None and st not in cur:
            cur[st] = t
    return rows


def stages(rows, order, last):
    if last:
        rows = rows[-last:]
    rows = rows[50:]
    prev = 'recv'
    for st in order:
        d = [r[st] - r[prev] for r in rows if st in r and prev in r]
        if d:
            print(f"{prev:>10} -> {st:<10} median {statistics.median(d):8.1f} µs  p90 {sorted(d)[int(len(d) * .9)]:8.1f}  n={len(d)}")
        prev = st


def windows(rows, w):
    d = [r for r in rows if 'reply' in r]
    out = []
    for i in range(0, len(d), w):
        v = sorted(r['reply'] - r['recv'] for r in d[i:i + w])
        out.append('%d-%d: p50 %.1f p99 %.1f ms, over 4 ms %d' % (i, i + len(v), v[len(v) // 2] / 1e3, v[int(len(v) * .99)] / 1e3, sum(1 for x in v if x > 4000)))
    print(' | '.join(out))


args = sys.argv[1:]
if len(args) < 2 or args[0] == '--help':
    print(__doc__); sys.exit(0 if args[:1] == ['--help'] else 2)
if args[1] == '--windows':
    windows(puts(args[0]), int(args[2]))
else:
    last = int(args[args.index('--last') + 1]) if '--last' in args else None
    stages(puts(args[0]), args[1].split(','), last)
