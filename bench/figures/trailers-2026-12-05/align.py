"""align.py TCPDUMP_TEXT MEMBER_TRACE CLIENT_PORT: per unary call on one member, the trace's `reply` (the
handler handed its answer to the gRPC layer) to the answer's headers+DATA segment, that segment to the
trailers segment, and the next request's segment to the trace's `recv` (the handler got the decoded
request). Both clocks are the system clock (the trace: performance.timeOrigin + now)."""
import bisect, statistics, sys
text, trace, port = sys.argv[1:4]
segs = []
for line in open(text):
    f = line.split()
    if len(f) < 5 or not f[-1].isdigit() or int(f[-1]) == 0: continue
    segs.append((int(float(f[0]) * 1e6), f[2].endswith("." + port), int(f[-1])))
ts = [s[0] for s in segs]
replies, recvs = [], []
for line in open(trace):
    f = line.split()
    if f[1] == "reply": replies.append(int(f[0]))
    elif f[1] == "recv": recvs.append(int(f[0]))
to_data, to_trailers, to_recv = [], [], []
for r in replies:
    i = bisect.bisect_left(ts, r)
    data = next((s for s in segs[i:i + 6] if s[1] and 40 <= s[2] < 100), None)
    if not data: continue
    to_data.append(data[0] - r)
    tr = next((s for s in segs[i:i + 8] if s[1] and s[0] > data[0] and 10 <= s[2] < 40), None)
    if tr: to_trailers.append(tr[0] - data[0])
for q in recvs:
    i = bisect.bisect_left(ts, q)
    req = [s for s in segs[max(0, i - 6):i] if not s[1] and s[2] >= 300]
    if req: to_recv.append(q - req[-1][0])
m = lambda v: f"median {statistics.median(v):.0f} µs, p90 {sorted(v)[int(len(v) * .9)]:.0f} (n={len(v)})"
print("reply -> headers+DATA segment:", m(to_data))
print("headers+DATA -> trailers segment:", m(to_trailers))
print("request segment -> recv:", m(to_recv))
