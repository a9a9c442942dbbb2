#!/usr/bin/env bash
# RSS of one member at rest and 5 s after 100,000 distinct keys (256 B values, 10 conns/100 clients,
# etcdprobe), for etcd 3.4, etcd-ts before (BASE) and after (BRANCH); ROUNDS rounds, order rotated.
#   mem.sh OUT.tsv      (ROUNDS=2 BASEPORT=31760 BASE=/tmp/perf-base BRANCH=/tmp/perf-branch)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,4p "$0"; exit 0; }
OUT=${1:?usage: mem.sh OUT.tsv}
ROUNDS=${ROUNDS:-2}; BASEPORT=${BASEPORT:-31760}
BASE=${BASE:-/tmp/perf-base}; BRANCH=${BRANCH:-/tmp/perf-branch}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
WORK=$(mktemp -d /tmp/perf-mem.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true' EXIT
bin_of() { case $1 in etcd) echo /usr/bin/etcd ;; base) echo "node $BASE/bin/etcd-ts.js" ;; branch) echo "node $BRANCH/bin/etcd-ts.js" ;; esac; }
mem() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%d\t", $2/1024}' "/proc/$1/status"; }
[ -s "$OUT" ] || printf 'round\tserver\trest_rss\trest_anon\trest_file\tafter_rss\tafter_anon\tafter_file\tload1\tputs_per_s\n' >"$OUT"
order=(etcd base branch)
for ((r = 1; r <= ROUNDS; r++)); do
  for s in "${order[@]}"; do
    current="$WORK/$s-$r"
    "$CLUSTER" up 1 "$current" "$BASEPORT" "$(bin_of "$s")" >/dev/null
    pid=$(cat "$current/m1.pid"); sleep 5
    rest=$(mem "$pid")
    rps=$("$PROBE" put --endpoints "$(cat "$current/endpoints")" --conns 10 --clients 100 --total 100000 --key-size 8 \
      --val-size 256 --key-space-size 100000 --sequential-keys --json | tail -1 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["result"]["throughput_rps"]))')
    sleep 5
    printf '%s\t%s\t%s%s%s\t%s\n' "$r" "$s" "$rest" "$(mem "$pid")" "$(cut -d' ' -f1 /proc/loadavg)" "$rps" >>"$OUT"
    "$CLUSTER" down "$current" >/dev/null
    current=""
  done
  order=("${order[1]}" "${order[2]}" "${order[0]}")
done
rm -rf "$WORK"
