#!/usr/bin/env bash
# One traced put run: a fresh local cluster of N members with ETCDTS_LATENCY_TRACE armed, 1 client
# on the leader for DUR, then timeline.py over the leader's and followers' traces.
#   trace.sh N OUTDIR [SERVER_BIN]   (DUR=4s, BASEPORT=31920; SERVER_BIN defaults to this checkout)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
N=${1:?usage: trace.sh N OUTDIR}; OUT=${2:?usage: trace.sh N OUTDIR}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BIN=${3:-"node $ROOT/bin/etcd-ts.js"}
DUR=${DUR:-4s}; BASEPORT=${BASEPORT:-31920}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
mkdir -p "$OUT"; rm -f "$OUT"/*.trace
C=$(mktemp -d /tmp/put-trace.XXXXXX)
trap '"$CLUSTER" down "$C" >/dev/null 2>&1 || true; rm -rf "$C"' EXIT
ETCDTS_LATENCY_TRACE="$OUT/%p.trace" "$CLUSTER" up "$N" "$C" "$BASEPORT" "$BIN" >/dev/null
"$PROBE" put --endpoints "$(cat "$C/endpoints")" --target-leader --conns 1 --clients 1 --duration "$DUR" \
  --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 >"$OUT/probe.json"
leader=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cluster"]["leader_name"])' "$OUT/probe.json")
files=("$OUT/$(cat "$C/$leader.pid").trace")
for ((i = 1; i <= N; i++)); do [ "m$i" != "$leader" ] && files+=("$OUT/$(cat "$C/m$i.pid").trace"); done
"$CLUSTER" down "$C" >/dev/null
python3 "$(dirname "$0")/timeline.py" "${files[@]}" >"$OUT/timeline.md"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d["result"]; print("req/s", r["throughput_rps"], "p50", r["latency"]["p50_ms"], "load", d["env"]["loadavg_start"][0])' "$OUT/probe.json"
cat "$OUT/timeline.md"
