#!/usr/bin/env bash
# How one unary call looks on the wire: a 1-member etcd-ts (cluster.sh), 300 puts at 1 client by etcdprobe
# and by the bench's load generator, tcpdump on loopback, then gaps.py per call. Also the same on a bare
# Node http2 server (node-http2-trailers.mjs), to show the split is Node's, not etcd-ts's.
#   capture.sh [OUT]   (needs tcpdump; ports 31650 and 31777)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd); OUT=${1:-/tmp/trailers}; mkdir -p "$OUT"
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}
EP=$("$P/cluster.sh" up 1 "$OUT/c" 31650 "node $ROOT/dist/server/main.js" 2>/dev/null | tail -1)
trap '"$P/cluster.sh" down "$OUT/c" >/dev/null 2>&1 || true' EXIT
cap() { (timeout "$2" tcpdump -i lo -nn -tt -s 200 "tcp port $3" -w "$OUT/$1.pcap" >/dev/null 2>&1 &); sleep 0.5; }
cap probe 4 31650; "$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients 1 --key-size 8 --val-size 256 --total 300 --json >/dev/null 2>&1; sleep 4
cap bench 6 31650; node "$ROOT/bin/etcdkit.js" bench --endpoints "http://$EP" --workloads put --clients 1 --conns 1 --total 300 --warmup 0 --trials 1 --baseline none --quiet --out "$OUT/b" >/dev/null 2>&1; sleep 6
cap micro 5 31777; node "$HERE/node-http2-trailers.mjs" end; sleep 5
for f in probe bench; do echo "== $f"; tcpdump -nn -tt -r "$OUT/$f.pcap" 2>/dev/null | python3 "$HERE/gaps.py" 31650 40; done
echo "== bare node:http2 server"; tcpdump -nn -tt -r "$OUT/micro.pcap" 2>/dev/null | python3 "$HERE/gaps.py" 31777 40
