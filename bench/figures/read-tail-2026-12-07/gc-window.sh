#!/usr/bin/env bash
# Linearizable reads at 1 client on a warmed cluster of N members, with V8's GC trace on every member: the read's
# p50 / p99 / p99.9, and per member the GC pauses inside the measured window (count, sum, longest, by kind).
# Warm-up, not recorded: 5 s of puts at 1 client, 5 s at 100 clients, READ_WARM of the same reads (then no prefill).
#   gc-window.sh N SERVER_COMMAND [DUR=6s] [CONSISTENCY=l]   (SERVER_COMMAND etcd: etcd; no GC lines then)
# env: READ_WARM (5s; 0: none, the reads' prefill then runs before the measured reads, as in etcdprobe's baseline),
#      LABEL (a JSON line with it is printed last), EXTRA_V8 (added to ETCDTS_V8_FLAGS after the budget and --trace-gc)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,7p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; BIN=$2; DUR=${3:-6s}; CONS=${4:-l}
D=$(mktemp -d /tmp/gc-window.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$(ETCDTS_V8_FLAGS="--interrupt-budget=4096 --trace-gc ${EXTRA_V8:-}" "$P/cluster.sh" up "$N" "$D/c" 31800 "$BIN" 2>/dev/null | tail -1)
probe() { "$P/bin/etcdprobe" "$@" --endpoints "$EP" --val-size 256 --json 2>/dev/null | tail -1; }
probe put --conns 1 --clients 1 --duration 5s --key-space-size 100000 --sequential-keys >/dev/null
probe put --conns 10 --clients 100 --duration 5s --key-space-size 100000 >/dev/null
RW=${READ_WARM:-5s}; PREFILL=false
if [ "$RW" = 0 ]; then PREFILL=true; else probe range --conns 1 --clients 1 --duration "$RW" --consistency "$CONS" --key-space-size 1000 >/dev/null; fi
for i in $(seq "$N"); do wc -l <"$D/c/m$i.log" >"$D/m$i.start"; done
probe range --conns 1 --clients 1 --duration "$DUR" --consistency "$CONS" --key-space-size 1000 --prefill="$PREFILL" >"$D/result.json"
for i in $(seq "$N"); do tail -n +"$(($(cat "$D/m$i.start") + 1))" "$D/c/m$i.log" >"$D/m$i.window"; done
python3 - "$D" "$N" "${LABEL:-}" "$RW" <<'EOF'
import json, re, sys
d, n, label, rw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.load(open(f"{d}/result.json"))["result"]
l = r["latency"]
print(f"reads {r['succeeded']} ({r['throughput_rps']:.0f}/s): p50 {l['p50_ms']:.2f} p99 {l['p99_ms']:.2f} p99.9 {l['p99_9_ms']:.2f} max {l['max_ms']:.2f} ms")
gc = {}
pause = re.compile(r"ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^,]*, ([0-9.]+) / ([0-9.]+) ms")
for i in range(1, n + 1):
    kinds = {}
    for line in open(f"{d}/m{i}.window", errors="replace"):
        m = pause.search(line)
        if m:
            kinds.setdefault(m.group(1), []).append(float(m.group(2)))
    gc[f"m{i}"] = {k: [len(v), round(sum(v), 1), max(v)] for k, v in kinds.items()}
    if kinds:
        print(f"m{i}: " + "; ".join(f"{k} {len(v)}, sum {sum(v):.1f} ms, longest {max(v):.2f} ms" for k, v in kinds.items()))
    else:
        print(f"m{i}: no GC in the window")
if label:
    print(json.dumps({"server": label, "members": n, "read_warm": rw, "rps": r["throughput_rps"], "p50": l["p50_ms"], "p99": l["p99_ms"], "p99_9": l["p99_9_ms"], "max": l["max_ms"], "gc": gc}))
EOF
