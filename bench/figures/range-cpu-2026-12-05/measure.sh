#!/usr/bin/env bash
# Interleaved CPU-per-range measurement of etcd-ts builds (bench/figures/2026-12-05-range-cpu.md).
#   measure.sh OUT.jsonl ROUNDS NAME=DIST [NAME=DIST ...]
# Each round runs every build once (the order rotates each round), at 3 members then 1 member:
# a fresh cluster, 30 s (1 member: 10 s) of idle CPU (/proc/PID/stat utime+stime of every member), then etcdprobe
# range runs (serializable and linearizable at 10 conns/100 clients, serializable at 1 client, then
# serializable and linearizable at 100 clients limited to RATE req/s) with
# --pid-dir so that each JSON line has the members' CPU during the timed part.
set -u
OUT=$1; ROUNDS=$2; shift 2
BUILDS=("$@")
P=/work/shared/tools/etcdprobe
W=${WORKDIR:-/tmp/rr/work}
BASE=${BASEPORT:-31900}
DUR=${DUR:-8s}
IDLE_S=${IDLE_S:-30}
# Fixed-rate runs: the same offered load for every build, so CPU per request is compared at equal
# throughput (saturated runs' CPU per request moves with throughput: fewer requests per event-loop turn).
RATE=${RATE:-1500}
# SIZES (default "3 1") and SPECS (default: the five runs above, as consistency,conns,clients,rate) narrow a run.
mkdir -p "$W"
cpu_ticks() { # sum of utime+stime (clock ticks) of the members in $1
  local t=0 f s
  for f in "$1"/m*.pid; do
    s=$(sed 's/.*) //' "/proc/$(cat "$f")/stat")
    set -- $s
    t=$((t + ${12} + ${13}))
  done
  echo $t
}
n_builds=${#BUILDS[@]}
for ((r = 0; r < ROUNDS; r++)); do
  for ((j = 0; j < n_builds; j++)); do
    b=${BUILDS[$(((j + r) % n_builds))]}
    name=${b%%=*}; dist=${b#*=}
    for n in ${SIZES:-3 1}; do
      d="$W/$name-$n"
      echo "=== round $r $name $n members $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
      "$P/cluster.sh" up "$n" "$d" "$BASE" "node $dist/server/main.js" >/dev/null || { "$P/cluster.sh" down "$d"; continue; }
      ep=$(cat "$d/endpoints")
      sleep 5
      l0=$(cut -d' ' -f1 /proc/loadavg); c0=$(cpu_ticks "$d"); t0=$(date +%s.%N)
      sleep "$([ "$n" = 1 ] && echo 10 || echo "$IDLE_S")"
      c1=$(cpu_ticks "$d"); t1=$(date +%s.%N); l1=$(cut -d' ' -f1 /proc/loadavg)
      python3 -c "import json,sys; print(json.dumps({'cmd':'idle','label':'$name','members':$n,'round':$r,'cpu_s':($c1-$c0)/100,'wall_s':$t1-$t0,'cores_per_member':($c1-$c0)/100/($t1-$t0)/$n,'load1':[$l0,$l1]}))" >>"$OUT"
      for spec in ${SPECS:-"s,10,100,0" "l,10,100,0" "s,1,1,0" "s,10,100,$RATE" "l,10,100,$RATE"}; do
        spec=${spec//,/ }
        set -- $spec
        "$P/bin/etcdprobe" range --endpoints "$ep" --conns "$2" --clients "$3" --consistency "$1" --rate "$4" --key-size 8 --val-size 256 \
          --key-space-size 1000 --duration "$DUR" --pid-dir "$d" --label "$name" --json 2>/dev/null | tail -n 1 >>"$OUT"
      done
      "$P/cluster.sh" down "$d" 2>/dev/null
    done
  done
done
echo DONE >&2
