#!/usr/bin/env python3
"""Per configuration: each build's medians, then each build against BASE round by round (the ratios
of two clusters that ran at the same time), and the median of those ratios.
usage: summarize.py OUT.jsonl [BASE_LABEL=base]"""
import collections, json, statistics as st, sys
if len(sys.argv) < 2 or sys.argv[1] in ('-h', '--help'):
    print(__doc__); sys.exit(0)
rows = [json.loads(l) for l in open(sys.argv[1])]
base = sys.argv[2] if len(sys.argv) > 2 else 'base'
by = collections.defaultdict(lambda: collections.defaultdict(dict))
for r in rows: by[r['cfg']][r['round']][r['build']] = r
for cfg, rounds in by.items():
    builds = sorted({b for rr in rounds.values() for b in rr})
    print('== %s (members:conns:clients:on-the-leader)' % cfg)
    for b in builds:
        v = [rr[b] for rr in rounds.values() if b in rr]
        print('  %-6s n=%d  req/s med %.0f | user µs/req med %.0f | sys µs/req med %.0f | CPU µs/req med %.0f' % (
            b, len(v), st.median(x['rps'] for x in v), st.median(x['user'] for x in v), st.median(x['sys'] for x in v), st.median(x['user'] + x['sys'] for x in v)))
    for b in builds:
        if b == base: continue
        pr = [(rr[b], rr[base]) for rr in rounds.values() if b in rr and base in rr]
        if not pr: continue
        f = lambda g: ' '.join('%.2f' % g(x, y) for x, y in pr) + ' (median %.2f)' % st.median(g(x, y) for x, y in pr)
        print('  %s ÷ %s per round:\n    req/s  %s\n    user   %s\n    CPU    %s' % (b, base, f(lambda x, y: x['rps'] / y['rps']), f(lambda x, y: x['user'] / y['user']), f(lambda x, y: (x['user'] + x['sys']) / (y['user'] + y['sys']))))
