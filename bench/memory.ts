/**
 * The memory workload: each member's memory at rest (the cluster just up, before any other workload when
 * `memory` comes first, as in the default run), then again after --memory-keys distinct keys of --val-size
 * bytes were written. RSS is taken apart, because its parts have different owners:
 *  - anonymous memory (RssAnon): the runtime's heap and native allocations (V8 or Go heap, buffers, caches);
 *  - file-backed memory (RssFile): mapped files, i.e. the binary and libraries, and the database file the
 *    storage engine maps (lmdb's data.mdb for etcd-ts, bbolt's member/snap/db for etcd), reported on its own
 *    as dbMapBytes (its resident pages) beside the file's size on disk;
 *  - the runtime heap in use, from the server's /metrics when it exports it (go_memstats_heap_inuse_bytes,
 *    or prom-client's nodejs_heap_size_used_bytes).
 * The kernel's page cache of the data files is not part of any process's RSS and is not reported here.
 * With --memory-settle S, a third sample S seconds after the second, the cluster idle: a runtime gives back
 * what a load grew on its own schedule (V8's memory reducer 30-90 s after a load; Go mostly after its
 * forced GC, every 2 minutes), so the sample right after the keys is the peak a memory limit must allow,
 * the settled one what stays.
 */
import { httpGet } from "../ansible-free-scripts/common/health.js";
import { tlsFilesFor } from "./endpoint-tls.js";
import { readFileSync, statSync } from "node:fs";
import { runLoad } from "./load.js";
import type { FigureStat, MemberMemory, MemoryTrial, Trial } from "./schema.js";
import { figure } from "./stats.js";
import type { TargetMember } from "./target.js";
import type { WorkloadContext, WorkloadDef } from "./workloads.js";

/** Mappings that are a storage engine's database file. */
const DB_FILE = /(\/data\.mdb|\/member\/snap\/db)$/;

function kb(text: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** Resident bytes and size on disk of the database file mapped by the process, from /proc/<pid>/smaps. */
export function dbMapping(smaps: string): { path: string; residentBytes: number } | null {
  let current: string | null = null;
  let path: string | null = null;
  let resident = 0;
  for (const line of smaps.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      current = DB_FILE.test(head[1]!.trim()) ? head[1]!.trim() : null;
      continue;
    }
    if (current && line.startsWith("Rss:")) {
      // A file mapped in several pieces counts once per piece; another database file replaces the first.
      if (path !== current) resident = 0;
      path = current;
      resident += Number(/(\d+)/.exec(line)?.[1] ?? 0) * 1024;
    }
  }
  return path === null ? null : { path, residentBytes: resident };
}

/** The runtime's heap in use as the server exports it (a plain gauge line), null when it does not. */
export function heapFromMetrics(text: string): number | null {
  for (const name of ["go_memstats_heap_inuse_bytes", "nodejs_heap_size_used_bytes"]) {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, "m").exec(text);
    if (m && Number.isFinite(Number(m[1]))) return Number(m[1]);
  }
  return null;
}

/** /metrics over http or https (with the client certificate registered for the endpoint). */
async function metricsText(clientUrl: string): Promise<string | null> {
  const res = await httpGet(`${clientUrl}/metrics`, 2000, tlsFilesFor(clientUrl));
  return res && res.status === 200 ? res.body : null;
}

export async function memberMemory(m: TargetMember): Promise<MemberMemory> {
  const out: MemberMemory = { name: m.name, pid: m.pid ?? null, rssBytes: null, anonBytes: null, fileBytes: null, dbMapBytes: null, dbFileBytes: null, heapBytes: null };
  if (m.pid) {
    try {
      const status = readFileSync(`/proc/${m.pid}/status`, "utf8");
      out.rssBytes = kb(status, "VmRSS");
      out.anonBytes = kb(status, "RssAnon");
      out.fileBytes = kb(status, "RssFile");
      const db = dbMapping(readFileSync(`/proc/${m.pid}/smaps`, "utf8"));
      if (db) {
        out.dbMapBytes = db.residentBytes;
        try {
          out.dbFileBytes = statSync(db.path).size;
        } catch {
          /* the file is the member's; it may be unreadable to us */
        }
      }
    } catch {
      /* the process is gone or not ours to read: only /metrics below */
    }
  }
  const text = await metricsText(m.clientUrl);
  out.heapBytes = text === null ? null : heapFromMetrics(text);
  return out;
}

