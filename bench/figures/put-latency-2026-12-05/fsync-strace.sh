#!/usr/bin/env bash
# The WAL's fdatasync as the kernel sees it (strace -T), etcd vs etcd-ts under the same 1-client put
# load: a fresh 1-member cluster, 1 client for DUR, strace on the member for the middle 3 s.
#   fsync-strace.sh OUTFILE [SERVER_BIN]   (DUR=6s, BASEPORT=31980)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
OUT=${1:?usage}; BIN=${2:-/usr/bin/etcd}; DUR=${DUR:-6s}; BASEPORT=${BASEPORT:-31980}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
C=$(mktemp -d /tmp/put-strace.XXXXXX)
trap '"$CLUSTER" down "$C" >/dev/null 2>&1 || true; rm -rf "$C"' EXIT
"$CLUSTER" up 1 "$C" "$BASEPORT" "$BIN" >/dev/null
"$PROBE" put --endpoints "$(cat "$C/endpoints")" --conns 1 --clients 1 --duration "$DUR" --key-size 8 --val-size 256 \
  --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 >"$OUT.probe.json" &
sleep 1.5
timeout -s INT 3 strace -f -T -e trace=fdatasync,fsync,pwrite64,write -p "$(cat "$C/m1.pid")" -o "$OUT" || true
wait
python3 - "$OUT" <<'PY'
import re, statistics, sys
d = {}
for line in open(sys.argv[1]):
    m = re.search(r'(\w+)\((\d+).*<([0-9.]+)>$', line)
    if m: d.setdefault((m.group(1), m.group(2)), []).append(float(m.group(3)) * 1e6)
for (call, fd), v in sorted(d.items(), key=lambda kv: -len(kv[1]))[:6]:
    v.sort(); print(f"{call}(fd {fd}): n={len(v)} median {statistics.median(v):.0f} µs p90 {v[int(len(v)*0.9)]:.0f} µs")
PY
