#!/usr/bin/env bash
# RSS taken apart (anonymous, file-backed, lmdb's data.mdb mapping; V8 heap used/total, old space,
# external, arrayBuffers from process.memoryUsage() via the mem-probe.cjs preload) and CPU per put of
# one member at rest and 5 s after 100,000 distinct keys (256 B values, 10 conns / 100 clients,
# etcdprobe), for any number of members' commands, rounds interleaved, order rotated per round.
#   memx.sh OUT.tsv name=COMMAND ...   (COMMAND runs the member, "@" in it becomes node's --require of the
#   probe preload; the argument "etcd" is /usr/bin/etcd. ROUNDS=2 BASEPORT=31700 KEYS=100000 LATE=0)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,7p "$0"; exit 0; }
OUT=${1:?usage: memx.sh OUT.tsv name=COMMAND ...}; shift
HERE=$(cd "$(dirname "$0")" && pwd); PROBEJS=$HERE/../memory-2-2026-12-05/mem-probe.cjs
ROUNDS=${ROUNDS:-2}; BASEPORT=${BASEPORT:-31700}; KEYS=${KEYS:-100000}
PROBE=${PROBE:-/work/shared/tools/etcdprobe/bin/etcdprobe}
CLUSTER=/work/shared/tools/etcdprobe/cluster.sh
specs=("$@")
declare -A cmd; order=()
for sp in "${specs[@]}"; do n=${sp%%=*}; order+=("$n"); [ "$sp" = etcd ] && cmd[$n]=/usr/bin/etcd || cmd[$n]=${sp#*=}; done
WORK=$(mktemp -d /tmp/mem2.XXXXXX)
current=""
trap '[ -n "$current" ] && "$CLUSTER" down "$current" >/dev/null 2>&1 || true' EXIT
bin_of() { # $1 config, $2 probe output file; "@" in a command is replaced by the probe preload
  local c=${cmd[$1]}
  if [ "$c" = /usr/bin/etcd ]; then echo "$c"; else echo "env MEMPROBE_OUT=$2 ${c//@/--require $PROBEJS}"; fi
}
status() { awk '/^(VmRSS|RssAnon|RssFile):/ {printf "%d\t", $2/1024}' "/proc/$1/status"; }
dbmap() { awk '/^[0-9a-f]+-[0-9a-f]+ /{db = ($6 ~ /data\.mdb$|member\/snap\/db$/)} db && /^Rss:/{s += $2} END {printf "%d\t", s/1024}' "/proc/$1/smaps"; }
probe() { # heap used/total, old space used/size, external, arrayBuffers (MiB) from the probe's last line
  if [ -s "$1" ]; then tail -1 "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); M=1048576; o=d["spaces"]["old_space"]
print("\t".join(str(round(x/M)) for x in [d["heapUsed"], d["heapTotal"], o[0], o[1], d["external"], d["arrayBuffers"]]), end="\t")'
  else printf -- '-\t-\t-\t-\t-\t-\t'; fi
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cols="rss anon file dbmap heap_used heap_total old_used old_size external arraybuffers"
head="round server"; for p in rest after; do for c in $cols; do head="$head ${p}_$c"; done; done
[ -s "$OUT" ] || echo "$head load1 puts_per_s cpu_us_per_put" | tr ' ' '\t' >"$OUT"
hz=$(getconf CLK_TCK)
for ((r = 1; r <= ROUNDS; r++)); do
  for s in "${order[@]}"; do
    current="$WORK/$s-$r"; pf="$WORK/$s-$r.probe"
    "$CLUSTER" up 1 "$current" "$BASEPORT" "$(bin_of "$s" "$pf")" >/dev/null
    pid=$(cat "$current/m1.pid"); sleep 5
    rest="$(status "$pid")$(dbmap "$pid")$(probe "$pf")"
    c0=$(cpu_ticks "$pid")
    rps=$("$PROBE" put --endpoints "$(cat "$current/endpoints")" --conns 10 --clients 100 --total "$KEYS" --key-size 8 \
      --val-size 256 --key-space-size "$KEYS" --sequential-keys --json | tail -1 | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["result"]["throughput_rps"]))')
    c1=$(cpu_ticks "$pid")
    sleep 5
    after="$(status "$pid")$(dbmap "$pid")$(probe "$pf")"
    printf '%s\t%s\t%s%s%s\t%s\t%s\n' "$r" "$s" "$rest" "$after" "$(cut -d' ' -f1 /proc/loadavg)" "$rps" \
      "$(( (c1 - c0) * 1000000 / hz / KEYS ))" >>"$OUT"
    sleep "${LATE:-0}" # the probe keeps a line a second: RSS later on, for the memory reducer
    cp "$pf" "$(dirname "$OUT")/$(basename "$OUT" .tsv).$s-$r.probe.jsonl" 2>/dev/null || true
    "$CLUSTER" down "$current" >/dev/null
    current=""
  done
  order=("${order[@]:1}" "${order[0]}")
done
