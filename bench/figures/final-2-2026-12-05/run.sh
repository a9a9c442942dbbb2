#!/usr/bin/env bash
# Final interleaved figures after the raft streams: etcd-ts (main as merged) beside etcd 3.4.23, etcdprobe.
#   run.sh   (writes $RESULTS, default /tmp/final2/results; then copy the .jsonl here and run ../final-2026-12-05/summarize.py final-2-2026-12-05)
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,3p "$0"; exit 0; }
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
export RESULTS=${RESULTS:-/tmp/final2/results} DUR=5s APPEND=1 WORKDIR=/tmp/final2/work BASEPORT=31100 FAILOVER_SIZES=""
run() { # run SIZES LABEL BIN [FAILOVER]
  echo "=== $1 $2 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  SIZES="$1" SERVER_BIN="$3" LABEL="$2" FAILOVER_SIZES="${4:-}" TRIALS=2 "$P/baseline.sh" > /dev/null 2>&1
}
TS="node ${ETCDTS:-/work/main}/dist/server/main.js"
for pass in 1 2; do
  if [ $pass = 1 ]; then run "1 3" etcd-ts "$TS"; run "1 3" etcd /usr/bin/etcd; else run "1 3" etcd /usr/bin/etcd; run "1 3" etcd-ts "$TS"; fi
done
run "5 7" etcd-ts "$TS"; run "5 7" etcd /usr/bin/etcd
run "" etcd-ts "$TS" 3; run "" etcd /usr/bin/etcd 3
echo DONE
