#!/usr/bin/env bash
# A fresh cluster of 3 members, strace of every member's fdatasync/fsync (duration, -T) during 5 s of puts at
# 100/s on the leader, 1 s after start; the client's p50/p99 and each member's fdatasync p50/p99/max.
#   fdatasync-strace.sh LABEL SERVER_COMMAND OUTDIR
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; L=$1; CMD=$2; OUT=$3; C=$(mktemp -d /tmp/fdatasync-strace.XXXXXX)
trap 'pkill -f "strace -f -T -tt -e trace=fdatasync" 2>/dev/null; "$P/cluster.sh" down "$C/c" >/dev/null 2>&1; rm -rf "$C"' EXIT
mkdir -p "$OUT"
"$P/cluster.sh" up 3 "$C/c" 31920 "$CMD" >/dev/null 2>&1
pids=()
for i in 1 2 3; do strace -f -T -tt -e trace=fdatasync,fsync -p "$(cat "$C/c/m$i.pid")" -o "$OUT/$L-m$i.txt" 2>/dev/null & pids+=($!); done
sleep 1
"$P/bin/etcdprobe" put --endpoints "$(cat "$C/c/endpoints")" --target-leader --conns 1 --clients 1 --duration 5s --rate 100 --key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(sys.argv[1], "client p50", r["latency"]["p50_ms"], "p99", r["latency"]["p99_ms"])' "$L"
kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
for i in 1 2 3; do python3 - "$OUT/$L-m$i.txt" <<'PY'
import re, sys
d = sorted(float(m.group(1)) * 1e3 for m in re.finditer(r'<([0-9.]+)>', open(sys.argv[1]).read()))
print(sys.argv[1].split('/')[-1], 'n', len(d), 'p50 %.2f p99 %.2f max %.2f ms, over 4 ms: %d' % (d[len(d) // 2], d[int(len(d) * .99)], d[-1], sum(1 for x in d if x > 4)) if d else 'none')
PY
done
