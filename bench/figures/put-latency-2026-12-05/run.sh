#!/usr/bin/env bash
# Before/after figures for the perf fixes, with the independent Go client (etcdprobe, clientv3 3.4).
# Interleaves etcd 3.4 (/usr/bin/etcd), etcd-ts before (BASE) and after (BRANCH), the order rotated
# every round; a fresh cluster per (server, size, round); put 8 s at 1/1 and 10 conns/100 clients.
#
#   run.sh OUT.jsonl                       # ROUNDS=3 SIZES="1 3" BASEPORT=31700 DUR=8s
#   CC="1 1;10 100" (conns clients pairs); RATE=N: open the loop at N req/s (same work for every
#   server, so the servers' CPU per put compares even on a loaded machine)
#   BASE=/tmp/perf-base BRANCH=/tmp/perf-branch: a built checkout each (bin/, dist/, node_modules)
#   PROBE=path/to/etcdprobe (default: ~/.cache/etcdprobe/bin/etcdprobe, what build.sh makes)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,10p "$0"; exit 0; }
OUT=${1:?usage: run.sh OUT.jsonl}
ROUNDS=${ROUNDS:-3}; SIZES=${SIZES:-"1 3"}; BASEPORT=${BASEPORT:-31960}; DUR=${DUR:-8s}
CC=${CC:-"1 1;10 100"}; RATE=${RATE:-0}
BASE=${BASE:-/tmp/plat-base}; BRANCH=${BRANCH:-/tmp/plat-branch}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/perf-run.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true' EXIT
bin_of() { case $1 in etcd) echo /usr/bin/etcd ;; base) echo "node $BASE/bin/etcd-ts.js" ;; branch) echo "node $BRANCH/bin/etcd-ts.js" ;; esac; }
order=(etcd base branch)
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
  order=("${order[1]}" "${order[2]}" "${order[0]}")
done
rm -rf "$WORK"
