#!/usr/bin/env bash
# Three builds, puts at 1 client (spread over all members, and on the leader), rounds rotating the order:
#   A=/build B=/build C=/build ab3.sh [ROUNDS] [SIZES]   -> $OUT (default /tmp/ab/res3.jsonl)
# Lines as ab.sh's, with "build" one of a, b, c; summarize with summarize3.py.
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
OUT=${OUT:-/tmp/ab/res3.jsonl}; mkdir -p "$(dirname "$OUT")"
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
R=${1:-6}; SIZES=${2:-"3 7"}
PUT=(put --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys)
orders=("a b c" "b c a" "c a b")
for r in $(seq 1 "$R"); do
 for n in $SIZES; do
  for b in ${orders[$((r % 3))]}; do
   case $b in a) BIN="node ${A:?}/dist/server/main.js";; b) BIN="node ${B:?}/dist/server/main.js";; c) BIN="node ${C:?}/dist/server/main.js";; esac
   W=/tmp/ab/w-$b; rm -rf "$W"; mkdir -p "$W"
   EP=$("$P/cluster.sh" up "$n" "$W" 31500 "$BIN" 2>/dev/null | tail -1)
   "$P/bin/etcdprobe" "${PUT[@]}" --endpoints "$EP" --conns 10 --clients 100 --duration 2s >/dev/null 2>&1 # warm-up
   for spec in "put 1 1 false" "put-leader 1 1 true"; do
     set -- $spec
     out=$("$P/bin/etcdprobe" "${PUT[@]}" --endpoints "$EP" --conns "$2" --clients "$3" --target-leader="$4" --duration 4s --json --pid-dir "$W" --label "$b" 2>/dev/null | tail -1)
     echo "{\"round\":$r,\"n\":$n,\"build\":\"$b\",\"w\":\"$1\",\"clients\":$3,\"res\":$out}" >>"$OUT"
     echo "$(date -u +%T) round $r, $n members, $b: $1 at $3 clients: $(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(round(r["throughput_rps"]), "req/s, p50", r["latency"]["p50_ms"], "ms")' 2>/dev/null)"
   done
   "$P/cluster.sh" down "$W" >/dev/null 2>&1
  done
 done
done
