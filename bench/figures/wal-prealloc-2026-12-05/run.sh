#!/usr/bin/env bash
# Issue 16, WAL preallocation: end-to-end put figures with the independent Go client (etcdprobe),
# main's build against this branch's, interleaved (order swapped every round), a fresh cluster per
# (server, size, round), put 8-byte keys / 256-byte values at 1 conn/1 client and 10 conns/100 clients.
#
#   run.sh OUT.jsonl        # ROUNDS=3 SIZES="1 3" BASEPORT=31600 DUR=8s SERVERS="main branch"
#   MAIN=/work/main/dist/server/main.js BRANCH=/work/wt/walprealloc/dist/server/main.js; SERVERS may add etcd
#   SETTLE=5: seconds to wait after the cluster is up, before the first put (same for every server)
#   The load average before each cluster start, and how long `cluster.sh up` took, go to OUT.uptime.
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,9p "$0"; exit 0; }
OUT=${1:?usage: run.sh OUT.jsonl}
ROUNDS=${ROUNDS:-3}; SIZES=${SIZES:-"1 3"}; BASEPORT=${BASEPORT:-31600}; DUR=${DUR:-8s}
SERVERS=${SERVERS:-"main branch"}; SETTLE=${SETTLE:-0}
MAIN=${MAIN:-/work/main/dist/server/main.js}; BRANCH=${BRANCH:-/work/wt/walprealloc/dist/server/main.js}
PROBE=${PROBE:-/work/shared/tools/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/walprealloc-run.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
bin_of() { case $1 in etcd) echo /usr/bin/etcd ;; main) echo "node $MAIN" ;; branch) echo "node $BRANCH" ;; esac; }
read -r -a order <<<"$SERVERS"
for ((r = 1; r <= ROUNDS; r++)); do
  for n in $SIZES; do
    for s in "${order[@]}"; do
      current="$WORK/$s-$n-$r"
      echo "$(date -u +%T) round $r size $n $s: $(cat /proc/loadavg)" >>"$OUT.uptime"
      t0=$(date +%s.%N)
      "$CLUSTER" up "$n" "$current" "$BASEPORT" "$(bin_of "$s")" >/dev/null
      echo "  cluster up took $(echo "$(date +%s.%N) - $t0" | bc) s" >>"$OUT.uptime"
      ep=$(cat "$current/endpoints")
      sleep "$SETTLE"
      for cc in "1 1" "10 100"; do
        set -- $cc
        "$PROBE" put --endpoints "$ep" --conns "$1" --clients "$2" --duration "$DUR" --key-size 8 --val-size 256 \
          --key-space-size 100000 --sequential-keys --json --label "$s" --pid-dir "$current" | tail -1 \
          | sed "s/^{/{\"round\":$r,\"server\":\"$s\",/" >>"$OUT"
      done
      "$CLUSTER" down "$current" >/dev/null
      current=""
    done
  done
  # Rotate the order every round, so that neither build always runs first.
  order=("${order[@]:1}" "${order[0]}")
done
