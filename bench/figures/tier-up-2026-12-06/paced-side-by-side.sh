#!/usr/bin/env bash
# Fresh clusters of several builds at once, the same paced put load (1 client on the leader, RATE puts/s,
# 2 s into the cluster's life) on each at once; the client's p50/p90/p99 per build and round, then medians.
#   paced-side-by-side.sh ROUNDS OUT.jsonl MEMBERS RATE DURATION LABEL=COMMAND ...   ("etcd=etcd" for etcd)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 6 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; R=$1; OUT=$2; N=$3; RATE=$4; DUR=$5; shift 5; BUILDS=("$@")
trap 'for i in "${!BUILDS[@]}"; do "$P/cluster.sh" down /tmp/pp$i >/dev/null 2>&1; done' EXIT  # nothing left running
for ((r = 1; r <= R; r++)); do
  echo "round $r/$R $(date -u +%T)" >&2
  for i in "${!BUILDS[@]}"; do  # which build gets which ports rotates per round
    b=${BUILDS[$(((i + r) % ${#BUILDS[@]}))]}
    rm -rf /tmp/pp$i; EP=$("$P/cluster.sh" up "$N" /tmp/pp$i $((31500 + 20 * i)) "${b#*=}" 2>/dev/null)
    echo "${b%%=*} $EP" >/tmp/pp$i/label
  done
  for i in "${!BUILDS[@]}"; do
    read -r L EP </tmp/pp$i/label
    ("$P/bin/etcdprobe" put --endpoints "$EP" --target-leader --conns 1 --clients 1 --duration "$DUR" --rate "$RATE" --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 |
      python3 -c "import json,sys; d=json.load(sys.stdin)['result']; l=d['latency']; print(json.dumps({'build':'$L','round':$r,'n':$N,'rate':$RATE,'rps':d['throughput_rps'],'p50':l['p50_ms'],'p90':l['p90_ms'],'p99':l['p99_ms']}))" >>"$OUT") &
  done
  wait
  for i in "${!BUILDS[@]}"; do "$P/cluster.sh" down /tmp/pp$i >/dev/null 2>&1; done
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
from collections import defaultdict
g = defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line); g[(d['n'], d['rate'], d['build'])].append(d)
for k, v in sorted(g.items()):
    print(k, 'p50 median %.3f (%s)' % (statistics.median(x['p50'] for x in v), ' '.join('%.2f' % x['p50'] for x in v)),
          'p99 median %.2f' % statistics.median(x['p99'] for x in v), 'req/s %.0f' % statistics.median(x['rps'] for x in v))
PY
