#!/usr/bin/env python3
"""Self time of node --cpu-prof profiles, by subsystem and by function, side by side.

  profile-self.py DIR_A DIR_B [--top N]

Each DIR is what profile.sh wrote: m<i>.cpuprofile (every member), probe.json (requests served,
members' CPU from /proc), window (the probe run, on V8's CLOCK_MONOTONIC clock). Only samples
inside the window count. On a shared machine a profile's time deltas include time the process was
not running, so samples are counted, not timed: a subsystem's share of the non-idle samples of all
members, times the CPU per request measured from /proc (all members' utime+stime during the timed
part ÷ requests), gives its µs per request.

Subsystems: the dist/ folder of the file (server/api/grpc, server/mvcc, ...), a node_modules package,
node's internals (node:internal/<first part>), and V8's own entries ((garbage collector), (program)).
"""
import json, sys, re, collections, glob, os

def load_dir(d):
    w0, w1 = (int(x) for x in open(os.path.join(d, "window")).read().split())
    by_fn, by_sub, total = collections.Counter(), collections.Counter(), 0
    for f in sorted(glob.glob(os.path.join(d, "m*.cpuprofile"))):
        p = json.load(open(f))
        nodes = {n["id"]: n for n in p["nodes"]}
        t = p["startTime"]
        for s, dt in zip(p["samples"], p["timeDeltas"]):
            t += dt
            if not (w0 <= t <= w1):
                continue
            cf = nodes[s]["callFrame"]
            fn = cf.get("functionName") or "(anonymous)"
            if fn == "(idle)":
                continue
            url = cf.get("url", "")
            by_fn[f"{fn} {short(url)}:{cf.get('lineNumber', -1) + 1}"] += 1
            by_sub[subsystem(url, fn)] += 1
            total += 1
    pr = json.load(open(os.path.join(d, "probe.json")))
    e, r = pr["env"], pr["result"]
    cpu_us = e["server_cpu_cores"] * e["wall_s"] / r["succeeded"] * 1e6
    return {"fn": by_fn, "sub": by_sub, "total": total, "cpu_us": cpu_us, "rps": r["throughput_rps"], "load": e["load1_mean"], "n": r["succeeded"]}

def short(url):
    url = re.sub(r"^file://", "", url)
    m = re.search(r"/dist/(.*)$", url) or re.search(r"node_modules/(.*)$", url)
    return m.group(1) if m else url

def subsystem(url, fn):
    if not url:
        return fn if fn.startswith("(") else "(native)"
    url = re.sub(r"^file://", "", url)
    m = re.search(r"node_modules/(@[^/]+/[^/]+|[^/]+)", url)
    if m:
        return "npm:" + m.group(1)
    m = re.search(r"/dist/(server/[^/]+(?:/[^/]+)?)/[^/]+\.js$", url) or re.search(r"/dist/(server)/[^/]+\.js$", url)
    if m:
        return m.group(1)
    m = re.match(r"node:internal/([^/]+)", url)
    if m:
        return "node:" + m.group(1)
    return url

def main():
    args = sys.argv[1:]
    top = 30
    if "--top" in args:
        i = args.index("--top"); top = int(args[i + 1]); del args[i:i + 2]
    ps = [load_dir(a) for a in args]
    names = [os.path.basename(a.rstrip("/")) for a in args]
    for p, nm in zip(ps, names):
        print(f"- {nm}: {p['n']} requests, {p['rps']:.0f} req/s, load1 {p['load']:.1f}, CPU {p['cpu_us']:.0f} µs/request (/proc), {p['total']} non-idle samples in the window")
    for title, key in (("subsystem", "sub"), ("function", "fn")):
        keys = set().union(*(p[key] for p in ps))
        us = {k: [p[key].get(k, 0) / p["total"] * p["cpu_us"] for p in ps] for k in keys}
        order = sorted(keys, key=lambda k: -abs(us[k][-1] - us[k][0]))
        print(f"\n| {title} | " + " | ".join(f"{nm} µs/req (share)" for nm in names) + " | difference µs/req |")
        print("|---|" + "---:|" * (len(ps) + 1))
        for k in order[:top]:
            cells = [f"{u:.1f} ({p[key].get(k, 0) / p['total'] * 100:.1f} %)" for u, p in zip(us[k], ps)]
            print(f"| `{k}` | " + " | ".join(cells) + f" | {us[k][-1] - us[k][0]:+.1f} |")

main()
