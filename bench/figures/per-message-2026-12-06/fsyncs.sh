#!/usr/bin/env bash
# fsyncs.sh N "SERVER_CMD": WAL fsyncs and backend commits per put per member, from each member's /metrics, under
# etcdprobe put load (10 connections, 100 clients, spread; 4 s warm-up, 6 s counted). "*" marks the leader.
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,3p "$0"; exit 0; }
P=/work/shared/tools/etcdprobe; N=$1; BIN=$2
trap '$P/cluster.sh down /tmp/cfs >/dev/null 2>&1' EXIT  # nothing left running if interrupted
rm -rf /tmp/cfs; EP=$($P/cluster.sh up $N /tmp/cfs 31700 "$BIN" 2>/dev/null)
$P/bin/etcdprobe put --endpoints $EP --conns 10 --clients 100 --duration 4s --val-size 256 >/dev/null 2>&1
m() { for e in ${EP//,/ }; do echo "$e $(curl -s http://$e/metrics | awk '/^etcd_disk_wal_fsync_duration_seconds_count/ {f=$2} /^etcd_disk_backend_commit_duration_seconds_count/ {c=$2} /^etcd_server_is_leader/ {l=$2} END {print f+0, c+0, l+0}')"; done; }
m > /tmp/cfs/a
$P/bin/etcdprobe put --endpoints $EP --conns 10 --clients 100 --duration 6s --val-size 256 --key-size 8 --key-space-size 100000 --sequential-keys --json 2>/dev/null | tail -1 > /tmp/cfs/r.json
m > /tmp/cfs/b
python3 - <<'PY'
import json
n=json.load(open('/tmp/cfs/r.json'))['result']['succeeded']
a={l.split()[0]:list(map(float,l.split()[1:])) for l in open('/tmp/cfs/a')}; b={l.split()[0]:list(map(float,l.split()[1:])) for l in open('/tmp/cfs/b')}
print('puts', n, ' '.join('%s%s fsync/put=%.3f commits/put=%.3f' % (e[-5:], '*' if b[e][2] else '', (b[e][0]-a[e][0])/n, (b[e][1]-a[e][1])/n) for e in sorted(a)))
PY
$P/cluster.sh down /tmp/cfs >/dev/null 2>&1
