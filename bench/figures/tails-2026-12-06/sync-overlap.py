#!/usr/bin/env python3
"""From an `strace -f -T -tt` log (strace-syncs.sh): the WAL's fdatasync and write durations, the backend file's
syncs, and whether the WAL syncs that took over 2 ms ran while the backend file was being written or synced.

usage: sync-overlap.py STRACE WAL_FD DB_FD[,DB_FD...]
"""
import re
import sys

if len(sys.argv) != 4 or sys.argv[1] == '--help':
    print(__doc__.strip())
    sys.exit(0)
path, wal_fd, db_fds = sys.argv[1], sys.argv[2], sys.argv[3].split(',')


def seconds(hms):
    h, m, s = hms.split(':')
    return int(h) * 3600 + int(m) * 60 + float(s)


calls, pending = [], {}  # (start, end, name, fd)
for line in open(path):
    m = re.match(r'(\d+) +([\d:.]+) (\w+)\((\d+)?', line)
    if m and '<unfinished' in line:
        pending[(m.group(1), m.group(3))] = (seconds(m.group(2)), m.group(4))
        continue
    r = re.match(r'(\d+) +([\d:.]+) <\.\.\. (\w+) resumed>.*<([\d.]+)>', line)
    if r:
        start = pending.pop((r.group(1), r.group(3)), None)
        if start:
            calls.append((start[0], seconds(r.group(2)), r.group(3), start[1]))
        continue
    d = re.search(r'<([\d.]+)>\s*$', line)
    if m and d:
        t = seconds(m.group(2))
        calls.append((t, t + float(d.group(1)), m.group(3), m.group(4)))


def summary(name, durations):
    ds = sorted(x * 1e3 for x in durations)
    if not ds:
        return f'{name}: none'
    q = lambda p: ds[min(len(ds) - 1, int(len(ds) * p))]
    return f'{name}: n {len(ds)}, p50 {q(.5):.2f}, p90 {q(.9):.2f}, p99 {q(.99):.2f}, max {ds[-1]:.2f} ms'


wal_syncs = [c for c in calls if c[2] == 'fdatasync' and c[3] == wal_fd]
wal_writes = [c for c in calls if c[2] in ('write', 'pwrite64') and c[3] == wal_fd]
db_io = [c for c in calls if c[3] in db_fds and c[2] in ('fdatasync', 'fsync', 'msync', 'pwrite64', 'pwritev', 'writev', 'write')]
db_syncs = [c for c in db_io if c[2] in ('fdatasync', 'fsync', 'msync')]
print(summary('WAL fdatasync', [c[1] - c[0] for c in wal_syncs]))
print(summary('WAL write', [c[1] - c[0] for c in wal_writes]))
print(summary('backend syncs', [c[1] - c[0] for c in db_syncs]))
slow = [c for c in wal_syncs if c[1] - c[0] > 0.002]
near = sum(1 for c in slow if any(x[0] < c[1] and x[1] > c[0] - 0.002 for x in db_io))
print(f'WAL fdatasyncs over 2 ms: {len(slow)}; of them during (or within 2 ms after) a backend write or sync: {near}')
