#!/usr/bin/env bash
# CPU profiles of every member of an N-member etcd-ts cluster under etcdprobe's put load (requests
# spread over every member, 10 conns, 100 clients, 8 s), covering the load only (SIGUSR2 to every
# member right before and after the run, ../profiles-2026-12-04/profile-on-signal.cjs preloaded).
# Writes OUTDIR/mI.cpuprofile.gz, mI.summary.txt (../2026-12-05-cpu-profile/subsystems.mjs, µs per
# acknowledged put), roles.txt (the leader) and probe.json.
#
#   profile-3m.sh OUTDIR [SERVER_JS]   # N=3 PORT=31800 DUR=8s CONNS=10 CLIENTS=100 PROFILE_INTERVAL_US=250
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,8p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$(mkdir -p "${1:?usage: profile-3m.sh OUTDIR [SERVER_JS]}" && cd "$1" && pwd)
SERVER=${2:-$HERE/../../../dist/server/main.js}
N=${N:-3}; PORT=${PORT:-31800}; DUR=${DUR:-8s}; CONNS=${CONNS:-10}; CLIENTS=${CLIENTS:-100}
PROBE=${PROBE:-/work/shared/tools/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/put3-prof.XXXXXX)
trap '"$CLUSTER" down "$WORK/c" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export PROFILE_DIR=$WORK PROFILE_INTERVAL_US=${PROFILE_INTERVAL_US:-250}
EP=$("$CLUSTER" up "$N" "$WORK/c" "$PORT" "node -r $HERE/../profiles-2026-12-04/profile-on-signal.cjs $SERVER" 2>/dev/null | tail -1)
pids=(); for ((i = 1; i <= N; i++)); do pids+=("$(cat "$WORK/c/m$i.pid")"); done
kill -USR2 "${pids[@]}"; sleep 0.3
"$PROBE" put --endpoints "$EP" --conns "$CONNS" --clients "$CLIENTS" --key-size 8 --val-size 256 \
  --key-space-size 100000 --sequential-keys --duration "$DUR" --json --pid-dir "$WORK/c" | tail -1 >"$OUTDIR/probe.json"
kill -USR2 "${pids[@]}"
for _ in $(seq 50); do [ "$(ls "$WORK"/*.cpuprofile 2>/dev/null | wc -l)" -ge "$N" ] && break; sleep 0.2; done
sleep 0.5
python3 -c 'import json,sys; print("leader", json.load(open(sys.argv[1]))["cluster"]["leader_name"])' "$OUTDIR/probe.json" >"$OUTDIR/roles.txt"
puts=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(r.result.succeeded)' "$OUTDIR/probe.json")
for ((i = 1; i <= N; i++)); do
  mv "$WORK/${pids[i-1]}-1.cpuprofile" "$OUTDIR/m$i.cpuprofile"
  node "$HERE/../2026-12-05-cpu-profile/subsystems.mjs" "$OUTDIR/m$i.cpuprofile" --per "$puts" --top 25 >"$OUTDIR/m$i.summary.txt"
  gzip -f "$OUTDIR/m$i.cpuprofile"
done
cat "$OUTDIR/roles.txt"; head -30 "$OUTDIR"/m*.summary.txt
