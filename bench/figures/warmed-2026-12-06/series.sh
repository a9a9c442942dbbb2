#!/usr/bin/env bash
# Puts/s and CPU per put (all members, /proc) in consecutive windows of a put load on one fresh cluster: how a
# member's figures move in its first seconds. A new etcdprobe run per window (1 connection at 1 client, else 10).
#   series.sh MEMBERS CLIENTS WINDOWS WINDOW_SECONDS SERVER_COMMAND   ("etcd" for etcd)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 5 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; C=$2; K=$3; W=$4; CMD=$5; D=$(mktemp -d /tmp/series.XXXXXX)
trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$CMD" 2>/dev/null)
conns=$((C >= 10 ? 10 : 1))
snap() { for i in $(seq "$N"); do awk '{print $14 + $15}' "/proc/$(cat "$D/c/m$i.pid")/stat"; done | awk '{s += $1} END {print s}'; }
for k in $(seq "$K"); do
  a=$(snap)
  n=$("$P/bin/etcdprobe" put --endpoints "$EP" --conns "$conns" --clients "$C" --duration "${W}s" --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["succeeded"])')
  b=$(snap)
  echo "window $k: puts/s $((n / W)) CPU µs/put $(((b - a) * 10000 / n))"
done
