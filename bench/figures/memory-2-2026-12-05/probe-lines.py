#!/usr/bin/env python3
"""Prints a mem-probe.cjs jsonl as a table (MiB; seconds from the first line): RSS, heap used/total,
new space used/size, old space used/size, external, arrayBuffers, and GC counts/ms by kind since start.
   probe-lines.py FILE.jsonl [EVERY]   (EVERY: print one line in EVERY, default 5)"""
import json, sys
if len(sys.argv) < 2 or sys.argv[1] == "--help":
    print(__doc__); sys.exit(0)
every = int(sys.argv[2]) if len(sys.argv) > 2 else 5
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"t\"")]
M = 1048576
print("s\trss\tused\ttotal\tnew_u\tnew_sz\told_u\told_sz\text\tarrbuf\tscav(n/ms)\tmark(n/ms)")
for i, d in enumerate(rows):
    if i % every and i != len(rows) - 1: continue
    sp = d["spaces"]; gc = d.get("gc", {})
    g = lambda k: "%d/%d" % (gc.get(k, [0, 0])[0], gc.get(k, [0, 0])[1])
    print("\t".join([str(round((d["t"] - rows[0]["t"]) / 1000))] + [str(round(x / M)) for x in [d["rss"], d["heapUsed"], d["heapTotal"], sp["new_space"][0], sp["new_space"][1], sp["old_space"][0], sp["old_space"][1], d["external"], d["arrayBuffers"]]] + [g("1"), g("2")]))
