#!/usr/bin/env bash
# Two builds' clusters side by side under the same etcdprobe put load at once, so both see the same
# machine (on this 2-core VM the same build moved ±30 % between runs minutes apart; run at the same
# time, the paired ratios spread 0.8-1.1). Per round and configuration: both clusters up, 4 s of
# warm-up load on both, then DUR of measured load on both, CPU per put from /proc (utime+stime of
# every member, before and after) and the probe's figures. Which build gets which ports alternates.
#
#   side-by-side.sh ROUNDS OUT.jsonl LABEL=BUILD LABEL=BUILD "N:CONNS:CLIENTS:TARGET_LEADER ..."
#   BUILD: a checkout with dist/ built, or a whole command ("node --flag /path/dist/server/main.js")
#   env: WARM=4s DUR=6s PROBE_DIR=/work/shared/tools/etcdprobe OP=put (or range-l, range-s: single-key
#   gets over 1,000 keys the warm-up puts); then summarize.py OUT.jsonl BASE_LABEL
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 5 ] && { sed -n 2,11p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; R=$1; OUT=$2; A=$3; B=$4; CFGS=($5)
trap '"$P/cluster.sh" down /tmp/cpx >/dev/null 2>&1; "$P/cluster.sh" down /tmp/cpy >/dev/null 2>&1' EXIT  # nothing left running if interrupted
cmdof() { local v=${1#*=}; if [[ $v == *" "* ]]; then echo "$v"; else echo "node $v/dist/server/main.js"; fi; }
for ((r = 1; r <= R; r++)); do
  for cfg in "${CFGS[@]}"; do
    IFS=: read -r N CN C TL <<<"$cfg"
    if ((r % 2)); then X=$A; Y=$B; else X=$B; Y=$A; fi
    echo "round $r/$R $cfg $(date -u +%T)" >&2
    rm -rf /tmp/cpx /tmp/cpy
    EPX=$("$P/cluster.sh" up "$N" /tmp/cpx 31600 "$(cmdof "$X")" 2>/dev/null)
    EPY=$("$P/cluster.sh" up "$N" /tmp/cpy 31650 "$(cmdof "$Y")" 2>/dev/null)
    load() { # load ENDPOINTS DURATION PREFILL
      case ${OP:-put} in
        put) "$P/bin/etcdprobe" put --endpoints "$1" --conns "$CN" --clients "$C" --duration "$2" --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --target-leader="$TL" --json 2>/dev/null | tail -1 ;;
        range-l | range-s) "$P/bin/etcdprobe" range --endpoints "$1" --conns "$CN" --clients "$C" --duration "$2" --val-size 256 --key-size 8 --key-space-size 1000 --consistency "${OP#range-}" --prefill="$3" --target-leader="$TL" --json 2>/dev/null | tail -1 ;;
      esac
    }
    load "$EPX" "${WARM:-4s}" true >/dev/null & load "$EPY" "${WARM:-4s}" true >/dev/null & wait
    snap() { for i in $(seq "$N"); do awk '{print $14, $15}' "/proc/$(cat "$1/m$i.pid")/stat"; done | awk '{u+=$1; s+=$2} END {print u, s}'; }
    ax=$(snap /tmp/cpx); ay=$(snap /tmp/cpy)
    load "$EPX" "${DUR:-6s}" false >/tmp/cpx/r.json & load "$EPY" "${DUR:-6s}" false >/tmp/cpy/r.json & wait
    bx=$(snap /tmp/cpx); by=$(snap /tmp/cpy)
    for side in "x ${X%%=*} $ax $bx" "y ${Y%%=*} $ay $by"; do
      set -- $side
      python3 - "$2" "$cfg" "$r" "$3 $4" "$5 $6" "/tmp/cp$1/r.json" >>"$OUT" <<'PY'
import json, sys
label, cfg, r, a, b, f = sys.argv[1:]
a = list(map(int, a.split())); b = list(map(int, b.split()))
d = json.load(open(f)); res = d['result']; n = res['succeeded']
# /proc ticks are 10 ms: µs per put = ticks * 1e4 / puts
print(json.dumps({'build': label, 'cfg': cfg, 'round': int(r), 'rps': res['throughput_rps'], 'p50': res['latency']['p50_ms'], 'p99': res['latency']['p99_ms'],
                  'user': (b[0] - a[0]) * 1e4 / n, 'sys': (b[1] - a[1]) * 1e4 / n, 'load': d['env']['loadavg_start'][0]}))
PY
    done
    "$P/cluster.sh" down /tmp/cpx >/dev/null 2>&1; "$P/cluster.sh" down /tmp/cpy >/dev/null 2>&1
  done
done
