#!/usr/bin/env bash
# CPU profiles of every member of an N-member etcd-ts cluster under etcdprobe's range load, covering
# the load only (profile-on-signal.cjs preloaded; SIGUSR2 to every member right before and after the
# run; keys prefilled by an untimed probe run first). Writes OUTDIR/mI.cpuprofile, mI.summary.txt,
# probe.json (with per-member CPU from /proc) and roles.txt (which member led).
#
#   profile-range.sh OUTDIR N CONSISTENCY [SERVER_JS]   # CONSISTENCY l|s; SERVER_JS default: this checkout's dist/server/main.js
#   PORT=31600 DUR=8s CONNS=10 CLIENTS=100 RATE=0 PROFILE_INTERVAL_US=250 ONLY=2 (send the load to member 2 only)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,8p "$0"; exit 0; }
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$(mkdir -p "${1:?usage: profile-range.sh OUTDIR N l|s [SERVER_JS]}" && cd "$1" && pwd)
N=${2:?N}; CONS=${3:?consistency}
SERVER=${4:-$HERE/../../../dist/server/main.js}
PORT=${PORT:-31600}; DUR=${DUR:-8s}; CONNS=${CONNS:-10}; CLIENTS=${CLIENTS:-100}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/crange-prof.XXXXXX)
trap '"$CLUSTER" down "$WORK/c" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
export PROFILE_DIR=$WORK PROFILE_INTERVAL_US=${PROFILE_INTERVAL_US:-250}
PRELOAD="-r $HERE/../profiles-2026-12-04/profile-on-signal.cjs"
EP=$("$CLUSTER" up "$N" "$WORK/c" "$PORT" "node $PRELOAD $SERVER" 2>/dev/null | tail -1)
COMMON=(--endpoints "$EP" --key-size 8 --val-size 256 --key-space-size 1000 --consistency "$CONS")
"$PROBE" range "${COMMON[@]}" --total 1000 >/dev/null 2>&1   # prefill
[ -n "${ONLY:-}" ] && COMMON[1]=127.0.0.1:$((PORT + 2 * (ONLY - 1)))
signal() { for i in $(seq "$N"); do kill -USR2 "$(cat "$WORK/c/m$i.pid")"; done; }
signal; sleep 0.3
"$PROBE" range "${COMMON[@]}" --prefill=false --conns "$CONNS" --clients "$CLIENTS" --rate "${RATE:-0}" --duration "$DUR" --json \
  --pid-dir "$WORK/c" 2>/dev/null | tail -1 >"$OUTDIR/probe.json"
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log("leader", r.cluster.leader_name)' "$OUTDIR/probe.json" >"$OUTDIR/roles.txt"
signal
for i in $(seq "$N"); do
  pid=$(cat "$WORK/c/m$i.pid")
  for _ in $(seq 50); do ls "$WORK/$pid"-*.cpuprofile >/dev/null 2>&1 && break; sleep 0.2; done
  sleep 0.3; mv "$WORK/$pid"-*.cpuprofile "$OUTDIR/m$i.cpuprofile"
done
reqs=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(r.result.succeeded)' "$OUTDIR/probe.json")
for i in $(seq "$N"); do
  node "$HERE/../2026-12-05-cpu-profile/subsystems.mjs" "$OUTDIR/m$i.cpuprofile" --per "$reqs" --top 40 >"$OUTDIR/m$i.summary.txt"
done
cat "$OUTDIR/roles.txt"
