#!/usr/bin/env bash
# Put -> watch event with 1,000 watchers on 10 connections (etcdprobe watch-latency, 200 puts at 20/s), RUNS times in
# a row on the same fresh cluster of N members: run 1 is what a fresh cluster shows (watch-ab.sh), the later runs a
# warmed one. Per run, one JSON line: the event and put p50/p99 (ms) and the members' CPU (ms, from /proc) on their
# main threads, on threads 2-5 (a node process's V8 platform workers: optimizing compiles, GC) and on the others.
# For a Go server (etcd) the split by thread means nothing; "cpu_ms" is what to compare.
#   watch-warm.sh CLUSTERS RUNS "N..." LABEL=COMMAND ...      ("etcd=etcd" for etcd; clusters alternate between labels)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 4 ] && { sed -n 2,7p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; K=$1; RUNS=$2; NS=$3; shift 3
D=$(mktemp -d /tmp/watch-warm.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
threads() { for i in $(seq "$1"); do p=$(cat "$D/c/m$i.pid"); k=0; for t in $(ls "/proc/$p/task" | sort -n); do echo "m$i.t$k $(awk '{print $14 + $15}' "/proc/$p/task/$t/stat")"; k=$((k + 1)); done; done | sort; }
for ((c = 1; c <= K; c++)); do
  for N in $NS; do
    for b in "$@"; do
      L=${b%%=*}; CMD=${b#*=}; [ "$CMD" = etcd ] && CMD=/usr/bin/etcd
      EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$CMD" 2>/dev/null)
      for ((r = 1; r <= RUNS; r++)); do
        threads "$N" >"$D/a"
        "$P/bin/etcdprobe" watch-latency --endpoints "$EP" --conns 10 --watchers 1000 --total 200 --put-rate 20 --json 2>/dev/null | tail -1 >"$D/r.json"
        threads "$N" >"$D/b"
        split=$(join "$D/a" "$D/b" | awk '{split($1, x, "."); d = ($3 - $2) * 10; if (x[2] == "t0") m += d; else if (x[2] ~ /^t[2-5]$/) v += d; else o += d} END {print m + 0, v + 0, o + 0}')
        python3 - "$D/r.json" "$L" "$N" "$c" "$r" "$split" <<'PY'
import json, sys
f, label, n, c, r, split = sys.argv[1:]
main, v8, other = map(int, split.split())
d = json.load(open(f))['result']
print(json.dumps({'server': label, 'members': int(n), 'cluster': int(c), 'run': int(r), 'event_p50': d['put_to_event']['p50_ms'], 'event_p99': d['put_to_event']['p99_ms'],
                  'put_p50': d['put_latency']['p50_ms'], 'put_p99': d['put_latency']['p99_ms'], 'missing': d['events_missing'],
                  'cpu_ms': main + v8 + other, 'main_ms': main, 'v8_workers_ms': v8, 'other_ms': other}))
PY
      done
      "$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D/c"
    done
  done
done
