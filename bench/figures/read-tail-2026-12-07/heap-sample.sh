#!/usr/bin/env bash
# What a put allocates on one warmed member: V8's sampling heap profiler (collected objects counted too, through
# heap-sample.mjs preloaded), during DUR of puts at 1 client after 5 s at 1 client, 5 s at 100 and 5 s at 1.
#   heap-sample.sh SERVER_JS OUT.txt [DUR=6]   (SERVER_JS: dist/server/main.js of a build)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; JS=$1; OUT=$2; DUR=${3:-6}; H=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d /tmp/heap-sample.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
export HEAP_SAMPLE_OUT=$D/put.heapprofile
EP=$("$P/cluster.sh" up 1 "$D/c" 31900 "node --import $H/heap-sample.mjs $JS" 2>/dev/null | tail -1)
put() { "$P/bin/etcdprobe" put --endpoints "$EP" --val-size 256 --key-space-size 100000 --sequential-keys --json "$@" 2>/dev/null | tail -1; }
put --conns 1 --clients 1 --duration 5s >/dev/null; put --conns 10 --clients 100 --duration 5s >/dev/null; put --conns 1 --clients 1 --duration 5s >/dev/null
kill -USR2 "$(cat "$D/c/m1.pid")"; sleep 0.3
n=$(put --conns 1 --clients 1 --duration "${DUR}s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["succeeded"])')
kill -USR2 "$(cat "$D/c/m1.pid")"; for _ in $(seq 50); do [ -s "$HEAP_SAMPLE_OUT" ] && break; sleep 0.2; done
python3 "$H/heap-sum.py" "$HEAP_SAMPLE_OUT" "$n" >"$OUT"; head -1 "$OUT"
