#!/usr/bin/env bash
# gc-window.sh for several servers in turn, ROUNDS rounds, each size and read warm-up, one JSON line per run to OUT:
#   rounds.sh ROUNDS OUT.jsonl "MEMBERS..." "READ_WARMS..." LABEL=COMMAND ...   ("etcd=etcd" for etcd; READ_WARMS e.g. "0 5s")
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 5 ] && { sed -n 2,3p "$0"; exit 0; }
R=$1; OUT=$2; NS=$3; RWS=$4; shift 4
for ((r = 1; r <= R; r++)); do
  for N in $NS; do
    for RW in $RWS; do
      for b in "$@"; do
        L=${b%%=*}; CMD=${b#*=}
        echo "round $r, $N members, read warm-up $RW, $L" >&2
        READ_WARM=$RW LABEL=$L bash "$(dirname "$0")/gc-window.sh" "$N" "$CMD" | tail -1 | python3 -c "
import json, sys; d = json.loads(sys.stdin.read()); d['round'] = $r; print(json.dumps(d))" >>"$OUT"
      done
    done
  done
done
