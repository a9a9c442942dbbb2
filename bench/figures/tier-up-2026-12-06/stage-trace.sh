#!/usr/bin/env bash
# A fresh cluster of N members with ETCDTS_LATENCY_TRACE armed: SLEEP s idle, WARM of closed-loop puts (0 = none),
# then DUR of puts at RATE/s, 1 client on the leader. Prints the client's figures, the median time between trace
# points of the paced puts (stages.py, STAGES default propose,reply) and recv -> reply per window of W puts.
#   stage-trace.sh N RATE WARM OUTDIR [SERVER_COMMAND] [STAGES]   (env: DUR=5s SLEEP=0 W=400)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 4 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; R=$2; WARM=$3; OUT=$4; HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${5:-"node $HERE/../../../dist/server/main.js"}; C=$(mktemp -d /tmp/stage-trace.XXXXXX)
trap '"$P/cluster.sh" down "$C/c" >/dev/null 2>&1; rm -rf "$C"' EXIT
mkdir -p "$OUT"; rm -f "$OUT"/*.trace
ETCDTS_LATENCY_TRACE="$OUT/%p.trace" "$P/cluster.sh" up "$N" "$C/c" 31920 "$BIN" >/dev/null 2>&1
EP=$(cat "$C/c/endpoints"); sleep "${SLEEP:-0}"
PUT=(--endpoints "$EP" --target-leader --conns 1 --clients 1 --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json)
[ "$WARM" != 0 ] && "$P/bin/etcdprobe" put "${PUT[@]}" --duration "$WARM" >/dev/null 2>&1
"$P/bin/etcdprobe" put "${PUT[@]}" --duration "${DUR:-5s}" --rate "$R" 2>/dev/null | tail -1 >"$OUT/probe.json"
"$P/cluster.sh" down "$C/c" >/dev/null 2>&1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print("client: req/s", r["throughput_rps"], "p50 ms", r["latency"]["p50_ms"], "p99 ms", r["latency"]["p99_ms"])' "$OUT/probe.json"
LEADER=$(ls -S "$OUT"/*.trace | head -1)  # the leader's trace is the largest: it alone records the requests
python3 "$HERE/stages.py" "$LEADER" "${6:-propose,reply}" --last $((R * ${DUR%s}))
python3 "$HERE/stages.py" "$LEADER" --windows "${W:-400}"
