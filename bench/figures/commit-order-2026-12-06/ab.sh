#!/usr/bin/env bash
# Paired before/after of puts, measured by etcdprobe (clientv3), with a warm-up on each fresh cluster:
#   BASE=/path/to/build-before NEW=/path/to/build-after ab.sh [ROUNDS] [SIZES]   -> $OUT (default /tmp/ab/res.jsonl)
# Cells: put at 1 client spread over all members (clientv3's round robin), put at 1 client on the leader,
# put at 100 clients (10 connections). Each round runs both builds per size in alternating order;
# then: python3 ../own-h2-2026-12-06/summarize.py FILE
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,6p "$0"; exit 0; }
OUT=${OUT:-/tmp/ab/res.jsonl}; mkdir -p "$(dirname "$OUT")"
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
R=${1:-4}; SIZES=${2:-"1 3 5"}
PUT=(put --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys)
for r in $(seq 1 "$R"); do
 for n in $SIZES; do
  order="base new"; [ $((r % 2)) = 0 ] && order="new base"
  for b in $order; do
   case $b in base) BIN="node ${BASE:?}/dist/server/main.js";; new) BIN="node ${NEW:?}/dist/server/main.js";; esac
   W=/tmp/ab/w-$b; rm -rf "$W"; mkdir -p "$W"
   EP=$("$P/cluster.sh" up "$n" "$W" 31500 "$BIN" 2>/dev/null | tail -1)
   "$P/bin/etcdprobe" "${PUT[@]}" --endpoints "$EP" --conns 10 --clients 100 --duration 3s >/dev/null 2>&1 # warm-up
   for spec in "put 1 1 false" "put-leader 1 1 true" "put 10 100 false"; do
     set -- $spec
     out=$("$P/bin/etcdprobe" "${PUT[@]}" --endpoints "$EP" --conns "$2" --clients "$3" --target-leader="$4" --duration 5s --json --pid-dir "$W" --label "$b" 2>/dev/null | tail -1)
     echo "{\"round\":$r,\"n\":$n,\"build\":\"$b\",\"w\":\"$1\",\"clients\":$3,\"res\":$out}" >>"$OUT"
     echo "$(date -u +%T) round $r, $n members, $b: $1 at $3 clients: $(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(round(r["throughput_rps"]), "req/s, p50", r["latency"]["p50_ms"], "ms")' 2>/dev/null)"
   done
   "$P/cluster.sh" down "$W" >/dev/null 2>&1
  done
 done
done
