"""Per unary call on one connection, from `tcpdump -nn -tt -r FILE` text on stdin: microseconds from the
server's response segment (headers + DATA) to its trailers segment, and from the trailers to the client's
next request. SERVER_PORT is the server's port; DATA_MIN the smallest response segment (bytes) to count."""
import statistics, sys
port, data_min = sys.argv[1], int(sys.argv[2])
rows = []
for line in sys.stdin:
    f = line.split()
    if len(f) < 5 or not f[-1].isdigit(): continue
    rows.append((float(f[0]), f[2].endswith("." + port), int(f[-1])))
gaps, nexts = [], []
for i, (t, from_server, n) in enumerate(rows):
    if not (from_server and n >= data_min): continue
    # the next server segment that carries the trailers (10-27 bytes here), then the client's next request (>= 100 bytes)
    tr = next(((t2, n2) for t2, s2, n2 in rows[i + 1:i + 6] if s2 and 10 <= n2 < data_min), None)
    if tr is None: continue
    gaps.append((tr[0] - t) * 1e6)
    nx = next((t3 for t3, s3, n3 in rows[i + 1:i + 8] if not s3 and n3 >= 100 and t3 > tr[0]), None)
    if nx is not None: nexts.append((nx - tr[0]) * 1e6)
q = lambda v: f"median {statistics.median(v):.0f} µs, p90 {sorted(v)[int(len(v) * 0.9)]:.0f} µs (n={len(v)})"
print("response -> trailers:", q(gaps)); print("trailers -> next request:", q(nexts) if nexts else "-")
