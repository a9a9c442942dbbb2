#!/usr/bin/env bash
# Would a worker thread that owns the peer sockets take the writes' cost off the raft loop? Measures, per
# 300-byte message sent one per timer turn, the time in the sending call and the process's CPU: a socket
# write on the main thread, against a postMessage to a worker thread that writes.
#   run.sh [N] [ROUNDS]   (default 3000 messages, 2 rounds; port 31995)
set -euo pipefail
[ "${1:-}" = "--help" ] && { sed -n 2,5p "$0"; exit 0; }
N=${1:-3000}; R=${2:-2}; HERE=$(cd "$(dirname "$0")" && pwd)
node "$HERE/sink.mjs" 31995 & SP=$!
trap 'kill $SP 2>/dev/null || true' EXIT
sleep 0.5
for _ in $(seq "$R"); do
  node "$HERE/send.mjs" 31995 direct "$N"
  node "$HERE/send.mjs" 31995 worker "$N"
done
