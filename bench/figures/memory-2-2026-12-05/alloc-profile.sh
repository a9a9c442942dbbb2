#!/usr/bin/env bash
# Who allocates on the put path: one member (ETCDTS_V8_FLAGS empty) under V8's sampling heap profiler
# counting objects that minor and major GCs later collected, 100,000 keys as mem2.sh; writes the
# profile, its summary, the probe's memory lines and /proc smaps_rollup to OUT.
#   alloc-profile.sh [ROOT]     (ROOT: the etcd-ts checkout to run, default this one; OUT=/tmp/mem2-alloc; PORT=31720)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=${1:-$(cd "$HERE/../../.." && pwd)}
D=${OUT:-/tmp/mem2-alloc}; PORT=${PORT:-31720}; KEYS=${KEYS:-100000}
rm -rf "$D"; mkdir -p "$D"
C=/work/shared/tools/etcdprobe/cluster.sh
trap '$C down $D/c >/dev/null 2>&1 || true' EXIT
$C up 1 "$D/c" "$PORT" "env ETCDTS_V8_FLAGS= MEMPROBE_OUT=$D/probe.jsonl MEMPROBE_SAMPLE=1 node --require $HERE/mem-probe.cjs $ROOT/bin/etcd-ts.js" >/dev/null
pid=$(cat "$D/c/m1.pid"); sleep 3
cat /proc/$pid/smaps_rollup > "$D/rollup-rest.txt"
/work/shared/tools/etcdprobe/bin/etcdprobe put --endpoints "$(cat "$D/c/endpoints")" --conns 10 --clients 100 --total "$KEYS" --key-size 8 \
  --val-size 256 --key-space-size "$KEYS" --sequential-keys --json | tail -1 > "$D/load.json"
sleep 3
cat /proc/$pid/smaps_rollup > "$D/rollup-after.txt"
kill -USR2 "$pid"
for _ in $(seq 60); do [ -s "$D/probe.jsonl.heapprofile" ] && break; sleep 1; done
sleep 2
node "$HERE/heapprofile-top.mjs" "$D/probe.jsonl.heapprofile" --top 40 --depth 5 > "$D/alloc-top.txt"
echo "$D"
