#!/usr/bin/env bash
# The runtime's floor for one message hop on this machine: N round trips of 120 bytes over loopback TCP, one
# at a time, between two Go processes and between two Node processes (the same pattern as a raft append and
# its acknowledgement, without any raft). Prints time per round trip and CPU per round trip of each end.
#   run.sh [N]   (default 20000; ports 31990-31991; needs golang-go, as etcdprobe's build does)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
N=${1:-20000}; HERE=$(cd "$(dirname "$0")" && pwd); B=$(mktemp -d)
trap 'kill $SP 2>/dev/null || true; rm -rf "$B"' EXIT
GO111MODULE=off go build -o "$B/pingpong" "$HERE/pingpong.go"
"$B/pingpong" server 31990 & SP=$!; sleep 0.3
"$B/pingpong" client 31990 "$N"; wait $SP || true
node "$HERE/pingpong.mjs" server 31991 & SP=$!; sleep 0.5
node "$HERE/pingpong.mjs" client 31991 "$N"
awk -v n="$N" '{printf "node server CPU per round trip: user %.1f µs, sys %.1f µs\n", $14*1e4/n, $15*1e4/n}' /proc/$SP/stat
kill $SP; wait $SP 2>/dev/null || true
