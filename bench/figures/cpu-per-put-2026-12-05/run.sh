#!/usr/bin/env bash
# CPU per acknowledged put, before (main's build) and after (this branch's build), with the
# independent Go client (etcdprobe, clientv3 3.4). Interleaved pairs: each round runs both servers
# one after the other (order alternating every round), a fresh cluster per (server, size, round);
# put 8 s at 1 conn/1 client and 10 conns/100 clients; servers' CPU from /proc (--pid-dir).
#
#   run.sh OUT.jsonl          # ROUNDS=3 SIZES="1 3" BASEPORT=31820 DUR=8s CC="1 1;10 100" RATE=0
#   RATE=N: open the loop at N puts/s (the same work for both servers: CPU per put compares on a
#   loaded machine, where a closed loop measures mostly how much of a core each server was given)
#   BEFORE=/work/main/dist/server/main.js AFTER=/work/wt/cpuput/dist/server/main.js
#   PROBE=/work/shared/tools/etcdprobe/bin/etcdprobe
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,10p "$0"; exit 0; }
OUT=${1:?usage: run.sh OUT.jsonl}
ROUNDS=${ROUNDS:-3}; SIZES=${SIZES:-"1 3"}; BASEPORT=${BASEPORT:-31820}; DUR=${DUR:-8s}
CC=${CC:-"1 1;10 100"}; RATE=${RATE:-0}
BEFORE=${BEFORE:-/work/main/dist/server/main.js}; AFTER=${AFTER:-/work/wt/cpuput/dist/server/main.js}
PROBE=${PROBE:-/work/shared/tools/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/cpuput-run.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true' EXIT
bin_of() { case $1 in before) echo "node $BEFORE" ;; after) echo "node $AFTER" ;; esac; }
order=(before after)
for ((r = 1; r <= ROUNDS; r++)); do
  for n in $SIZES; do
    for s in "${order[@]}"; do
      current="$WORK/$s-$n-$r"
      "$CLUSTER" up "$n" "$current" "$BASEPORT" "$(bin_of "$s")" >/dev/null
      ep=$(cat "$current/endpoints")
      IFS=';' read -r -a pairs <<<"$CC"
      for cc in "${pairs[@]}"; do
        set -- $cc
        "$PROBE" put --endpoints "$ep" --conns "$1" --clients "$2" --duration "$DUR" --key-size 8 --val-size 256 \
          --key-space-size 100000 --sequential-keys --rate "$RATE" --json --label "$s" --pid-dir "$current" | tail -1 \
          | sed "s/^{/{\"round\":$r,\"server\":\"$s\",/" >>"$OUT"
      done
      "$CLUSTER" down "$current" >/dev/null
      current=""
    done
  done
  order=("${order[1]}" "${order[0]}")
done
rm -rf "$WORK"