const settle = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function runMemoryTrial(ctx: WorkloadContext, trial: number): Promise<MemoryTrial> {
  const o = ctx.opts;
  const keys = o.memoryKeys ?? 100_000;
  const startedAt = new Date().toISOString();
  await settle(1000);
  const atRest = await Promise.all(ctx.target.members().map(memberMemory));
  const t0 = Date.now();
  const load = await runLoad(
    {
      op: "put",
      endpoints: ctx.endpoints,
      conns: 10,
      clients: 100,
      total: keys,
      durationMs: null,
      rate: 0,
      warmup: 0,
      timeoutMs: o.timeoutMs,
      keyPrefix: `${ctx.prefix}memory/`,
      keySize: Math.max(o.keySize, String(keys - 1).length),
      valSize: o.valSize,
      keySpaceSize: keys,
      sequentialKeys: true,
      serializable: false,
      rangeMode: "point",
      keysOnly: false,
      countOnly: false,
      limit: 0,
      rwRatio: 1,
      leaseTtl: o.leaseTtl,
      putRate: 0,
      workers: 1,
      maxMs: 10 * 60_000,
    },
    { signal: ctx.signal, onProgress: (done) => ctx.progress(done / keys, `${done}/${keys} keys written`) },
  );
  const writeMs = Date.now() - t0;
  await settle(1000);
  const afterKeys = await Promise.all(ctx.target.members().map(memberMemory));
  const result: MemoryTrial = { kind: "memory", trial, startedAt, keys, valSize: o.valSize, written: load.ok, writeErrors: load.errors + load.timeouts, writeMs, atRest, afterKeys };
  const settleMs = o.memorySettleMs ?? 0;
  if (settleMs > 0) {
    for (let left = settleMs; left > 0 && !ctx.signal.aborted; left -= 1000) {
      ctx.progress(1, `settling: sampling again in ${Math.ceil(left / 1000)} s`);
      await settle(Math.min(1000, left));
    }
    if (!ctx.signal.aborted) {
      // an interrupted wait is no settled sample: the trial keeps its first two
      result.settled = await Promise.all(ctx.target.members().map(memberMemory));
      result.settleMs = settleMs;
    }
  }
  return result;
}

const MB = 1048576;
function maxOf(ms: MemberMemory[], f: (m: MemberMemory) => number | null): number | null {
  const v = ms.map(f).filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}

export function summarizeMemory(trials: Trial[]): Record<string, FigureStat> {
  const ts = trials.filter((t): t is MemoryTrial => t.kind === "memory");
  const out: Record<string, FigureStat> = {};
  const add = (name: string, vals: (number | null)[], unit: string, better: "higher" | "lower") => {
    const v = vals.filter((x): x is number => x !== null && Number.isFinite(x));
    if (v.length) out[name] = figure(v, unit, better);
  };
  const mb = (x: number | null) => (x === null ? null : x / MB);
  add("rssAtRestMB", ts.map((t) => mb(maxOf(t.atRest, (m) => m.rssBytes))), "MiB", "lower");
  add("rssAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.rssBytes))), "MiB", "lower");
  add("anonAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.anonBytes))), "MiB", "lower");
  add("fileAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.fileBytes))), "MiB", "lower");
  add("dbMapAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.dbMapBytes))), "MiB", "lower");
  add("dbFileAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.dbFileBytes))), "MiB", "lower");
  add("heapAtRestMB", ts.map((t) => mb(maxOf(t.atRest, (m) => m.heapBytes))), "MiB", "lower");
  add("heapAfterMB", ts.map((t) => mb(maxOf(t.afterKeys, (m) => m.heapBytes))), "MiB", "lower");
  add("rssSettledMB", ts.map((t) => (t.settled ? mb(maxOf(t.settled, (m) => m.rssBytes)) : null)), "MiB", "lower");
  add("anonSettledMB", ts.map((t) => (t.settled ? mb(maxOf(t.settled, (m) => m.anonBytes)) : null)), "MiB", "lower");
  add("writeThroughput", ts.map((t) => (t.writeMs > 0 ? Math.round((t.written / t.writeMs) * 1000) : null)), "keys/s", "higher");
  return out;
}

export const memoryWorkload: WorkloadDef = {
  name: "memory",
  family: "memory",
  description: "each member's memory (RSS: anonymous, file-backed, the mapped database file; runtime heap from /metrics) at rest, then after --memory-keys keys of --val-size bytes, and --memory-settle seconds later",
  trials: () => 1,
  params: (o) => ({ keys: o.memoryKeys ?? 100_000, valSize: o.valSize, writers: 100, ...(o.memorySettleMs ? { settleSec: o.memorySettleMs / 1000 } : {}) }),
  runTrial: runMemoryTrial,
  summarize: summarizeMemory,
};
