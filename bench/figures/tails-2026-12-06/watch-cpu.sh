#!/usr/bin/env bash
# Put -> watch event with 1,000 watchers on 10 connections (etcdprobe watch-latency, TOTAL puts at 20/s, fresh
# cluster of N members) and the members' CPU over the whole run (user and sys, cores, from /proc). TOTAL=1 measures
# little more than creating and canceling the 1,000 watchers.
#   watch-cpu.sh LABEL SERVER_COMMAND [N=3]     (env TOTAL=200)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; L=$1; BIN=$2; N=${3:-3}
D=$(mktemp -d /tmp/watch-cpu.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$BIN" 2>/dev/null | tail -1)
snap() { for i in $(seq "$N"); do awk '{print $14, $15}' "/proc/$(cat "$D/c/m$i.pid")/stat"; done | awk '{u += $1; s += $2} END {print u, s}'; }
read -r u0 s0 < <(snap); t0=$(date +%s.%N)
"$P/bin/etcdprobe" watch-latency --endpoints "$EP" --conns 10 --watchers 1000 --total "${TOTAL:-200}" --put-rate 20 --json 2>/dev/null | tail -1 >"$D/r.json"
read -r u1 s1 < <(snap); t1=$(date +%s.%N)
python3 - "$D/r.json" "$L" "$N" "$u0 $s0 $u1 $s1" "$t0 $t1" <<'PY'
import json, sys
f, label, n, ticks, times = sys.argv[1:]
u0, s0, u1, s1 = map(int, ticks.split()); t0, t1 = map(float, times.split()); w = t1 - t0
d = json.load(open(f)); r = d['result']
print(json.dumps({'label': label, 'members': int(n), 'event_p50': r['put_to_event']['p50_ms'], 'event_p99': r['put_to_event']['p99_ms'],
                  'put_p50': r['put_latency']['p50_ms'], 'put_p99': r['put_latency']['p99_ms'], 'wall_s': round(w, 1),
                  'user_cores': round((u1 - u0) / 100 / w, 3), 'sys_cores': round((s1 - s0) / 100 / w, 3), 'probe_cores': d['env'].get('probe_cpu_cores')}))
PY
