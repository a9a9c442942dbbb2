"""Paired before/after from ab.sh's JSON lines: mean req/s and server CPU µs per request of each build, and their ratios.
Usage: summarize.py [FILE] (default: ab.jsonl beside this script)."""
import json, collections, os, sys
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "ab.jsonl"))]
d=collections.defaultdict(list)
for r in rows:
    res=r['res']['result']; env=r['res']['env']
    cpu=env['server_cpu_cores']/res['throughput_rps']*1e6 if res['throughput_rps'] else 0
    d[(r['n'],r['w'],r['clients'],r['build'])].append((res['throughput_rps'],res['latency']['p50_ms'],cpu))
for k in sorted(set((a,b,c) for a,b,c,_ in d)):
    b=d[k+('base',)]; n=d[k+('new',)]
    if not b or not n: continue
    mb=sum(x[0] for x in b)/len(b); mn=sum(x[0] for x in n)/len(n)
    cb=sum(x[2] for x in b)/len(b); cn=sum(x[2] for x in n)/len(n)
    print(f"n={k[0]} {k[1]:8s} c={k[2]:3d}  base {mb:7.0f}/s {cb:5.0f}us  new {mn:7.0f}/s {cn:5.0f}us  ratio {mn/mb:.2f}  cpu {cn/cb:.2f}  runs {len(b)}/{len(n)}")
