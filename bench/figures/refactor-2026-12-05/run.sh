#!/usr/bin/env bash
# Interleaved before/after measurement for issue 13 (refactor) with etcdprobe.
set -u
# The three builds: one git worktree per commit (before 3fe8b20, refactor 4f96d3b, today), each built with npx tsc.
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
export RESULTS=/tmp/ba/results SIZES="1 3" FAILOVER_SIZES="" DUR=5s APPEND=1 WORKDIR=/tmp/ba/work BASEPORT=31100
for pass in ${PASSLIST:-1 2}; do
  for s in ${SERVERS:-before refactor today etcd}; do
    case $s in
      before) bin="node /work/wt/before/dist/server/main.js";;
      refactor) bin="node /work/wt/refactor/dist/server/main.js";;
      today) bin="node /work/main/dist/server/main.js";;
      etcd) bin=/usr/bin/etcd;;
    esac
    echo "=== pass $pass $s $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
    SERVER_BIN="$bin" LABEL="$s" "$P/baseline.sh" 2>&1 | grep -E "###|Throughput" 
  done
done
echo DONE
