#!/usr/bin/env python3
"""Markdown table of main-thread µs per request by subsystem, summed over a cluster's members, from the
mI.summary.txt files that profile-range.sh writes (subsystems.mjs output, whose "µs/put" is µs per
request of the whole cluster: the window's busy time of that member ÷ all requests).

  bucket-table.py LABEL=DIR [LABEL=DIR ...]
"""
import glob, re, sys
if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
    print(__doc__); sys.exit(0)
cols, table, order = [], {}, []
for arg in sys.argv[1:]:
    label, d = arg.split("=", 1)
    cols.append(label)
    for f in sorted(glob.glob(f"{d}/m*.summary.txt")):
        section = False
        for line in open(f):
            if line.startswith("by subsystem"): section = True; continue
            if section and not line.strip(): break
            m = re.match(r"\s*[\d.]+%\s+\d+ ms\s+([\d.]+) µs/put\s+(.*)$", line)
            if section and m:
                sub = m.group(2).strip()
                if sub not in order: order.append(sub)
                table[sub, label] = table.get((sub, label), 0) + float(m.group(1))
print("| subsystem | " + " | ".join(cols) + " |")
print("| --- |" + " ---: |" * len(cols))
for sub in order:
    print(f"| {sub} | " + " | ".join(f"{table.get((sub, c), 0):.1f}" for c in cols) + " |")
print("| **main thread, all members** | " + " | ".join(f"**{sum(table.get((s, c), 0) for s in order):.0f}**" for c in cols) + " |")
