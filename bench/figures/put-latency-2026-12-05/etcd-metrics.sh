#!/usr/bin/env bash
# etcd 3.4's own view of the same load as trace.sh: a fresh cluster of N members, 1 client on the
# leader for DUR; the leader's and followers' /metrics scraped before and after, and the mean and
# median of the WAL fsync, backend commit and peer round-trip histograms over the run printed.
#   etcd-metrics.sh N OUTDIR [SERVER_BIN]   (DUR=4s, BASEPORT=31940; SERVER_BIN=/usr/bin/etcd)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
N=${1:?usage}; OUT=${2:?usage}; BIN=${3:-/usr/bin/etcd}
DUR=${DUR:-4s}; BASEPORT=${BASEPORT:-31940}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
mkdir -p "$OUT"
C=$(mktemp -d /tmp/put-metrics.XXXXXX)
trap '"$CLUSTER" down "$C" >/dev/null 2>&1 || true; rm -rf "$C"' EXIT
"$CLUSTER" up "$N" "$C" "$BASEPORT" "$BIN" >/dev/null
IFS=, read -r -a eps <<<"$(cat "$C/endpoints")"
for i in "${!eps[@]}"; do curl -s "http://${eps[$i]}/metrics" >"$OUT/m$((i + 1)).before"; done
"$PROBE" put --endpoints "$(cat "$C/endpoints")" --target-leader --conns 1 --clients 1 --duration "$DUR" \
  --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 >"$OUT/probe.json"
for i in "${!eps[@]}"; do curl -s "http://${eps[$i]}/metrics" >"$OUT/m$((i + 1)).after"; done
"$CLUSTER" down "$C" >/dev/null
python3 "$(dirname "$0")/histdiff.py" "$OUT" "$N"
