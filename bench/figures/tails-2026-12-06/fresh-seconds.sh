#!/usr/bin/env bash
# A fresh cluster of N members, then SECS back-to-back 1 s runs of puts at 1 client (etcdprobe). Per second: puts,
# the members' main threads' CPU and their other threads' CPU (cores, all members, from /proc). At the end, each
# thread's CPU over the first 2 s by its rank in the process (t0 = main; in node t2-t5 are V8's platform workers).
#   fresh-seconds.sh N SERVER_COMMAND SECS     (env ETCDTS_V8_FLAGS is passed to the members as usual)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; BIN=$2; S=$3
D=$(mktemp -d /tmp/fresh-seconds.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$BIN" 2>/dev/null | tail -1)
# "rank ticks" for every thread of every member (utime+stime, 10 ms ticks)
threads() { for i in $(seq "$N"); do p=$(cat "$D/c/m$i.pid"); k=0; for t in $(ls "/proc/$p/task" | sort -n); do echo "t$k $(awk '{print $14 + $15}' "/proc/$p/task/$t/stat")"; k=$((k + 1)); done; done; }
split() { awk '{if ($1 == "t0") m += $2; else o += $2} END {print m, o}'; }
threads >"$D/t0"; read -r m0 o0 < <(split <"$D/t0"); t0=$(date +%s.%N); out=""
for s in $(seq "$S"); do
  n=$("$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients 1 --duration 1s --val-size 256 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["succeeded"])')
  threads >"$D/t$s"; read -r m1 o1 < <(split <"$D/t$s"); t1=$(date +%s.%N)
  out="$out $n/$(python3 -c "print('%.2f/%.2f' % (($m1 - $m0) / 100 / ($t1 - $t0), ($o1 - $o0) / 100 / ($t1 - $t0)))")"
  m0=$m1; o0=$o1; t0=$t1
done
echo "N=$N puts/main-cores/other-cores per second:$out"
[ "$S" -ge 2 ] && echo "CPU ms by thread rank, first 2 s: $(paste -d' ' "$D/t0" "$D/t2" | awk '{a[$1] += ($4 - $2) * 10} END {for (k in a) if (a[k] > 0) printf "%s %d, ", k, a[k]}')"
