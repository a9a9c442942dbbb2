#!/usr/bin/env bash
# One follower of a 3-member etcd-ts cluster under clientv3 at 1 client (1,000 puts sent to that follower
# only), with the member's latency trace armed (ETCDTS_LATENCY_TRACE, server/util/latency-trace.ts) and
# tcpdump on its client port; align.py then puts the trace's `reply`/`recv` beside the segments on the wire.
#   follower.sh [OUT]   (needs tcpdump; ports 31600-31605)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd); OUT=${1:-/tmp/follower}; rm -rf "$OUT"; mkdir -p "$OUT"
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
EP=$(ETCDTS_LATENCY_TRACE="$OUT/%p.trace" "$P/cluster.sh" up 3 "$OUT/c" 31600 "node $ROOT/dist/server/main.js" 2>/dev/null | tail -1)
trap '"$P/cluster.sh" down "$OUT/c" >/dev/null 2>&1 || true' EXIT
L=$("$P/bin/etcdprobe" put --endpoints "$EP" --total 10 --json 2>/dev/null | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"]["leader_name"])')
read -r FN F _ < <(awk -v l="$L" '$1 != l {print; exit}' "$OUT/c/members")
PID=$(cat "$OUT/c/$FN.pid")
(timeout 6 tcpdump -i lo -nn -tt -s 200 "tcp port ${F##*:}" -w "$OUT/f.pcap" >/dev/null 2>&1 &); sleep 0.5
"$P/bin/etcdprobe" put --endpoints "$F" --conns 1 --clients 1 --key-size 8 --val-size 256 --total 1000 --json 2>/dev/null | tail -1 >"$OUT/probe.json"
sleep 6; "$P/cluster.sh" down "$OUT/c" >/dev/null 2>&1 || true
tcpdump -nn -tt -r "$OUT/f.pcap" 2>/dev/null >"$OUT/f.txt"
python3 "$HERE/align.py" "$OUT/f.txt" "$OUT/$PID.trace" "${F##*:}"
