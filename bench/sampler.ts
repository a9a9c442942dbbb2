/**
 * Server-side figures: RSS and CPU of each member sampled from /proc/<pid> during a measured window, and the
 * server's own latency histograms (WAL fsync, backend commit) scraped from its /metrics before and after.
 */
import { httpGet } from "../ansible-free-scripts/common/health.js";
import { tlsFilesFor } from "./endpoint-tls.js";
import { readFileSync } from "node:fs";
import type { HistogramDelta, MemberResources } from "./schema.js";
import type { TargetMember } from "./target.js";

const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat times are in these ticks on every mainstream kernel.
const PAGE = 4096;

interface ProcSample {
  t: number;
  cpuTicks: number;
  rssBytes: number;
}

export function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const rssPages = Number(rest[21]);
    return { t: performance.now(), cpuTicks: utime + stime, rssBytes: rssPages * PAGE };
  } catch {
    return null;
  }
}

export const METRIC_WAL_FSYNC = "etcd_disk_wal_fsync_duration_seconds";
export const METRIC_BACKEND_COMMIT = "etcd_disk_backend_commit_duration_seconds";

export interface PromHistogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Parse one (unlabelled apart from le) histogram out of Prometheus text exposition. */
export function parsePromHistogram(text: string, name: string): PromHistogram | null {
  const buckets: { le: number; count: number }[] = [];
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\}\s+(\S+)/.exec(rest);
    if (m) {
      buckets.push({ le: m[1] === "+Inf" ? Infinity : Number(m[1]), count: Number(m[2]) });
      continue;
    }
    const s = /^_sum(?:\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (s) sum = Number(s[1]);
    const c = /^_count(?:\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (c) count = Number(c[1]);
  }
  if (count === undefined || sum === undefined) return null;
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/** after - before, with p50/p99 estimated from the cumulative buckets by linear interpolation. */
export function histogramDelta(before: PromHistogram | null, after: PromHistogram | null): HistogramDelta | null {
  if (!after || !before) return null;
  const b = before;
  const count = after.count - b.count;
  const sum = after.sum - b.sum;
  const cum = after.buckets.map((x) => ({ le: x.le, count: x.count - (b.buckets.find((y) => y.le === x.le)?.count ?? 0) }));
  const q = (p: number): number => {
    if (count <= 0) return 0;
    const rank = p * count;
    let prevLe = 0;
    let prevCount = 0;
    for (const x of cum) {
      if (x.count >= rank) {
        if (!Number.isFinite(x.le)) return prevLe * 1000;
        const inBucket = x.count - prevCount;
        const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1;
        return (prevLe + (x.le - prevLe) * frac) * 1000;
      }
      prevLe = Number.isFinite(x.le) ? x.le : prevLe;
      prevCount = x.count;
    }
    return prevLe * 1000;
  };
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return { count, sumSeconds: r3(sum), meanMs: count > 0 ? r3((sum / count) * 1000) : 0, p50Ms: r3(q(0.5)), p99Ms: r3(q(0.99)) };
}

export interface MetricsSnapshot {
  walFsync: PromHistogram | null;
  backendCommit: PromHistogram | null;
}

export async function scrapeMetrics(clientUrl: string, timeoutMs = 2000): Promise<MetricsSnapshot | null> {
  try {
    const base = clientUrl.replace(/\/$/, "");
    const res = await httpGet(`${base}/metrics`, timeoutMs, tlsFilesFor(base));
    if (!res || res.status !== 200) return null;
    const text = res.body;
    return { walFsync: parsePromHistogram(text, METRIC_WAL_FSYNC), backendCommit: parsePromHistogram(text, METRIC_BACKEND_COMMIT) };
  } catch {
    return null;
  }
}

/** Samples every member's /proc every intervalMs from start() to stop(), and scrapes /metrics at both ends. */
export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly series = new Map<string, ProcSample[]>();
  private before = new Map<string, MetricsSnapshot | null>();

  constructor(
    private readonly members: () => TargetMember[],
    private readonly intervalMs = 500,
  ) {}

  async start(): Promise<void> {
    const ms = this.members();
    const snaps = await Promise.all(ms.map((m) => scrapeMetrics(m.clientUrl)));
    ms.forEach((m, i) => this.before.set(m.name, snaps[i] ?? null));
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    for (const m of this.members()) {
      if (!m.pid) continue;
      const s = readProc(m.pid);
      if (!s) continue;
      const key = `${m.name}:${m.pid}`;
      let arr = this.series.get(key);
      if (!arr) this.series.set(key, (arr = []));
      arr.push(s);
    }
  }

  async stop(): Promise<MemberResources[]> {
    if (this.timer) clearInterval(this.timer);
    this.tick();
    const ms = this.members();
    const after = await Promise.all(ms.map((m) => scrapeMetrics(m.clientUrl)));
    return ms.map((m, i) => {
      const s = m.pid ? (this.series.get(`${m.name}:${m.pid}`) ?? []) : [];
      const cpu: number[] = [];
      for (let k = 1; k < s.length; k++) {
        const dt = (s[k]!.t - s[k - 1]!.t) / 1000;
        if (dt > 0) cpu.push(((s[k]!.cpuTicks - s[k - 1]!.cpuTicks) / CLK_TCK / dt) * 100);
      }
      const wall = s.length > 1 ? (s[s.length - 1]!.t - s[0]!.t) / 1000 : 0;
      const cpuMean = wall > 0 ? ((s[s.length - 1]!.cpuTicks - s[0]!.cpuTicks) / CLK_TCK / wall) * 100 : null;
      const before = this.before.get(m.name) ?? null;
      const a = after[i] ?? null;
      const r1 = (x: number) => Math.round(x * 10) / 10;
      return {
        name: m.name,
        pid: m.pid ?? null,
        samples: s.length,
        rssMaxBytes: s.length ? Math.max(...s.map((x) => x.rssBytes)) : null,
        rssMeanBytes: s.length ? Math.round(s.reduce((acc, x) => acc + x.rssBytes, 0) / s.length) : null,
        cpuPercentMean: cpuMean === null ? null : r1(cpuMean),
        cpuPercentMax: cpu.length ? r1(Math.max(...cpu)) : cpuMean === null ? null : r1(cpuMean),
        walFsync: histogramDelta(before?.walFsync ?? null, a?.walFsync ?? null),
        backendCommit: histogramDelta(before?.backendCommit ?? null, a?.backendCommit ?? null),
      };
    });
  }
}
