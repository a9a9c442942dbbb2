#!/usr/bin/env bash
# Linearizable single-key reads at 1 client (etcdprobe range --consistency l, 1,000 keys prefilled), RUNS runs of 6 s
# in a row on one fresh cluster of N members; req/s, p50 and p99 (ms) per run.
#   range-l-1c.sh N LABEL SERVER_COMMAND [RUNS=3]
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; L=$2; BIN=$3
D=$(mktemp -d /tmp/range-l-1c.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up "$N" "$D/c" 31700 "$BIN" 2>/dev/null | tail -1)
for ((r = 1; r <= ${4:-3}; r++)); do
  "$P/bin/etcdprobe" range --endpoints "$EP" --conns 1 --clients 1 --duration 6s --consistency l --key-space-size 1000 --val-size 256 --json 2>/dev/null | tail -1 |
    python3 -c "import json,sys; r=json.load(sys.stdin)['result']; l=r['latency']; print('$L', $N, 'run $r', round(r['throughput_rps']), 'req/s p50', l['p50_ms'], 'p99', l['p99_ms'])"
done
