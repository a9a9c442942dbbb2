#!/usr/bin/env bash
# One fresh member: 3 s of closed-loop puts, then strace -f -T -tt of its writes and syncs (fdatasync, fsync, msync,
# pwrite64, pwritev, write, writev) during 1,000 puts at 100/s. Writes OUTDIR/LABEL.strace and OUTDIR/LABEL.fds (the
# member's open files, to tell the WAL's descriptor from the backend's), then runs sync-overlap.py on them.
#   strace-syncs.sh LABEL SERVER_COMMAND OUTDIR
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; L=$1; BIN=$2; OUT=$3; HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/strace-syncs.XXXXXX); trap 'kill "$SP" 2>/dev/null; "$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
mkdir -p "$OUT"; SP=
EP=$("$P/cluster.sh" up 1 "$D/c" 31500 "$BIN" 2>/dev/null | tail -1); PID=$(cat "$D/c/m1.pid")
PUT=(--endpoints "$EP" --val-size 256 --key-space-size 100000 --sequential-keys)
"$P/bin/etcdprobe" put "${PUT[@]}" --duration 3s >/dev/null 2>&1
ls -l "/proc/$PID/fd" >"$OUT/$L.fds" 2>/dev/null
strace -f -T -tt -e trace=fdatasync,fsync,msync,pwrite64,pwritev,write,writev -p "$PID" -o "$OUT/$L.strace" 2>/dev/null & SP=$!
sleep 1
"$P/bin/etcdprobe" put "${PUT[@]}" --duration 10s --rate 100 --json 2>/dev/null | tail -1 |
  python3 -c 'import json,sys; l=json.load(sys.stdin)["result"]["latency"]; print("client p50 %s p90 %s p99 %s max %s ms" % (l["p50_ms"], l["p90_ms"], l["p99_ms"], l["max_ms"]))'
kill "$SP"; wait "$SP" 2>/dev/null; SP=
wal=$(awk '/member\/wal\/.*\.wal$/ {print $(NF-2)}' "$OUT/$L.fds" | head -1)
db=$(awk '/member\/snap\/db$/ {print $(NF-2)}' "$OUT/$L.fds" | paste -sd, -)
python3 "$HERE/sync-overlap.py" "$OUT/$L.strace" "$wal" "$db"
