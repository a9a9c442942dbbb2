/**
 * The workload registry. Each workload runs trials against a ClusterTarget and summarises them into headline
 * figures. To add one (watch latency and lease churn are examples), register a WorkloadDef: a name, a family,
 * its requirements, an optional prepare step run once per cluster, runTrial and summarize.
 */
import { EtcdChannel, unary } from "./etcd-client.js";
import { FAILOVER_SCENARIOS, runFailoverTrial } from "./failover.js";
import { PARTITION_SCENARIOS, runPartitionTrial } from "./partition.js";
import { openIdleWatchers } from "./idle-watchers.js";
import { noticeWaitMs } from "./lease-expiry-load.js";
import { keyOf, valueOf } from "./keys.js";
import { memoryWorkload } from "./memory.js";
import type { LoadOp } from "./load-job.js";
import { runLoad, type LoadSpec } from "./load.js";
import { ResourceSampler } from "./sampler.js";
import type { BenchOptionsRecord, FailoverScenario, FailoverTrial, FigureStat, LoadTrial, Trial, WorkloadFamily } from "./schema.js";
import { encodeHistogram, figure, latencySummary } from "./stats.js";
import type { ClusterTarget } from "./target.js";

export interface WorkloadContext {
  target: ClusterTarget;
  opts: BenchOptionsRecord;
  /** Keys of this run live under this prefix ("bench/<runId>/"). */
  prefix: string;
  signal: AbortSignal;
  /** Fraction of the current trial done and a short detail. */
  progress: (fraction: number, detail: string) => void;
  log: (msg: string) => void;
  /** Per-cluster scratch state shared by the workloads (e.g. "the key space is preloaded"). */
  state: Map<string, unknown>;
  /** Endpoints the load goes to (all members, or the leader with --target-leader). */
  endpoints: string[];
}

export interface WorkloadDef {
  name: string;
  family: WorkloadFamily;
  description: string;
  minMembers?: number;
  needsControl?: boolean;
  /** Runs once per load shape (--clients/--conns pair); otherwise once, with the largest shape's clients. */
  shaped?: boolean;
  /** Cuts links between members: needs a target with partitions (--target hosts). */
  needsPartitions?: boolean;
  trials(opts: BenchOptionsRecord): number;
  params(opts: BenchOptionsRecord): Record<string, string | number | boolean | null>;
  prepare?(ctx: WorkloadContext): Promise<void>;
  runTrial(ctx: WorkloadContext, trial: number): Promise<Trial>;
  summarize(trials: Trial[]): Record<string, FigureStat>;
}

const registry = new Map<string, WorkloadDef>();
export function registerWorkload(def: WorkloadDef): void {
  registry.set(def.name, def);
}
export function workloadDef(name: string): WorkloadDef | undefined {
  return registry.get(name);
}
export function allWorkloadNames(): string[] {
  return [...registry.keys()];
}

