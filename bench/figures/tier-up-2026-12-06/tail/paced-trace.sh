#!/usr/bin/env bash
# A fresh cluster of N members with ETCDTS_LATENCY_TRACE armed, SLEEP s idle, then DUR of puts at RATE/s
# (1 client, on the leader); prints the client's figures and, with windows.py, each window of W puts
# (recv -> reply on the leader: p50, p99, puts over 4 ms).
#   paced-trace.sh N RATE OUTDIR [SERVER_COMMAND]   (env: DUR=5s SLEEP=0 W=400)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; R=$2; OUT=$3; HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${4:-"node $HERE/../../../../dist/server/main.js"}; C=$(mktemp -d /tmp/paced-trace.XXXXXX)
trap '"$P/cluster.sh" down "$C/c" >/dev/null 2>&1; rm -rf "$C"' EXIT
mkdir -p "$OUT"; rm -f "$OUT"/*.trace
ETCDTS_LATENCY_TRACE="$OUT/%p.trace" "$P/cluster.sh" up "$N" "$C/c" 31920 "$BIN" >/dev/null 2>&1
sleep "${SLEEP:-0}"
"$P/bin/etcdprobe" put --endpoints "$(cat "$C/c/endpoints")" --target-leader --conns 1 --clients 1 --duration "${DUR:-5s}" --rate "$R" --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 >"$OUT/probe.json"
"$P/cluster.sh" down "$C/c" >/dev/null 2>&1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["result"]; print("client: req/s", r["throughput_rps"], "p50", r["latency"]["p50_ms"], "p99", r["latency"]["p99_ms"])' "$OUT/probe.json"
python3 "$HERE/windows.py" "$OUT" "${W:-400}"
