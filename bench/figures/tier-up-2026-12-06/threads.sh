#!/usr/bin/env bash
# CPU of every thread of every member (utime+stime from /proc) per acknowledged put, over DUR seconds of a
# put load with CLIENTS clients on one connection (CLIENTS=0: idle, per second), after 3 s of warm-up.
#   threads.sh MEMBERS CLIENTS DUR [SERVER_COMMAND]
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 3 ] && { sed -n 2,4p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; C=$2; S=$3; HERE=$(cd "$(dirname "$0")" && pwd)
CMD=${4:-"node $HERE/../../../dist/server/main.js"}; D=$(mktemp -d /tmp/threads.XXXXXX)
trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$("$P/cluster.sh" up "$N" "$D/c" 31600 "$CMD" 2>/dev/null)
load() { "$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients "$1" --duration "$2" --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1; }
load 1 3s >/dev/null
snap() { for i in $(seq "$N"); do p=$(cat "$D/c/m$i.pid"); for t in /proc/$p/task/*; do echo "m$i/$(basename "$t")-$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done; done | sort; }
snap >"$D/a"
unit=put; if [ "$C" = 0 ]; then sleep "$S"; n=$S; unit=second; else n=$(load "$C" "${S}s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["succeeded"])'); fi
snap >"$D/b"
join "$D/a" "$D/b" | awk -v n="$n" -v unit="$unit" '{d = $3 - $2; if (d > 0) printf "%-28s %7.0f µs per %s\n", $1, d * 1e4 / n, unit}'
echo "${unit}s: $n"
