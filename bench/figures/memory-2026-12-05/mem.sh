#!/usr/bin/env bash
# RSS, V8 heap and CPU of one member at rest and 5 s after 100,000 distinct keys (256 B values,
# 10 conns/100 clients, etcdprobe), for etcd 3.4 and etcd-ts under several V8 flag sets; ROUNDS
# rounds, order rotated each round (paired, interleaved).
#   mem.sh OUT.tsv      (ROUNDS=2 BASEPORT=31760 TS=<this checkout> CONFIGS="etcd none ofs ofs-cli semi4 old192 hgp20")
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
OUT=${1:?usage: mem.sh OUT.tsv}
ROUNDS=${ROUNDS:-2}; BASEPORT=${BASEPORT:-31760}
TS=${TS:-$(cd "$(dirname "$0")/../../.." && pwd)}
PROBE=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
read -r -a order <<<"${CONFIGS:-etcd none ofs ofs-cli semi4 old192}"
WORK=$(mktemp -d /tmp/mem.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
# none: no V8 flag (ETCDTS_V8_FLAGS empty); ofs: --optimize-for-size through ETCDTS_V8_FLAGS
# (v8.setFlagsFromString as the server starts; in these runs it was the default, ETCDTS_V8_FLAGS unset);
# ofs-cli: the same flag on node's command line; semi4: young generation
# 4 MiB per semi-space; old192: old generation capped at 192 MiB (a hard cap: V8 aborts above it);
# hgp20: --heap-growing-percent=20 through ETCDTS_V8_FLAGS (old space grows by 1.2x per mark-compact;
# etcd-ts's default since).
bin_of() {
  case $1 in
    etcd) echo /usr/bin/etcd ;;
    none) echo "env ETCDTS_V8_FLAGS= node $TS/bin/etcd-ts.js" ;;
    ofs) echo "env ETCDTS_V8_FLAGS=--optimize-for-size node $TS/bin/etcd-ts.js" ;;
    ofs-cli) echo "env ETCDTS_V8_FLAGS= node --optimize-for-size $TS/bin/etcd-ts.js" ;;
    semi4) echo "env ETCDTS_V8_FLAGS= node --max-semi-space-size=4 $TS/bin/etcd-ts.js" ;;
    old192) echo "env ETCDTS_V8_FLAGS= node --max-old-space-size=192 $TS/bin/etcd-ts.js" ;;
    hgp20) echo "env ETCDTS_V8_FLAGS=--heap-growing-percent=20 node $TS/bin/etcd-ts.js" ;;
    hgp50) echo "env ETCDTS_V8_FLAGS=--heap-growing-percent=50 node $TS/bin/etcd-ts.js" ;;
    *) echo "unknown config $1" >&2; exit 2 ;;
  esac
}
mem() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%d\t", $2/1024}' "/proc/$1/status"; }
# V8 heap used / total and external memory (MiB) from prom-client's default metrics; "-" for etcd.
heap() {
  curl -s "$1/metrics" | awk '/^nodejs_heap_size_used_bytes /{u=$2} /^nodejs_heap_size_total_bytes /{t=$2}
    /^nodejs_external_memory_bytes /{e=$2} END {if (t) printf "%d\t%d\t%d\t", u/1048576, t/1048576, e/1048576; else printf "-\t-\t-\t"}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
[ -s "$OUT" ] || printf 'round\tserver\trest_rss\trest_anon\trest_file\trest_heap_used\trest_heap_total\trest_external\tafter_rss\tafter_anon\tafter_file\tafter_heap_used\tafter_heap_total\tafter_external\tdb_mib\tload1\tputs_per_s\tcpu_us_per_put\n' >"$OUT"
hz=$(getconf CLK_TCK)
for ((r = 1; r <= ROUNDS; r++)); do
  for s in "${order[@]}"; do
    current="$WORK/$s-$r"
    "$CLUSTER" up 1 "$current" "$BASEPORT" "$(bin_of "$s")" >/dev/null
    pid=$(cat "$current/m1.pid"); ep=$(cut -d, -f1 "$current/endpoints"); sleep 5
    rest="$(mem "$pid")$(heap "$ep")"
    c0=$(cpu_ticks "$pid")
    rps=$("$PROBE" put --endpoints "$(cat "$current/endpoints")" --conns 10 --clients 100 --total 100000 --key-size 8 \
      --val-size 256 --key-space-size 100000 --sequential-keys --json | tail -1 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["result"]["throughput_rps"]))')
    c1=$(cpu_ticks "$pid")
    sleep 5
    db=$(du -sm "$current"/m1.data | cut -f1)
    printf '%s\t%s\t%s%s%s\t%s\t%s\t%s\n' "$r" "$s" "$rest" "$(mem "$pid")$(heap "$ep")" "$db" "$(cut -d' ' -f1 /proc/loadavg)" "$rps" \
      "$(( (c1 - c0) * 1000000 / hz / 100000 ))" >>"$OUT"
    "$CLUSTER" down "$current" >/dev/null
    current=""
  done
  order=("${order[@]:1}" "${order[0]}")
done
