#!/usr/bin/env bash
# Yesterday's build (base, 666a9ac) and this one (new) through baseline.sh at 7 members, base/new/new/base.
#   run.sh   (BASE=/path/to/base-build NEW=/path/to/new-build; writes /tmp/f/res7ab)
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,3p "$0"; exit 0; }
P=/work/shared/tools/etcdprobe
export RESULTS=/tmp/f/res7ab DUR=5s APPEND=1 WORKDIR=/tmp/final2/work BASEPORT=31100 FAILOVER_SIZES=""
run() { echo "=== $1 $2 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; SIZES="$1" SERVER_BIN="$3" LABEL="$2" FAILOVER_SIZES="" TRIALS=1 "$P/baseline.sh" > /dev/null 2>&1; }
run 7 base "node ${BASE:-/work/wt/base}/dist/server/main.js"; run 7 new "node ${NEW:-/work/main}/dist/server/main.js"; run 7 new "node ${NEW:-/work/main}/dist/server/main.js"; run 7 base "node ${BASE:-/work/wt/base}/dist/server/main.js"
echo DONE
