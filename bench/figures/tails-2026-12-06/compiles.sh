#!/usr/bin/env bash
# V8's optimizing compiles in a fresh cluster of N members (ETCDTS_V8_FLAGS="--interrupt-budget=4096 --trace-opt", the
# default budget plus V8's trace): per member, compiles up to the cluster being ready and during DUR of puts at 1
# client, with the compile threads' time ("took" of each compile, ms); then the TOP longest compiles during the load on m1.
#   compiles.sh N SERVER_COMMAND [DUR=3s] [TOP=20]
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,5p "$0"; exit 0; }
P=${PROBE_DIR:-/work/shared/tools/etcdprobe}; N=$1; BIN=$2; DUR=${3:-3s}; TOP=${4:-20}
D=$(mktemp -d /tmp/compiles.XXXXXX); trap '"$P/cluster.sh" down "$D/c" >/dev/null 2>&1; rm -rf "$D"' EXIT
EP=$(ETCDTS_V8_FLAGS="--interrupt-budget=4096 --trace-opt" "$P/cluster.sh" up "$N" "$D/c" 31600 "$BIN" 2>/dev/null | tail -1)
sleep 0.5
for i in $(seq "$N"); do cp "$D/c/m$i.log" "$D/m$i.before"; done
"$P/bin/etcdprobe" put --endpoints "$EP" --conns 1 --clients 1 --duration "$DUR" --val-size 256 --key-space-size 100000 --sequential-keys >/dev/null 2>&1
for i in $(seq "$N"); do cp "$D/c/m$i.log" "$D/m$i.after"; done
took() { grep -o 'completed compiling.*took [0-9.]*, [0-9.]*' "$1" | awk -F', ' '{n++; s += $NF} END {printf "%d compiles, %.0f ms", n, s}'; }
for i in $(seq "$N"); do echo "m$i: until ready $(took "$D/m$i.before"); in all $(took "$D/m$i.after")"; done
echo "longest compiles on m1 during the load (ms, function):"
diff <(grep "completed compiling" "$D/m1.before") <(grep "completed compiling" "$D/m1.after") | grep '^>' |
  sed -E 's/.*<JSFunction ([^ ]*) .*took [0-9.]+, ([0-9.]+),.*/\2 \1/' | sort -rn | head -"$TOP"
