#!/usr/bin/env bash
# Put -> watch event (etcdprobe watch-latency), etcd-ts beside etcd, alternating, fresh clusters each run:
# 1 watcher (500 puts at 100/s) and 1,000 watchers on 10 connections (200 puts at 20/s), 1 and 3 members.
#   watch-latency.sh ROUNDS OUT.jsonl [SERVER_COMMAND]
# (each run is ../fanout-2026-12-06/watch-ab.sh's)
set -u
[ "${1:-}" = "--help" ] || [ $# -lt 2 ] && { sed -n 2,5p "$0"; exit 0; }
R=$1; OUT=$2; HERE=$(cd "$(dirname "$0")" && pwd)
TS=${3:-"node $HERE/../../../dist/server/main.js"}
for ((r = 1; r <= R; r++)); do
  for N in 1 3; do
    for cfg in "1 1 100 500" "1000 10 20 200"; do
      read -r W C RATE T <<<"$cfg"
      W=$W C=$C RATE=$RATE T=$T ROUND=$r SUMMARY=0 bash "$HERE/../fanout-2026-12-06/watch-ab.sh" 1 "$OUT" "$N" etcd-ts="$TS" etcd=etcd
    done
  done
done
