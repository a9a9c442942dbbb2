#!/usr/bin/env bash
# Interleaved etcdprobe passes for the raft-stream change (issue 16): the build before it, the build
# with it, the same plus the leader's inline save for one-entry Readies, and etcd 3.4.23.
#   run.sh            (ROUNDS="1 2", SIZES="1 3", SERVERS="before streams inline etcd", DUR=5s)
# Builds: one git worktree per commit, each built with npx tsc (paths below; BEFORE=, STREAMS=, INLINE= override).
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
export RESULTS=${RESULTS:-/tmp/rs/results} SIZES="${SIZES:-1 3}" FAILOVER_SIZES="" DUR=${DUR:-5s} APPEND=1 WORKDIR=/tmp/rs/work BASEPORT=31500
BEFORE=${BEFORE:-/work/wt/base} STREAMS=${STREAMS:-/work/main} INLINE=${INLINE:-/work/wt/leaderinline}
# quiet: wait (at most 10 min) until others' work leaves the machine below 15 % busy over 2 s
quiet() {
  local t0=$SECONDS a b idle total i
  while :; do
    a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
    idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )); total=0
    for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
    [ $(( 100 * (total - idle) / total )) -lt 15 ] || [ $((SECONDS - t0)) -gt 600 ] && return
    sleep 3
  done
}
n=0
for pass in ${ROUNDS:-1 2}; do
  list=(${SERVERS:-before streams inline etcd})
  # rotate the order every pass, so no build always runs first or last
  k=$(( n % ${#list[@]} )); order=("${list[@]:k}" "${list[@]:0:k}"); n=$((n + 1))
  for s in "${order[@]}"; do
    case $s in
      before) bin="node $BEFORE/dist/server/main.js";;
      streams) bin="node $STREAMS/dist/server/main.js";;
      inline) bin="node $INLINE/dist/server/main.js";;
      etcd) bin=/usr/bin/etcd;;
    esac
    quiet
    echo "=== pass $pass $s $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    SERVER_BIN="$bin" LABEL="$s" "$P/baseline.sh" 2>&1 | grep -E "###|Throughput"
  done
done
echo DONE
