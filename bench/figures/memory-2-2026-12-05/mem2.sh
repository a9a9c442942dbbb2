#!/usr/bin/env bash
# RSS taken apart (anonymous, file-backed, lmdb's data.mdb mapping; V8 heap used/total, old space,
# external, arrayBuffers from process.memoryUsage() via the mem-probe.cjs preload) and CPU per put of
# one member at rest and 5 s after 100,000 distinct keys (256 B values, 10 conns / 100 clients,
# etcdprobe), for etcd 3.4.23 and two etcd-ts builds, rounds interleaved, order rotated per round.
#   mem2.sh OUT.tsv   (LATE=0 seconds more of probe lines after the row, ROUNDS=2 BASEPORT=31700 CONFIGS="main wt etcd" MAIN=/work/main WT=<this checkout> KEYS=100000)
# The measuring itself is ../memory-3-2026-12-06/memx.sh (the same loop for any member commands); this
# names the configurations of 2026-12-05.
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,8p "$0"; exit 0; }
OUT=${1:?usage: mem2.sh OUT.tsv}
HERE=$(cd "$(dirname "$0")" && pwd)
MAIN=${MAIN:-/work/main}; WT=${WT:-$(cd "$HERE/../../.." && pwd)}
args=()
for s in ${CONFIGS:-main wt etcd}; do
  case $s in
    etcd) args+=(etcd) ;;
    main) args+=("main=env ETCDTS_V8_FLAGS= node @ $MAIN/bin/etcd-ts.js") ;;
    wt) args+=("wt=env ETCDTS_V8_FLAGS= node @ $WT/bin/etcd-ts.js") ;;
    # V8's memory reducer (a memory-reducing GC once allocation goes quiet) starting 1 s after a mark-compact, not 8
    wt-mr1) args+=("wt-mr1=env ETCDTS_V8_FLAGS=--gc-memory-reducer-start-delay-ms=1000 node @ $WT/bin/etcd-ts.js") ;;
    main-mr1) args+=("main-mr1=env ETCDTS_V8_FLAGS=--gc-memory-reducer-start-delay-ms=1000 node @ $MAIN/bin/etcd-ts.js") ;;
    *) echo "unknown config $s" >&2; exit 2 ;;
  esac
done
exec bash "$HERE/../memory-3-2026-12-06/memx.sh" "$OUT" "${args[@]}"
