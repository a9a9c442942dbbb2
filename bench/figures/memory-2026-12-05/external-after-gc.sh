#!/usr/bin/env bash
# Is the external memory after 100,000 keys garbage or live? RSS and V8 metrics of one member (no V8
# flag) 5 s after the load, then after a full GC (a heap snapshot, summarised in OUT).
#   external-after-gc.sh      (OUT=/tmp/mem-ext; client port 31790)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
D=${OUT:-/tmp/mem-ext}; rm -rf $D; mkdir -p $D; cd $D
C=/work/shared/tools/etcdprobe/cluster.sh
trap '$C down $D/c >/dev/null 2>&1 || true' EXIT
ETCDTS_V8_FLAGS= $C up 1 $D/c 31790 "node --heapsnapshot-signal=SIGUSR2 $ROOT/bin/etcd-ts.js" >/dev/null 2>&1
pid=$(cat c/m1.pid)
m() { echo "$1: $(grep -E 'VmRSS|RssAnon' /proc/$pid/status | tr -s ' \n' ' ') $(curl -s 127.0.0.1:31790/metrics | grep -E '^nodejs_(heap_size_used|heap_size_total|external_memory)_bytes' | awk '{printf "%s=%d ", $1, $2/1048576}')"; }
~/.cache/etcdprobe/bin/etcdprobe put --endpoints 127.0.0.1:31790 --conns 10 --clients 100 --total 100000 --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json >/dev/null 2>&1
sleep 5; m after-load
kill -USR2 $pid; sleep 1
while ! ls Heap*.heapsnapshot >/dev/null 2>&1 || lsof -p $pid 2>/dev/null | grep -q heapsnapshot; do sleep 2; done
sleep 3; m after-full-gc
node $ROOT/bench/figures/profiles-2026-12-04/heapsnapshot-summary.mjs Heap*.heapsnapshot --top 12 > summary.txt
node "$HERE/big-buffers.mjs" Heap*.heapsnapshot > big.txt 2>&1 || true
