#!/usr/bin/env bash
# The same measurement as side-by-side.sh, but one build after the other (order rotating per round):
# kept to show why the side-by-side design replaced it (paired ratios here spread 0.70-1.39).
#   sequential.sh ROUNDS OUT.jsonl "LABEL=CHECKOUT ..." "N:CONNS:CLIENTS:TARGET_LEADER ..."
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,4p "$0"; exit 0; }
P=/work/shared/tools/etcdprobe; R=$1; OUT=$2; BUILDS=($3); CFGS=($4)
trap '$P/cluster.sh down /tmp/cab >/dev/null 2>&1' EXIT  # nothing left running if interrupted
for ((r=1; r<=R; r++)); do
  for cfg in "${CFGS[@]}"; do
    IFS=: read N CN C TL <<<"$cfg"
    nb=${#BUILDS[@]}; for ((k=0; k<nb; k++)); do
      b=${BUILDS[$(( (k + r) % nb ))]}; label=${b%%=*}; path=${b#*=}
      rm -rf /tmp/cab; EP=$($P/cluster.sh up $N /tmp/cab 31600 "node $path/dist/server/main.js" 2>/dev/null)
      $P/bin/etcdprobe put --endpoints $EP --conns $CN --clients $C --duration ${WARM:-4s} --val-size 256 --target-leader=$TL >/dev/null 2>&1
      snap() { for i in $(seq $N); do awk '{print $14, $15}' /proc/$(cat /tmp/cab/m$i.pid)/stat; done | awk '{u+=$1; s+=$2} END {print u, s}'; }
      a=$(snap)
      $P/bin/etcdprobe put --endpoints $EP --conns $CN --clients $C --duration ${DUR:-6s} --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --target-leader=$TL --json 2>/dev/null | tail -1 > /tmp/cab/r.json
      b2=$(snap)
      python3 - "$label" "$cfg" "$r" "$a" "$b2" >> $OUT <<'PY'
import json,sys
label,cfg,r,a,b=sys.argv[1:]
a=list(map(int,a.split())); b=list(map(int,b.split()))
d=json.load(open('/tmp/cab/r.json')); res=d['result']; n=res['succeeded']
print(json.dumps({'build':label,'cfg':cfg,'round':int(r),'rps':res['throughput_rps'],'p50':res['latency']['p50_ms'],'p99':res['latency']['p99_ms'],'user':(b[0]-a[0])*1e4/n,'sys':(b[1]-a[1])*1e4/n,'load':d['env']['loadavg_start'][0]}))
PY
      $P/cluster.sh down /tmp/cab >/dev/null 2>&1
      tail -1 $OUT
    done
  done
done
