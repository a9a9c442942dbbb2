#!/usr/bin/env bash
# One CPU profile of a 1-member etcd-ts under etcdprobe's put load (10 conns, 100 clients, 8 s),
# covering the load only: the server runs with profile-on-signal.cjs preloaded and gets SIGUSR2
# right before and right after the probe run. Writes OUTDIR/m1.cpuprofile, probe.json, summary.txt.
#
#   profile.sh OUTDIR [SERVER_JS]     # SERVER_JS default: this checkout's dist/server/main.js
#   PORT=31800 DUR=8s CONNS=10 CLIENTS=100 PROFILE_INTERVAL_US=250
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,8p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$(mkdir -p "${1:?usage: profile.sh OUTDIR [SERVER_JS]}" && cd "$1" && pwd)
SERVER=${2:-$HERE/../../../dist/server/main.js}
PORT=${PORT:-31800}; DUR=${DUR:-8s}; CONNS=${CONNS:-10}; CLIENTS=${CLIENTS:-100}
PROBE=${PROBE:-/work/shared/tools/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/cpuput-prof.XXXXXX)
trap '"$CLUSTER" down "$WORK/c" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export PROFILE_DIR=$WORK PROFILE_INTERVAL_US=${PROFILE_INTERVAL_US:-250}
"$CLUSTER" up 1 "$WORK/c" "$PORT" "node -r $HERE/../profiles-2026-12-04/profile-on-signal.cjs $SERVER" >/dev/null
pid=$(cat "$WORK/c/m1.pid")
kill -USR2 "$pid"; sleep 0.3
"$PROBE" put --endpoints "127.0.0.1:$PORT" --conns "$CONNS" --clients "$CLIENTS" --key-size 8 --val-size 256 \
  --key-space-size 100000 --sequential-keys --duration "$DUR" --json --pid-dir "$WORK/c" | tail -1 >"$OUTDIR/probe.json"
kill -USR2 "$pid"
for _ in $(seq 50); do ls "$WORK"/*.cpuprofile >/dev/null 2>&1 && break; sleep 0.2; done
sleep 0.5
mv "$WORK"/*.cpuprofile "$OUTDIR/m1.cpuprofile"
puts=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(r.result.succeeded)' "$OUTDIR/probe.json")
node "$HERE/subsystems.mjs" "$OUTDIR/m1.cpuprofile" --per "$puts" --top 40 >"$OUTDIR/summary.txt"
cat "$OUTDIR/summary.txt"
