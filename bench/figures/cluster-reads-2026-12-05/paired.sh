#!/usr/bin/env bash
# Paired, interleaved etcdprobe range runs on two 3-member etcd-ts clusters (BEFORE and AFTER builds),
# both up for the whole run (the idle one costs ~1 % of a core, heartbeats). Per pass and cell
# (range-s/range-l at 1 client/1 conn and 100 clients/10 conns, keys prefilled, 5 s), the two builds
# run back to back, the order alternating per pass. One JSON line per run (etcdprobe's, with a
# "build" field and the machine's busy % in the 2 s before it) goes to OUT; CPU is etcdprobe's /proc
# utime+stime of every member over the run. Each run first waits until the machine is quiet (others' work
# below QUIET_PCT % busy), since other engineers' builds and tests share its two cores.
#
#   paired.sh OUT BEFORE_JS AFTER_JS     # e.g. paired.sh results.jsonl /path/before/dist/server/main.js dist/server/main.js
#   PASSES=2 DUR=5s N=3 PORT_BEFORE=31700 PORT_AFTER=31720
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,11p "$0"; exit 0; }
OUT=${1:?usage: paired.sh OUT BEFORE_JS AFTER_JS}; BEFORE=${2:?BEFORE_JS}; AFTER=${3:?AFTER_JS}
PASSES=${PASSES:-2}; DUR=${DUR:-5s}; N=${N:-3}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/cr-paired.XXXXXX)
trap '"$CLUSTER" down "$WORK/before" >/dev/null 2>&1 || true; "$CLUSTER" down "$WORK/after" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
declare -A EP
EP[before]=$("$CLUSTER" up "$N" "$WORK/before" "${PORT_BEFORE:-31700}" "node $BEFORE" 2>/dev/null | tail -1)
EP[after]=$("$CLUSTER" up "$N" "$WORK/after" "${PORT_AFTER:-31720}" "node $AFTER" 2>/dev/null | tail -1)
COMMON=(--key-size 8 --val-size 256 --key-space-size 1000)
for b in before after; do "$PROBE" range --endpoints "${EP[$b]}" "${COMMON[@]}" --total 1000 >/dev/null 2>&1; done
# busy_pct: the machine's CPU busy % over 2 s (/proc/stat), both clusters idle meanwhile (~3 %).
busy_pct() {
  local a b; a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( 100 * (total - idle) / total ))
}
# quiet: wait (up to QUIET_WAIT_S, default 300) until others' work leaves the machine below QUIET_PCT (default 12) busy.
quiet() {
  local t0=$SECONDS b
  while b=$(busy_pct); [ "$b" -ge "${QUIET_PCT:-12}" ] && [ $((SECONDS - t0)) -lt "${QUIET_WAIT_S:-300}" ]; do sleep 3; done
  echo "$b"
}
run() { # run BUILD CONS CONNS CLIENTS
  local pre; pre=$(quiet)
  echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) busy-before ${pre}% $1 range-$2 c$4" >&2
  "$PROBE" range --endpoints "${EP[$1]}" "${COMMON[@]}" --prefill=false --consistency "$2" --conns "$3" --clients "$4" \
    --duration "$DUR" --json --label "$1" --pid-dir "$WORK/$1" 2>/dev/null | tail -1 | sed "s/^{/{\"build\":\"$1\",\"busy_pct_before\":$pre,/" >>"$OUT"
}
for pass in $(seq "$PASSES"); do
  if [ $((pass % 2)) = 1 ]; then order="before after"; else order="after before"; fi
  for cell in "s 1 1" "s 10 100" "l 1 1" "l 10 100"; do
    set -- $cell
    for b in $order; do run "$b" "$1" "$2" "$3"; done
  done
done