/** Group names accepted by --workloads, expanded to registered workloads. */
export function expandWorkloads(names: string[], consistencyGiven: "l" | "s" | null): string[] {
  const out: string[] = [];
  for (const n of names) {
    let add: string[];
    if (n === "range") add = consistencyGiven ? [`range-${consistencyGiven}`, "range-keys-only", "range-count-only"] : ["range-l", "range-s", "range-keys-only", "range-count-only"];
    else if (n === "failover") add = FAILOVER_SCENARIOS.map((s) => `failover-${s}`);
    else if (n === "partition") add = [...PARTITION_SCENARIOS];
    else if (n === "http") add = ["http-put", "http-range"];
    else if (n === "watch") add = ["watch-latency"];
    else if (n === "lease") add = ["lease-churn", "lease-keepalive", "lease-expiry"];
    else if (n === "all") add = allWorkloadNames();
    else if (registry.has(n)) add = [n];
    else
      throw new Error(
        `unknown workload "${n}" (known: ${["range", "failover", "partition", "http", "watch", "lease", "all", ...allWorkloadNames()].join(", ")})`,
      );
    for (const a of add) if (!out.includes(a)) out.push(a);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Key space preloading (range, txn-mixed and http-range read keys that exist).

export async function preloadKeySpace(ctx: WorkloadContext): Promise<void> {
  if (ctx.state.get("preloaded")) return;
  const { opts } = ctx;
  const ch = new EtcdChannel(ctx.endpoints[0]!);
  try {
    await ch.ready(5000);
    const value = valueOf(opts.valSize);
    let next = 0;
    const n = opts.keySpaceSize;
    await Promise.all(
      Array.from({ length: Math.min(32, n) }, async () => {
        while (next < n && !ctx.signal.aborted) {
          const i = next++;
          await unary(ch.kv(), "Put", { key: keyOf(`${ctx.prefix}kv/`, i, opts.keySize), value }, opts.timeoutMs);
          if (i % 200 === 0) ctx.progress(i / n, `preloading ${i}/${n} keys`);
        }
      }),
    );
  } finally {
    ch.close();
  }
  ctx.state.set("preloaded", true);
}

// ---------------------------------------------------------------------------------------------------------
// Load workloads (gRPC and HTTP gateway).

interface LoadVariant {
  name: string;
  family: WorkloadFamily;
  op: LoadOp;
  description: string;
  /** Key prefix under the run prefix. */
  keys: string;
  preload?: boolean;
  spec?: (opts: BenchOptionsRecord) => Partial<LoadSpec>;
}

function loadSpec(ctx: WorkloadContext, v: LoadVariant): LoadSpec {
  const o = ctx.opts;
  const base: LoadSpec = {
    op: v.op,
    endpoints: ctx.endpoints,
    conns: o.conns,
    clients: o.clients,
    total: o.durationSec != null ? null : o.total,
    durationMs: o.durationSec != null ? o.durationSec * 1000 : null,
    rate: o.rate,
    warmup: o.warmup,
    // In --duration mode the warm-up is bounded in time too: 500 requests of one client on a slow server
    // would otherwise take longer than the trial.
    warmupMaxMs: o.durationSec != null ? Math.min(1000, o.durationSec * 500) : undefined,
    timeoutMs: o.timeoutMs,
    keyPrefix: `${ctx.prefix}${v.keys}`,
    keySize: o.keySize,
    valSize: o.valSize,
    keySpaceSize: o.keySpaceSize,
    sequentialKeys: o.sequentialKeys,
    serializable: o.consistency === "s",
    rangeMode: "point",
    keysOnly: false,
    countOnly: false,
    limit: o.limit,
    rwRatio: o.rwRatio,
    leaseTtl: o.leaseTtl,
    putRate: o.putRate,
    workers: o.workers,
    maxMs: o.durationSec != null ? o.durationSec * 1000 + 60_000 : 10 * 60_000,
  };
  return { ...base, ...(v.spec?.(o) ?? {}) };
}

async function runLoadTrial(ctx: WorkloadContext, v: LoadVariant, trial: number): Promise<LoadTrial> {
  const spec = loadSpec(ctx, v);
  const sampler = new ResourceSampler(() => ctx.target.members());
  const startedAt = new Date().toISOString();
  const goal = spec.total;
  let sampling = false;
  const t0 = Date.now();
  try {
    const out = await runLoad(spec, {
      signal: ctx.signal,
      onStart: async () => {
        sampling = true;
        await sampler.start();
      },
      onProgress: (done, _ok, errors) => {
        const frac = goal ? done / goal : spec.durationMs ? (Date.now() - t0) / spec.durationMs : 0;
        ctx.progress(frac, `${done}${goal ? `/${goal}` : ""} req${errors ? `, ${errors} errors` : ""}`);
      },
    });
    const members = await sampler.stop();
    sampling = false;
    const secs = out.measuredMs / 1000;
    const wall = Math.max(1, out.wallMs);
    const ops: LoadTrial["ops"] = {};
    for (const [k, o] of Object.entries(out.ops)) ops[k] = { count: o.count, throughput: round(o.count / secs), latency: latencySummary(o.histogram) };
    return {
      kind: "load",
      trial,
      startedAt,
      measuredMs: out.measuredMs,
      warmupRequests: out.warmupRequests,
      sent: out.sent,
      ok: out.ok,
      errors: out.errors,
      timeouts: out.timeouts,
      errorKinds: out.errorKinds,
      throughput: round(out.ok / secs),
      latency: latencySummary(out.histogram),
      histogram: out.histogram.totalCount ? encodeHistogram(out.histogram) : null,
      perSecond: out.perSecond,
      clientCpu: {
        processes: out.processes,
        userMs: Math.round(out.cpuUserMs),
        systemMs: Math.round(out.cpuSystemMs),
        percentOfCore: round(((out.cpuUserMs + out.cpuSystemMs) / wall) * 100),
      },
      ...(Object.keys(ops).length ? { ops } : {}),
      members,
    };
  } finally {
    if (sampling) await sampler.stop().catch(() => undefined);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

function sumOrNull(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) : null;
}
function maxOrNull(xs: (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === "number");
  return v.length ? Math.max(...v) : null;
}

export function summarizeLoad(trials: Trial[]): Record<string, FigureStat> {
  const ts = trials.filter((t): t is LoadTrial => t.kind === "load");
  const out: Record<string, FigureStat> = {};
  const add = (name: string, vals: (number | null)[], unit: string, better: "higher" | "lower") => {
    const v = vals.filter((x): x is number => x !== null && Number.isFinite(x));
    if (v.length) out[name] = figure(v, unit, better);
  };
  add("throughput", ts.map((t) => t.throughput), "req/s", "higher");
  add("p50Ms", ts.map((t) => t.latency.p50Ms), "ms", "lower");
  add("p90Ms", ts.map((t) => t.latency.p90Ms), "ms", "lower");
  add("p99Ms", ts.map((t) => t.latency.p99Ms), "ms", "lower");
  add("p999Ms", ts.map((t) => t.latency.p999Ms), "ms", "lower");
  add("maxMs", ts.map((t) => t.latency.maxMs), "ms", "lower");
  add("errors", ts.map((t) => t.errors + t.timeouts), "req", "lower");
  add("clientCpuPct", ts.map((t) => t.clientCpu.percentOfCore), "% core", "lower");
  add("serverCpuPct", ts.map((t) => sumOrNull(t.members.map((m) => m.cpuPercentMean))), "% core", "lower");
  add("serverRssMaxMB", ts.map((t) => { const m = maxOrNull(t.members.map((x) => x.rssMaxBytes)); return m === null ? null : m / 1048576; }), "MiB", "lower");
  add("walFsyncP99Ms", ts.map((t) => maxOrNull(t.members.map((m) => (m.walFsync && m.walFsync.count > 0 ? m.walFsync.p99Ms : null)))), "ms", "lower");
  add("backendCommitP99Ms", ts.map((t) => maxOrNull(t.members.map((m) => (m.backendCommit && m.backendCommit.count > 0 ? m.backendCommit.p99Ms : null)))), "ms", "lower");
  for (const op of ["read", "write"]) {
    add(`${op}Throughput`, ts.map((t) => t.ops?.[op]?.throughput ?? null), "req/s", "higher");
    add(`${op}P99Ms`, ts.map((t) => t.ops?.[op]?.latency.p99Ms ?? null), "ms", "lower");
  }
  return out;
}

/**
 * lease-expiry: the load figures, plus allGoneMs — the measured window (first grant to last DELETE) of the
 * trials in which every lease's DELETE arrived, i.e. how long until no lease of the trial was left.
 */
export function summarizeExpiry(trials: Trial[]): Record<string, FigureStat> {
  const out = summarizeLoad(trials);
  const done = trials.filter((t): t is LoadTrial => t.kind === "load" && t.sent > 0 && t.ok === t.sent).map((t) => t.measuredMs);
  if (done.length) out.allGoneMs = figure(done, "ms", "lower");
  return out;
}

/** A variant whose spec sets its own clients (lease-expiry: one per lease) does not take the load shapes. */
function takesShapes(v: LoadVariant): boolean {
  const probe = { clients: 1, conns: 1, total: 1, durationSec: 1, warmup: 1, expiryLeases: 1, expiryTtl: 1 } as BenchOptionsRecord;
  return v.spec?.(probe).clients === undefined;
}

function registerLoad(
  v: LoadVariant,
  params: (o: BenchOptionsRecord) => Record<string, string | number | boolean | null>,
  summarize: (trials: Trial[]) => Record<string, FigureStat> = summarizeLoad,
): void {
  registerWorkload({
    name: v.name,
    family: v.family,
    description: v.description,
    shaped: takesShapes(v),
    trials: (o) => o.trials,
    params: (o) => ({
      conns: o.conns,
      clients: o.clients,
      total: o.durationSec != null ? null : o.total,
      durationSec: o.durationSec,
      rate: o.rate,
      warmup: o.warmup,
      keySize: o.keySize,
      valSize: o.valSize,
      keySpaceSize: o.keySpaceSize,
      ...params(o),
    }),
    prepare: v.preload ? preloadKeySpace : undefined,
    runTrial: (ctx, trial) => runLoadTrial(ctx, v, trial),
    summarize,
  });
}

registerLoad(
  { name: "put", family: "kv", op: "put", keys: "put/", description: "KV.Put of --val-size values on keys drawn from --key-space-size (random or --sequential-keys)" },
  (o) => ({ sequentialKeys: o.sequentialKeys }),
);
// put with --idle-watchers prefix watchers open that no put matches (opened before each trial, closed after)
const putIdle: LoadVariant = { name: "put-idle-watchers", family: "kv", op: "put", keys: "put-iw/", description: "" };
registerWorkload({
  name: putIdle.name,
  family: "kv",
  description: "as put, with --idle-watchers prefix watchers open (on prefixes no put matches): what finding a key's watchers costs",
  trials: (o) => o.trials,
  params: (o) => ({ conns: o.conns, clients: o.clients, total: o.durationSec != null ? null : o.total, durationSec: o.durationSec, rate: o.rate, warmup: o.warmup, keySize: o.keySize, valSize: o.valSize, keySpaceSize: o.keySpaceSize, sequentialKeys: o.sequentialKeys, idleWatchers: o.idleWatchers ?? 50_000 }),
  runTrial: async (ctx, trial) => {
    const n = ctx.opts.idleWatchers ?? 50_000;
    ctx.progress(0, `opening ${n} idle watchers`);
    const idle = await openIdleWatchers(ctx.endpoints, n, ctx.opts.conns, `${ctx.prefix}idle-watch/${trial}/`, 60_000 + n, ctx.signal);
    try {
      return await runLoadTrial(ctx, putIdle, trial);
    } finally {
      idle.close();
    }
  },
  summarize: summarizeLoad,
});
for (const c of ["l", "s"] as const) {
  registerLoad(
    {
      name: `range-${c}`,
      family: "kv",
      op: "range",
      keys: "kv/",
      preload: true,
      description: `KV.Range of one random key of the preloaded key space, ${c === "l" ? "linearizable" : "serializable"}`,
      spec: () => ({ serializable: c === "s", rangeMode: "point" }),
    },
    () => ({ consistency: c, mode: "point" }),
  );
}
for (const mode of ["keys-only", "count-only"] as const) {
  registerLoad(
    {
      name: `range-${mode}`,
      family: "kv",
      op: "range",
      keys: "kv/",
      preload: true,
      description: `KV.Range over the whole preloaded prefix (up to --limit keys), ${mode}`,
      spec: () => ({ rangeMode: "prefix", keysOnly: mode === "keys-only", countOnly: mode === "count-only" }),
    },
    (o) => ({ consistency: o.consistency, mode, limit: o.limit }),
  );
}
registerLoad(
  {
    name: "txn-mixed",
    family: "kv",
    op: "txn-mixed",
    keys: "kv/",
    preload: true,
    description: "KV.Txn carrying either a range of the prefix (limit --limit) or a put, reads:writes = --rw-ratio (etcd benchmark txn-mixed)",
  },
  (o) => ({ rwRatio: o.rwRatio, limit: o.limit, consistency: o.consistency }),
);
registerLoad(
  { name: "http-put", family: "http", op: "http-put", keys: "http/", description: "POST /v3/kv/put with base64 JSON bodies (grpc-gateway), autocannon, one HTTP/1.1 connection per client" },
  () => ({ connections: "clients" }),
);
registerLoad(
  { name: "http-range", family: "http", op: "http-range", keys: "kv/", preload: true, description: "POST /v3/kv/range of one random preloaded key (grpc-gateway), autocannon" },
  (o) => ({ consistency: o.consistency, connections: "clients" }),
);
registerLoad(
  {
    name: "lease-churn",
    family: "lease",
    op: "lease-churn",
    keys: "lease/",
    description: "per request: LeaseGrant(--lease-ttl), Put of a key attached to it, LeaseRevoke",
  },
  (o) => ({ leaseTtl: o.leaseTtl }),
);
registerLoad(
  {
    name: "lease-keepalive",
    family: "lease",
    op: "lease-keepalive",
    keys: "lease-keepalive/",
    description:
      "--clients leases (TTL --lease-ttl), each kept alive on its own LeaseKeepAlive stream (streams spread over --conns connections), closed loop: the next keep-alive is sent when the previous answer arrives",
  },
  (o) => ({ leases: o.clients, leaseTtl: o.leaseTtl }),
);
registerLoad(
  {
    name: "lease-expiry",
    family: "lease",
    op: "lease-expiry",
    keys: "lease-expiry/",
    description:
      "--expiry-leases leases of TTL --expiry-ttl per trial (--total and --duration do not apply), granted spread over TTL + 1 s, each with a key attached, the keys watched (one Watch per connection); latency = DELETE event received - (grant response + TTL); allGoneMs = first grant to last DELETE",
    // Always a fixed number of leases, one per slot: a slot that went on with another lease as soon as the
    // DELETE arrived would start it in phase with the server's expiry loop (its DELETE came from a tick),
    // and with a TTL that is a multiple of the loop period every later lease would wait almost a full period.
    spec: (o) => {
      const leases = o.expiryLeases ?? 40;
      const ttl = o.expiryTtl ?? 2;
      // grants spread over TTL + 1 s, then TTL, the notice wait, and the leftovers' revokes at the end
      const maxMs = (2 * ttl + 1) * 1000 + noticeWaitMs(leases, o.timeoutMs) + leases * 5 + 60_000;
      return { clients: leases, total: leases, durationMs: null, rate: 0, warmup: 0, workers: 1, leaseTtl: ttl, maxMs };
    },
  },
  (o) => ({ leases: o.expiryLeases ?? 40, expiryTtl: o.expiryTtl ?? 2, conns: o.conns, clients: null, total: null, durationSec: null, rate: null, warmup: null, keySpaceSize: null }),
  summarizeExpiry,
);
registerLoad(
  {
    name: "watch-latency",
    family: "watch",
    op: "watch-latency",
    keys: "watch/",
    description: "--clients watchers on one key over --conns connections; puts at --put-rate; latency = put sent to event received, per watcher",
    spec: (o) => ({ workers: 1, total: o.durationSec != null ? null : Math.max(1, Math.round(o.total! / Math.max(1, o.clients))), warmup: Math.min(20, o.warmup) }),
  },
  (o) => ({ putRate: o.putRate, watchers: o.clients }),
);

registerWorkload(memoryWorkload);

// ---------------------------------------------------------------------------------------------------------
// Failover scenarios.

export function summarizeFailover(trials: Trial[]): Record<string, FigureStat> {
  const ts = trials.filter((t): t is FailoverTrial => t.kind === "failover");
  const out: Record<string, FigureStat> = {};
  const add = (name: string, vals: (number | null)[], unit: string) => {
    const v = vals.filter((x): x is number => x !== null && Number.isFinite(x));
    if (v.length) out[name] = figure(v, unit, "lower");
  };
  add("timeToNewLeaderMs", ts.map((t) => t.timeToNewLeaderMs), "ms");
  add("timeToFirstWriteMs", ts.map((t) => t.timeToFirstWriteMs), "ms");
  add("errorWindowMs", ts.map((t) => t.errorWindowMs), "ms");
  add("failed", ts.map((t) => t.failed), "req");
  add("timedOut", ts.map((t) => t.timedOut), "req");
  add("lost", ts.map((t) => t.lost), "writes");
  add("recoveryMs", ts.map((t) => t.recoveryMs), "ms");
  return out;
}

for (const scenario of FAILOVER_SCENARIOS) {
  const what: Record<FailoverScenario, string> = {
    "kill-leader": "kill -9 of the leader",
    "stop-leader": "graceful stop (SIGTERM) of the leader",
    "kill-follower": "kill -9 of a follower",
    "pause-leader": "SIGSTOP of the leader for --pause-ms, then SIGCONT",
  };
  registerWorkload({
    name: `failover-${scenario}`,
    family: "failover",
    description: `${what[scenario]} under a steady write load; the victim is restarted and every acknowledged write read back`,
    minMembers: 3,
    needsControl: true,
    trials: (o) => o.failoverTrials,
    params: (o) => ({ writers: Math.min(o.clients, 8), timeoutMs: Math.min(o.timeoutMs, 1000), pauseMs: scenario === "pause-leader" ? o.pauseMs : null }),
    runTrial: (ctx, trial) => {
      const t0 = Date.now();
      const expected = 1000 + 1500 + (scenario === "pause-leader" ? ctx.opts.pauseMs : 2000) + 2000;
      const tick = setInterval(() => ctx.progress((Date.now() - t0) / expected, "writing through the fault"), 250);
      return runFailoverTrial(ctx.target, {
        scenario,
        trial,
        keyPrefix: `${ctx.prefix}failover/${scenario}/${trial}/`,
        writers: Math.min(ctx.opts.clients, 8),
        valSize: ctx.opts.valSize,
        timeoutMs: Math.min(ctx.opts.timeoutMs, 1000),
        preMs: 1000,
        postMs: 1500,
        pauseMs: ctx.opts.pauseMs,
        maxRecoveryMs: 30_000,
        signal: ctx.signal,
        onProgress: ctx.log,
      }).finally(() => clearInterval(tick));
    },
    summarize: summarizeFailover,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Partition scenarios (--target hosts: links between members cut inside their namespaces).

/** The failover figures, plus the old leader's reads during the partition (staleReads must be 0). */
export function summarizePartition(trials: Trial[]): Record<string, FigureStat> {
  const out = summarizeFailover(trials);
  const ts = trials.filter((t): t is FailoverTrial => t.kind === "failover" && t.partition !== undefined);
  if (ts.length) {
    out.staleReads = figure(ts.map((t) => t.partition!.oldLeaderReads.stale), "reads", "lower");
    out.oldLeaderReadsOk = figure(ts.map((t) => t.partition!.oldLeaderReads.ok), "reads", "lower");
  }
  return out;
}

const FLAP_DOWN_MS = 2000;
const FLAP_UP_MS = 1000;

for (const scenario of PARTITION_SCENARIOS) {
  const what: Record<typeof scenario, string> = {
    "partition-leader": "the leader cut from every other member (both ways)",
    "partition-oneway": "everything the leader sends to the other members dropped (it still receives)",
    "partition-flap": "the link between the leader and one follower cut and healed --flaps times",
  };
  registerWorkload({
    name: scenario,
    family: "failover",
    description: `${what[scenario]}, under a steady write load; the old leader's linearizable reads checked for staleness; healed, every acknowledged write read back`,
    minMembers: 3,
    needsControl: true,
    needsPartitions: true,
    trials: (o) => o.failoverTrials,
    params: (o) => ({
      writers: Math.min(o.clients, 8),
      timeoutMs: Math.min(o.timeoutMs, 1000),
      partitionMs: scenario === "partition-flap" ? FLAP_DOWN_MS : (o.hosts?.partitionMs ?? 5000),
      flaps: scenario === "partition-flap" ? (o.hosts?.flaps ?? 5) : null,
    }),
    runTrial: (ctx, trial) => {
      const t0 = Date.now();
      const flaps = ctx.opts.hosts?.flaps ?? 5;
      const expected = 1000 + 1500 + (scenario === "partition-flap" ? flaps * (FLAP_DOWN_MS + FLAP_UP_MS) : (ctx.opts.hosts?.partitionMs ?? 5000)) + 3000;
      const tick = setInterval(() => ctx.progress((Date.now() - t0) / expected, "writing through the partition"), 250);
      return runPartitionTrial(ctx.target, {
        scenario,
        trial,
        keyPrefix: `${ctx.prefix}partition/${scenario}/${trial}/`,
        writers: Math.min(ctx.opts.clients, 8),
        valSize: ctx.opts.valSize,
        timeoutMs: Math.min(ctx.opts.timeoutMs, 1000),
        preMs: 1000,
        postMs: 1500,
        partitionMs: scenario === "partition-flap" ? FLAP_DOWN_MS : (ctx.opts.hosts?.partitionMs ?? 5000),
        flaps,
        flapUpMs: FLAP_UP_MS,
        maxRecoveryMs: 30_000,
        signal: ctx.signal,
        onProgress: ctx.log,
      }).finally(() => clearInterval(tick));
    },
    summarize: summarizePartition,
  });
}
