#!/usr/bin/env bash
# Put -> watch event (etcdprobe watch-latency), etcd-ts beside etcd, alternating, fresh clusters each run:
# 1 watcher (500 puts at 100/s) and 1,000 watchers on 10 connections (200 puts at 20/s), 1 and 3 members.
#   watch-latency.sh ROUNDS OUT.jsonl [SERVER_COMMAND]
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; R=$1; OUT=$2; HERE=$(cd "$(dirname "$0")" && pwd)
TS=${3:-"node $HERE/../../../dist/server/main.js"}; D=$(mktemp -d /tmp/watch-latency.XXXXXX)
trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
for ((r = 1; r <= R; r++)); do
  for N in 1 3; do
    for cfg in "1 1 100 500" "1000 10 20 200"; do
      read -r W C RATE T <<<"$cfg"
      for L in etcd-ts etcd; do
        [ $L = etcd ] && CMD=etcd || CMD=$TS
        EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$CMD" 2>/dev/null)
        "$P/bin/etcdprobe" watch-latency --endpoints "$EP" --conns "$C" --watchers "$W" --total "$T" --put-rate "$RATE" --json 2>/dev/null | tail -1 |
          python3 -c "
import json, sys; d = json.load(sys.stdin)['result']; e = d['put_to_event']; p = d['put_latency']
print(json.dumps({'server': '$L', 'round': $r, 'members': $N, 'watchers': $W, 'event_p50': e['p50_ms'], 'event_p99': e['p99_ms'], 'put_p50': p['p50_ms'], 'put_p99': p['p99_ms'], 'missing': d['events_missing']}))" | tee -a "$OUT"
        "$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D/c"
      done
    done
  done
done
