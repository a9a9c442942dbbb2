#!/usr/bin/env bash
# What one full GC gives back once the load is over: one member (node --expose-gc, the probe preload),
# 100,000 keys as mem2.sh, RSS/anon 3 s after the load, then a full GC (SIGWINCH, mem-probe.cjs), RSS/anon
# 3 and 10 s after it.   idle-gc.sh [ROOT]   (ROOT default this checkout; OUT=/tmp/mem2-idlegc; PORT=31730)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=${1:-$(cd "$HERE/../../.." && pwd)}
D=${OUT:-/tmp/mem2-idlegc}; PORT=${PORT:-31730}
rm -rf "$D"; mkdir -p "$D"
C=/work/shared/tools/etcdprobe/cluster.sh
trap '$C down $D/c >/dev/null 2>&1 || true' EXIT
$C up 1 "$D/c" "$PORT" "env ETCDTS_V8_FLAGS= MEMPROBE_OUT=$D/probe.jsonl node --expose-gc --require $HERE/mem-probe.cjs $ROOT/bin/etcd-ts.js" >/dev/null
pid=$(cat "$D/c/m1.pid"); sleep 3
m() { echo "$1 $(awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%s=%d ", $1, $2/1024}' /proc/$pid/status)$(tail -1 $D/probe.jsonl | python3 -c 'import json,sys; d=json.load(sys.stdin); M=1048576; print("heapTotal=%d heapUsed=%d external=%d" % (d["heapTotal"]/M, d["heapUsed"]/M, d["external"]/M))')"; }
m rest
/work/shared/tools/etcdprobe/bin/etcdprobe put --endpoints "$(cat "$D/c/endpoints")" --conns 10 --clients 100 --total 100000 --key-size 8 \
  --val-size 256 --key-space-size 100000 --sequential-keys --json | tail -1 > "$D/load.json"
sleep 3; m after-load-3s
kill -WINCH "$pid"; sleep 3; m after-gc-3s
sleep 7; m after-gc-10s
