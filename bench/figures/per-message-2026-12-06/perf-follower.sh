#!/usr/bin/env bash
# perf-follower.sh OUTDIR: perf profiles (cpu-clock, call graphs) of one follower and the leader of a 7-member
# cluster (N=...) under etcdprobe put load, 10 connections, 100 clients, spread; 8 s warm-up, 6 s profiled.
# SRV=<checkout> (default this one). Read with: perf report -i OUTDIR/f.data --children --sort sym -g none
# (before removing /tmp/perf-<pid>.map, which node --perf-basic-prof writes for the JIT's symbols).
[ "${1:-}" = "--help" ] || [ $# -lt 1 ] && { sed -n 2,5p "$0"; exit 0; }
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
P=/work/shared/tools/etcdprobe; OUT=$1; N=${N:-7}; mkdir -p $OUT
trap '$P/cluster.sh down /tmp/cp7 >/dev/null 2>&1' EXIT  # nothing left running if interrupted
rm -rf /tmp/cp7; EP=$($P/cluster.sh up $N /tmp/cp7 31700 "node --perf-basic-prof ${SRV:-$ROOT}/dist/server/main.js" 2>/dev/null)
$P/bin/etcdprobe put --endpoints $EP --conns 10 --clients 100 --duration 8s --val-size 256 >/dev/null 2>&1
L=$(ETCDCTL_API=3 etcdctl --endpoints $EP endpoint status -w json | python3 -c "import json,sys; d=json.load(sys.stdin); print([x['Endpoint'] for x in d if x['Status']['leader']==x['Status']['header']['member_id']][0])")
for i in $(seq $N); do pid=$(cat /tmp/cp7/m$i.pid); port=$(tr '\0' ' ' </proc/$pid/cmdline | grep -o 'listen-client-urls [^ ]*' | awk '{print $2}'); echo "m$i $pid $port"; done > $OUT/pids
LP=$(grep -F "$L" $OUT/pids | awk '{print $2}'); FP=$(grep -vF "$L" $OUT/pids | head -1 | awk '{print $2}')
echo "leader $LP follower $FP"
perf record -e cpu-clock -F 1000 -g -p $FP -o $OUT/f.data -- sleep 6 >/dev/null 2>&1 &
perf record -e cpu-clock -F 1000 -g -p $LP -o $OUT/l.data -- sleep 6 >/dev/null 2>&1 &
$P/bin/etcdprobe put --endpoints $EP --conns 10 --clients 100 --duration 6s --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 > $OUT/r.json
wait
$P/cluster.sh down /tmp/cp7 >/dev/null 2>&1
python3 -c "import json; r=json.load(open('$OUT/r.json'))['result']; print('puts', r['succeeded'], 'rps', r['throughput_rps'])"
