#!/usr/bin/env bash
# The etcdprobe set of final-2-2026-12-05/run.sh (same probes and parameters as etcdprobe's baseline.sh:
# put at 1 and 100 clients, range l and s at 1 and 100 clients, 5 s each), with one difference: each fresh
# cluster first gets WARM of puts at 1 client and WARM at 100 clients that are not recorded, so the figures
# are a running member's and not its first seconds'. Both servers get the same warm-up (etcd, compiled ahead
# of time, needs none). etcd-ts and etcd alternate per size; writes RESULTS/etcd-ts.jsonl and etcd.jsonl for
# ../final-2026-12-05/summarize.py.
#   run.sh   (env: RESULTS=/tmp/warmed/results ETCDTS=<checkout> SIZES="1 3 5 7" WARM=5s DUR=5s PASSES=1
#   FIRST_PASS=1: a later pass appended to the same RESULTS starts the other server first)
set -u
[ "${1:-}" = "--help" ] && { sed -n 2,9p "$0"; exit 0; }
P=${ETCDPROBE_DIR:-/work/shared/tools/etcdprobe}; B=$P/bin/etcdprobe
RESULTS=${RESULTS:-/tmp/warmed/results}; W=/tmp/warmed-work; mkdir -p "$RESULTS/raw"
TS="node ${ETCDTS:-$(cd "$(dirname "$0")/../../.." && pwd)}/dist/server/main.js"
CUR=""; trap '[ -n "$CUR" ] && "$P/cluster.sh" down "$CUR" >/dev/null 2>&1' EXIT
PUT=(--key-size 8 --val-size 256 --key-space-size 100000 --sequential-keys)
RANGE=(--key-size 8 --val-size 256 --key-space-size 1000 --duration "${DUR:-5s}")
one() { # one LABEL BIN SIZE
  local L=$1 BIN=$2 N=$3 LOG=$RESULTS/raw/$1.log
  CUR=$W/n$N; rm -rf "$CUR"
  local EP; EP=$("$P/cluster.sh" up "$N" "$CUR" 31100 "$BIN" 2>>"$LOG")
  echo "=== $L $N members $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$B" put --endpoints "$EP" --conns 1 --clients 1 "${PUT[@]}" --duration "${WARM:-5s}" >>"$LOG" 2>&1
  "$B" put --endpoints "$EP" --conns 10 --clients 100 "${PUT[@]}" --duration "${WARM:-5s}" >>"$LOG" 2>&1
  probe() { "$B" "$@" --json --label "$L" --pid-dir "$CUR" 2>>"$LOG" | tail -1 | grep '^{' >>"$RESULTS/$L.jsonl"; }
  probe put --endpoints "$EP" --conns 1 --clients 1 "${PUT[@]}" --duration "${DUR:-5s}"
  probe put --endpoints "$EP" --conns 10 --clients 100 "${PUT[@]}" --duration "${DUR:-5s}"
  for cons in l s; do
    probe range --endpoints "$EP" --conns 1 --clients 1 --consistency "$cons" "${RANGE[@]}"
    probe range --endpoints "$EP" --conns 10 --clients 100 --consistency "$cons" --prefill=false "${RANGE[@]}"
  done
  "$P/cluster.sh" down "$CUR" >/dev/null 2>&1; CUR=""
}
for pass in $(seq "${FIRST_PASS:-1}" $(( ${FIRST_PASS:-1} + ${PASSES:-1} - 1 ))); do
  for n in ${SIZES:-1 3 5 7}; do
    if (( (pass + n) % 2 )); then one etcd-ts "$TS" "$n"; one etcd /usr/bin/etcd "$n"; else one etcd /usr/bin/etcd "$n"; one etcd-ts "$TS" "$n"; fi
  done
done
echo DONE
