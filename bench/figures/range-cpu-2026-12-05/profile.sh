#!/usr/bin/env bash
# CPU profiles (node --cpu-prof) of every member under serializable range load, per build.
#   profile.sh OUTDIR MEMBERS CONSISTENCY NAME=DIST [NAME=DIST ...]
# Writes OUTDIR/<name>-<members><c>/m<i>.cpuprofile and the etcdprobe JSON line (requests served).
set -u
OUT=$1; N=$2; C=$3; shift 3
P=/work/shared/tools/etcdprobe
W=${WORKDIR:-/tmp/rr/work}
for b in "$@"; do
  name=${b%%=*}; dist=${b#*=}
  d="$W/prof-$name-$N"; o="$OUT/$name-$N$C"
  mkdir -p "$o"
  echo "=== $name $N members $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  "$P/cluster.sh" up "$N" "$d" "${BASEPORT:-31900}" "node --cpu-prof --cpu-prof-dir=$o $dist/server/main.js" >/dev/null || { "$P/cluster.sh" down "$d"; continue; }
  ep=$(cat "$d/endpoints")
  for i in $(seq 1 "$N"); do echo "m$i $(cat "$d/m$i.pid")"; done >"$o/pids"
  t0=$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')
  "$P/bin/etcdprobe" range --endpoints "$ep" --conns 10 --clients 100 --consistency "$C" --key-size 8 --val-size 256 \
    --key-space-size 1000 --duration "${DUR:-20s}" --pid-dir "$d" --label "$name" --json 2>/dev/null | tail -n 1 >"$o/probe.json"
  t1=$(python3 -c 'import time; print(int(time.monotonic() * 1e6))')
  echo "$t0 $t1" >"$o/window"  # CLOCK_MONOTONIC µs, V8's profile clock: the probe run (prefill + timed part)
  "$P/cluster.sh" down "$d" 2>/dev/null
  # name each profile after its member
  while read -r m pid; do f=$(ls "$o"/CPU.*."$pid".*.cpuprofile 2>/dev/null | head -1); [ -n "$f" ] && mv "$f" "$o/$m.cpuprofile"; done <"$o/pids"
done
