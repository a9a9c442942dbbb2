#!/usr/bin/env bash
# One etcdprobe range run against a cluster.sh DIR, printed as one line: req/s, all members' CPU µs per
# request (utime+stime from /proc over the run, the sum and each member's user+sys) and each member's
# read and write syscalls per request (/proc/PID/io syscr, syscw), and the cores anything else used
# meanwhile ("others": machine busy minus servers and probe). Keys must be prefilled already.
#
#   cpu-per-request.sh DIR LABEL [etcdprobe range flags...]   e.g. cpu-per-request.sh /tmp/c3 spread --endpoints $(cat /tmp/c3/endpoints) --consistency s --duration 5s
[ "${1:-}" = "--help" ] && { sed -n 2,7p "$0"; exit 0; }
DIR=$1; LABEL=$2; shift 2
P=${PROBE:-$HOME/.cache/etcdprobe/bin/etcdprobe}
st(){ for f in $DIR/m*.pid; do p=$(cat $f); awk '{printf "%s %s ", $14, $15}' /proc/$p/stat; awk '/^sysc/{printf "%s ", $2}' /proc/$p/io; done; }
a=($(st)); l0=$(cut -d' ' -f1 /proc/loadavg)
out=$($P range --key-size 8 --val-size 256 --key-space-size 1000 --prefill=false --json --pid-dir $DIR "$@" 2>/dev/null | tail -1)
b=($(st)); l1=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$LABEL" "$l0" "$l1" "${a[*]}" "${b[*]}" "$out" <<'PY'
import sys,json
lab,l0,l1,a,b,out=sys.argv[1:]
a=list(map(int,a.split()));b=list(map(int,b.split()));r=json.loads(out)
n=r['result']['succeeded'];rps=r['result']['throughput_rps']
d=[b[i]-a[i] for i in range(len(a))]
per=[];tot=0
for i in range(0,len(d),4):
    u,s,sr,sw=d[i]*1e4/n,d[i+1]*1e4/n,d[i+2]/n,d[i+3]/n; tot+=u+s
    per.append(f"m{i//4+1} u{u:.0f}+s{s:.0f} r{sr:.2f}/w{sw:.2f}")
e=r['env'];others=e['machine_cpu_busy_pct']/100*e['ncpu']-e['server_cpu_cores']-e['probe_cpu_cores']
print(f"{lab}: {rps:.0f} rps, {tot:.0f} us/req [{' | '.join(per)}] load {l0}->{l1} others {others:.2f} cores p50 {r['result']['latency']['p50_ms']}ms",flush=True)
PY
