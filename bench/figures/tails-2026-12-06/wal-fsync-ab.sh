#!/usr/bin/env bash
# One fresh member: 10 s of closed-loop puts (1 client), then 2,000 puts at 100/s (20 s). Prints the client's
# p50 / p90 / p99 / max (ms) and how many of the member's WAL fdatasyncs in the paced phase took more than each
# bucket of etcd_disk_wal_fsync_duration_seconds (its /metrics, before and after; etcd and etcd-ts both export it),
# and what the paced phase wrote: the member's write_bytes (/proc/PID/io) and the disk's writes and KiB written
# (/sys/block/DEV/stat: machine-wide, so other tenants' I/O is included).
#   wal-fsync-ab.sh LABEL SERVER_COMMAND     (e.g. etcd /usr/bin/etcd, or ts "node dist/server/main.js")
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,7p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; L=$1; BIN=$2
D=$(mktemp -d /tmp/wal-fsync-ab.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up 1 "$D/c" 31500 "$BIN" 2>/dev/null | tail -1)
PUT=(--endpoints "$EP" --val-size 256 --key-space-size 100000 --sequential-keys)
"$P/bin/etcdprobe" put "${PUT[@]}" --duration 10s >/dev/null 2>&1
hist() { curl -s "http://$EP/metrics" | grep '^etcd_disk_wal_fsync_duration_seconds_bucket'; }
DEV=$(lsblk -no pkname "$(df --output=source /tmp | tail -1)" 2>/dev/null); DEV=${DEV:-$(basename "$(df --output=source /tmp | tail -1)")}
io() { echo "$(awk '/^write_bytes/ {print $2}' "/proc/$(cat "$D/c/m1.pid")/io") $(awk '{print $5, $7}' "/sys/block/$DEV/stat")"; }
hist >"$D/m0"; io >"$D/io0"
"$P/bin/etcdprobe" put "${PUT[@]}" --duration 20s --rate 100 --json 2>/dev/null | tail -1 >"$D/r.json"
hist >"$D/m1"; io >"$D/io1"
python3 - "$L" "$D/r.json" "$D/m0" "$D/m1" "$(cat "$D/io0")" "$(cat "$D/io1")" <<'PY'
import json, re, sys
label, r, m0, m1, io0, io1 = sys.argv[1:]
io = [b - a for a, b in zip(map(int, io0.split()), map(int, io1.split()))]
lat = json.load(open(r))['result']['latency']
def buckets(f):
    return {re.search(r'le="([^"]+)"', l).group(1): float(l.split()[-1]) for l in open(f)}
a, b = buckets(m0), buckets(m1)
n = b['+Inf'] - a['+Inf']
over = {k: int(n - (b[k] - a[k])) for k in ('0.001', '0.002', '0.004', '0.008')}
print(json.dumps({'label': label, 'p50': lat['p50_ms'], 'p90': lat['p90_ms'], 'p99': lat['p99_ms'], 'max': lat['max_ms'], 'syncs': int(n),
                  'syncs_over_1ms': over['0.001'], 'over_2ms': over['0.002'], 'over_4ms': over['0.004'], 'over_8ms': over['0.008'],
                  'member_written_kib': io[0] // 1024, 'disk_writes': io[1], 'disk_written_kib': io[2] // 2}))
PY
