#!/usr/bin/env python3
"""Per-put timeline from ETCDTS_LATENCY_TRACE files (server/util/latency-trace.ts).

usage: timeline.py LEADER_TRACE [FOLLOWER_TRACE ...] [--skip N]
Puts are found on the leader (clients must target the leader: one put in flight, so the n-th
`recv Put` belongs to the n-th proposal). For each put, every stage's time in µs after `recv` is
computed; the table gives the median and p90 of each stage's offset and of the step from the
previous stage. Followers: the first MsgApp carrying the entry, its fsync and the MsgAppResp.
"""
import bisect
import statistics
import sys
from collections import defaultdict


def load(path):
    ev = defaultdict(list)  # stage -> [(t, a, b)]
    for line in open(path):
        p = line.split()
        if len(p) < 4:
            continue
        t, stage, a, b = int(p[0]), p[1], p[2], p[3]
        ev[stage].append((t, int(a), b))
    for v in ev.values():
        v.sort()
    return ev


def first(ev, stage, t0, pred):
    """The first `stage` event at or after t0 satisfying pred(a, b): its time, or None."""
    lst = ev.get(stage, [])
    i = bisect.bisect_left(lst, (t0, -1, ""))
    for j in range(i, min(len(lst), i + 2000)):
        t, a, b = lst[j]
        if pred(a, b):
            return t
    return None


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    skip = 50
    if "--skip" in sys.argv:
        skip = int(sys.argv[sys.argv.index("--skip") + 1])
    leader = load(args[0])
    followers = [load(a) for a in args[1:]]
    idx_of = {b: a for (_, a, b) in leader.get("applyEntry", [])}
    rows = []
    recvs = [t for (t, _, b) in leader.get("recv", []) if b == "Put"]
    props = leader.get("propose", [])
    for (tp, rid, _) in props[skip:]:
        rid = str(rid)
        if rid not in idx_of:
            continue
        idx = idx_of[rid]
        i = bisect.bisect_right(recvs, tp) - 1
        if i < 0:
            continue
        t0 = recvs[i]
        r = {"recv": t0, "propose": tp}
        r["run"] = first(leader, "run", tp, lambda a, b: True)
        r["ready(entry)"] = first(leader, "ready", tp, lambda a, b: a >= idx)
        r["MsgApp queued"] = first(leader, "send3", tp, lambda a, b: a >= idx)
        r["MsgApp flushed"] = first(leader, "flush", r["MsgApp queued"] or tp, lambda a, b: True)
        r["leader persisted"] = first(leader, "persisted", tp, lambda a, b: a >= idx)
        for k, f in enumerate(followers):
            r[f"F{k+1} MsgApp recv"] = first(f, "recv3", tp, lambda a, b: a >= idx)
            r[f"F{k+1} run"] = first(f, "run", r[f"F{k+1} MsgApp recv"] or tp, lambda a, b: True)
            r[f"F{k+1} persisted"] = first(f, "persisted", tp, lambda a, b: a >= idx)
            r[f"F{k+1} AppResp queued"] = first(f, "send4", tp, lambda a, b: a >= idx)
            r[f"F{k+1} AppResp flushed"] = first(f, "flush", r[f"F{k+1} AppResp queued"] or tp, lambda a, b: True)
        # with 3 members the first follower's acknowledgement makes the quorum (with the leader's own)
        r["L first AppResp recv"] = first(leader, "recv4", tp, lambda a, b: a >= idx)
        r["ready(committed)"] = first(leader, "ready", tp, lambda a, b: b != "0" and int(b) >= idx)
        r["persisted (commit index)"] = first(leader, "persisted", r["ready(committed)"] or tp, lambda a, b: True)
        r["applyStart"] = first(leader, "applyStart", tp, lambda a, b: int(b) >= idx)
        r["apply entry"] = first(leader, "applyEntry", tp, lambda a, b: a == idx)
        r["resolved"] = first(leader, "resolved", tp, lambda a, b: b == "0" and a == int(rid)) if False else first(leader, "resolved", tp, lambda a, b: True)
        r["reply"] = first(leader, "reply", tp, lambda a, b: b == "Put")
        nxt = bisect.bisect_right(recvs, r["reply"] or tp)
        r["next recv"] = recvs[nxt] if nxt < len(recvs) else None
        rows.append(r)
    stages = list(rows[0].keys())
    print(f"puts: {len(rows)} (first {skip} skipped)\n")
    print("| stage | median µs after recv | p90 µs after recv | median step µs (from previous row) |")
    print("|---|---:|---:|---:|")
    prev = None
    for s in stages:
        offs = [r[s] - r["recv"] for r in rows if r[s] is not None]
        steps = [r[s] - r[prev] for r in rows if prev and r[s] is not None and r[prev] is not None]
        if not offs:
            continue
        q = statistics.quantiles(offs, n=10)[-1] if len(offs) > 10 else max(offs)
        st = f"{statistics.median(steps):.0f}" if steps else ""
        print(f"| {s} | {statistics.median(offs):.0f} | {q:.0f} | {st} |")
        prev = s


main()
