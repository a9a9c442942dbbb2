#!/usr/bin/env bash
# Paired before/after of the client port's gRPC server, measured by etcdprobe:
#   BASE=/path/to/build-before NEW=/path/to/build-after ab.sh [ROUNDS] [SIZES]   -> $OUT (default /tmp/ab/res.jsonl)
# Each round runs both builds on the same cluster size in alternating order; then: python3 summarize.py FILE
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
OUT=${OUT:-/tmp/ab/res.jsonl}; mkdir -p "$(dirname "$OUT")"
P=/work/shared/tools/etcdprobe
R=${1:-2}; SIZES=${2:-"1 3"}
for r in $(seq 1 $R); do
 for n in $SIZES; do
  order="base new"; [ $((r%2)) = 0 ] && order="new base"
  for b in $order; do
   case $b in base) BIN="node ${BASE:?}/dist/server/main.js";; new) BIN="node ${NEW:?}/dist/server/main.js";; esac
   W=/tmp/ab/w-$b; rm -rf $W; mkdir -p $W
   EP=$($P/cluster.sh up $n $W 31500 "$BIN" 2>/dev/null | tail -1)
   for spec in "put 1 1" "put 10 100" "range-s 10 100"; do
     set -- $spec
     case $1 in put) cmd="put --key-space-size 100000 --val-size 256";; range-s) cmd="range --consistency s --val-size 256";; esac
     out=$($P/bin/etcdprobe $cmd --endpoints $EP --conns $2 --clients $3 --duration 5s --json --pid-dir $W --label $b 2>/dev/null | tail -1)
     echo "{\"round\":$r,\"n\":$n,\"build\":\"$b\",\"w\":\"$1\",\"clients\":$3,\"res\":$out}" >> "$OUT"
     echo "$r n=$n $b $1 c=$3 $(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d.get("throughput_rps",d.get("rps",0))), d.get("latency_ms",{}).get("p50","?"))' 2>/dev/null)"
   done
   $P/cluster.sh down $W >/dev/null 2>&1
  done
 done
done
