#!/usr/bin/env bash
# One member with ETCDTS_LATENCY_TRACE armed: WARM of closed-loop puts (0 = none), then 5 s of paced puts at
# RATE/s on the leader; the median time between trace points of the paced puts (stages.py).
#   stage-trace.sh RATE WARM OUTDIR [SERVER_COMMAND] [STAGES]   (STAGES default: propose,reply)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; R=$1; W=$2; OUT=$3; HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${4:-"node $HERE/../../../dist/server/main.js"}; C=$(mktemp -d /tmp/stage-trace.XXXXXX)
trap '"$P/cluster.sh" down "$C" >/dev/null 2>&1; rm -rf "$C"' EXIT
mkdir -p "$OUT"; rm -f "$OUT"/*.trace
ETCDTS_LATENCY_TRACE="$OUT/%p.trace" "$P/cluster.sh" up 1 "$C/c" 31920 "$BIN" >/dev/null 2>&1
EP=$(cat "$C/c/endpoints")
[ "$W" != 0 ] && "$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients 1 --duration "$W" --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json >/dev/null 2>&1
"$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients 1 --duration 5s --rate "$R" --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 >"$OUT/probe.json"
"$P/cluster.sh" down "$C/c" >/dev/null 2>&1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print("client: req/s", r["throughput_rps"], "p50 ms", r["latency"]["p50_ms"])' "$OUT/probe.json"
python3 "$HERE/stages.py" "$OUT"/*.trace "${5:-propose,reply}" --last $((R * 5))
