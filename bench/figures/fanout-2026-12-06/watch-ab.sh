#!/usr/bin/env bash
# Put -> watch event (etcdprobe watch-latency) of several servers in turn, fresh clusters each run:
#   watch-ab.sh ROUNDS OUT.jsonl "MEMBERS..." LABEL=COMMAND ...   ("etcd=etcd" for etcd)
# env: W watchers (1000), C connections (10), RATE puts/s (20), T puts (200), WARM (e.g. 10s: closed-loop puts
# at 100 clients first, unrecorded), ROUND (the first round's number, 1), SUMMARY=0 (no medians at the end).
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 4 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; R=$1; OUT=$2; NS=$3; shift 3
W=${W:-1000}; C=${C:-10}; RATE=${RATE:-20}; T=${T:-200}
D=$(mktemp -d /tmp/watch-ab.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
R0=${ROUND:-1}
for ((r = R0; r < R0 + R; r++)); do
  for N in $NS; do
    for b in "$@"; do
      L=${b%%=*}; CMD=${b#*=}
      EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$CMD" 2>/dev/null)
      [ -n "${WARM:-}" ] && "$P/bin/etcdprobe" put --endpoints "$EP" --conns 10 --clients 100 --duration "$WARM" --val-size 256 --key-size 8 --key-space-size 100000 >/dev/null 2>&1
      "$P/bin/etcdprobe" watch-latency --endpoints "$EP" --conns "$C" --watchers "$W" --total "$T" --put-rate "$RATE" --json 2>/dev/null | tail -1 |
        python3 -c "
import json, sys; d = json.load(sys.stdin)['result']; e = d['put_to_event']; p = d['put_latency']
print(json.dumps({'server': '$L', 'round': $r, 'members': $N, 'watchers': $W, 'event_p50': e['p50_ms'], 'event_p99': e['p99_ms'], 'put_p50': p['p50_ms'], 'put_p99': p['p99_ms'], 'missing': d['events_missing']}))" | tee -a "$OUT"
      "$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D/c"
    done
  done
done
[ "${SUMMARY:-1}" = 0 ] && exit 0
python3 - "$OUT" <<'PY'
import json, statistics, sys
from collections import defaultdict
g = defaultdict(list)
for line in open(sys.argv[1]):
    d = json.loads(line); g[(d['members'], d['watchers'], d['server'])].append(d)
for k, v in sorted(g.items()):
    print(k, 'event p50 median %.2f (%s)' % (statistics.median(x['event_p50'] for x in v), ' '.join('%.1f' % x['event_p50'] for x in v)),
          'p99 median %.1f (%s)' % (statistics.median(x['event_p99'] for x in v), ' '.join('%.1f' % x['event_p99'] for x in v)),
          'put p50 median %.2f' % statistics.median(x['put_p50'] for x in v))
PY
