/**
 * The suite: for each topology, bring a cluster up (subject server, then the baseline of the same size),
 * run the workloads' trials against it, tear it down; collect everything into one result file.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import * as os from "node:os";
import { checkEndpoints, EtcdChannel, errorKind, prefixEnd, unary } from "./etcd-client.js";
import { findLeader } from "./failover.js";
import { KEY_ROOT } from "./keys.js";
import { machineFacts, probeFsync } from "./machine.js";
import type { Progress } from "./progress.js";
import { SCHEMA_ID, SCHEMA_VERSION, type BenchOptionsRecord, type BenchResultFile, type AuthMode, type ServerRole, type TopologyRun, type WorkloadResult } from "./schema.js";
import type { ClusterTarget, TargetFactory } from "./target.js";
import { workloadDef, type WorkloadContext, type WorkloadDef } from "./workloads.js";

export interface PlanItem {
  members: number;
  server: string;
  role: ServerRole;
  /** --target hosts: which of the network conditions (index into options.hosts.delaysMs). */
  variant?: number;
  /** Clusters the bench brings up (local, hosts): TLS (default) or plaintext. */
  tls?: boolean;
  /** With --auth-cost: false for the run without auth (the factory's auth file is not applied). */
  auth?: boolean;
}

export interface RunnerDeps {
  progress: Progress;
  signal: AbortSignal;
  argv: string[];
  /** local mode: brings clusters up. */
  factory?: TargetFactory;
  /** endpoints / stack mode: the one target to run against. */
  fixedTarget?: ClusterTarget;
  /** Told about the target being used, so that a second Ctrl-C can tear it down at once. */
  onTarget?: (t: ClusterTarget | null) => void;
  fsyncProbeDir?: string;
  fsyncSamples?: number;
  toolVersion?: string;
}

/** Where real etcd is, for the baseline: /usr/bin/etcd, else `etcd` on PATH. */
export function findEtcdBinary(): string | null {
  if (existsSync("/usr/bin/etcd")) return "/usr/bin/etcd";
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "etcd"))) return join(dir, "etcd");
  }
  return null;
}

export function planRuns(opts: BenchOptionsRecord, notes: string[]): PlanItem[] {
  if (opts.target !== "local" && opts.target !== "hosts") return [{ members: opts.endpoints?.length ?? 0, server: opts.server, role: "subject" }];
  const items: PlanItem[] = [];
  let baseline = opts.baseline;
  if (baseline === "etcd" && !findEtcdBinary()) {
    notes.push("baseline etcd skipped: no etcd binary (/usr/bin/etcd or on PATH)");
    baseline = null;
  }
  // hosts: every size under every set of conditions, the baseline right after the subject (same conditions).
  const variants = opts.target === "hosts" ? (opts.hosts?.delaysMs ?? [0]).map((_, i) => i) : [undefined];
  for (const n of opts.topologies) {
    for (const variant of variants) {
      for (const t of opts.transports ?? ["tls"]) {
        for (const a of authModesOf(opts)) {
          const v = { ...(variant === undefined ? {} : { variant }), tls: t === "tls", ...(a === undefined ? {} : { auth: a === "auth" }) };
          items.push({ members: n, server: opts.server, role: "subject", ...v });
          if (baseline && baseline !== opts.server) items.push({ members: n, server: baseline, role: "baseline", ...v });
        }
      }
    }
  }
  return items;
}

/** --auth-cost: both ways, in run order; otherwise one pass that follows the factory (undefined). */
function authModesOf(opts: BenchOptionsRecord): (AuthMode | undefined)[] {
  return (opts.authModes?.length ?? 0) > 1 ? opts.authModes! : [undefined];
}

/** The run id's suffix: which transport and which auth mode, when the file holds both of either. */
function runSuffix(item: PlanItem, opts: BenchOptionsRecord): string {
  const tls = (opts.transports?.length ?? 1) > 1 ? (item.tls === false ? "-plain" : "-tls") : "";
  const auth = item.auth === undefined ? "" : item.auth ? "-auth" : "-noauth";
  return tls + auth;
}

/** One run of a workload in a topology: the workload with the options of one load shape. */
export interface WorkloadRun {
  /** The result's name: the workload's, with "@<clients>" when the run has several shapes. */
  name: string;
  def: WorkloadDef;
  opts: BenchOptionsRecord;
}

/** The workloads × load shapes of a topology, in run order (shapes inside each workload). */
export function workloadRuns(opts: BenchOptionsRecord): WorkloadRun[] {
  const shapes = opts.shapes?.length ? opts.shapes : [{ conns: opts.conns, clients: opts.clients }];
  const largest = shapes.reduce((a, b) => (b.clients > a.clients ? b : a));
  const out: WorkloadRun[] = [];
  for (const name of opts.workloads) {
    const def = workloadDef(name);
    if (!def) continue;
    if (!def.shaped) out.push({ name, def, opts: { ...opts, ...largest } });
    else for (const s of shapes) out.push({ name: shapes.length > 1 ? `${name}@${s.clients}` : name, def, opts: { ...opts, ...s } });
  }
  return out;
}

export async function runBench(opts: BenchOptionsRecord, deps: RunnerDeps): Promise<BenchResultFile> {
  const started = Date.now();
  const runId = randomBytes(4).toString("hex");
  const notes: string[] = [];
  const { progress, signal } = deps;

  let fsync = null;
  try {
    fsync = probeFsync(deps.fsyncProbeDir ?? os.tmpdir(), deps.fsyncSamples ?? (opts.quick ? 50 : 200));
  } catch (e) {
    notes.push(`fsync probe failed: ${(e as Error).message}`);
  }
  const machine = machineFacts(fsync);
  const plan = planRuns(opts, notes);
  const steps = plan.length * workloadRuns(opts).reduce((a, r) => a + r.def.trials(r.opts), 0);
  progress.plan(steps);
  const runs: TopologyRun[] = [];

  for (const item of plan) {
    if (signal.aborted) break;
    runs.push(await runOne(item, opts, deps, runId, notes));
  }

  machine.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const finished = Date.now();
  return {
    schema: SCHEMA_ID,
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "etcdkit", version: deps.toolVersion ?? "0.0.0" },
    runId,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    argv: deps.argv,
    options: opts,
    machine,
    runs,
    interrupted: signal.aborted,
    notes,
  };
}

async function runOne(item: PlanItem, opts: BenchOptionsRecord, deps: RunnerDeps, runId: string, notes: string[]): Promise<TopologyRun> {
  const { progress, signal } = deps;
  // With --tls or --auth-cost both ways run: the id says which.
  const suffix = runSuffix(item, opts);
  const id = `${item.members}-${item.server}${suffix}`;
  const run: TopologyRun = {
    id,
    members: item.members,
    server: item.server,
    role: item.role,
    target: { kind: opts.target, endpoints: [] },
    status: "ok",
    setupMs: 0,
    teardownMs: 0,
    workloads: [],
  };
  const runs = workloadRuns(opts);
  const skipSteps = (rs: WorkloadRun[]) => rs.forEach((r) => Array.from({ length: r.def.trials(r.opts) }, () => progress.stepDone()));
  let target: ClusterTarget | null = null;
  const t0 = Date.now();
  try {
    if (deps.fixedTarget) target = deps.fixedTarget;
    else {
      progress.log(`bringing up ${item.members} × ${item.server}${item.role === "baseline" ? " (baseline)" : ""}${item.tls === false ? ", plaintext (--insecure)" : ", TLS"}${item.auth === false ? ", auth off" : item.auth ? ", auth on" : ""}`);
      const variant = item.variant === undefined ? {} : { variant: { index: item.variant } };
      target = await deps.factory!(item.members, item.server, signal, (m) => progress.log(`  ${m}`), { ...variant, tls: item.tls !== false, ...(item.auth === undefined ? {} : { auth: item.auth }) });
    }
    deps.onTarget?.(target);
    run.target.endpoints = target.endpoints();
    run.members = target.size;
    run.id = `${target.size}-${item.server}${suffix}`;
    run.tls = target.tls !== undefined;
    if (target.auth) run.auth = true;
    if (target.conditions) {
      // Runs under different conditions are different runs for compare: the id says which.
      run.conditions = target.conditions;
      run.id += `@hosts-${target.conditions.tag}`;
    }
    await checkEndpoints(target.endpoints(), 5000);
    if (target.control) await target.control.waitHealthy();
  } catch (e) {
    run.status = signal.aborted ? "interrupted" : "failed";
    run.error = `cluster not available: ${(e as Error).message}`;
    run.setupMs = Date.now() - t0;
    progress.log(`  ${run.error}`);
    skipSteps(runs);
    if (target && !deps.fixedTarget) await teardown(target, run, deps);
    return run;
  }
  run.setupMs = Date.now() - t0;

  let endpoints = target.endpoints();
  if (opts.targetLeader) {
    const l = await findLeader(target.members());
    const m = l && target.members().find((x) => x.name === l.name);
    if (m) endpoints = [m.clientUrl];
    else notes.push(`${run.id}: --target-leader: no leader found, using every endpoint`);
  }
  const ctx: WorkloadContext = {
    target,
    opts,
    prefix: `${KEY_ROOT}${runId}/`,
    signal,
    progress: (f, d) => progress.update(f, d),
    log: (m) => progress.log(`  ${m}`),
    state: new Map(),
    endpoints,
  };

  try {
    for (let wi = 0; wi < runs.length; wi++) {
      const { name, def, opts: wopts } = runs[wi]!;
      const wctx: WorkloadContext = { ...ctx, opts: wopts };
      const wr: WorkloadResult = { name, family: def.family, status: "ok", params: def.params(wopts), trials: [], summary: {} };
      run.workloads.push(wr);
      if (signal.aborted) {
        wr.status = "interrupted";
        skipSteps(runs.slice(wi));
        break;
      }
      if (def.minMembers && target.size < def.minMembers) {
        wr.status = "skipped";
        wr.skipReason = `needs at least ${def.minMembers} members`;
        skipSteps([runs[wi]!]);
        continue;
      }
      if (def.needsPartitions && !target.partitions) {
        wr.status = "skipped";
        wr.skipReason = "needs a target whose links the suite can cut (--target hosts)";
        skipSteps([runs[wi]!]);
        continue;
      }
      if (def.needsControl && !target.control) {
        wr.status = "skipped";
        wr.skipReason = "needs a cluster the suite controls (not --endpoints / --stack-outputs)";
        skipSteps([runs[wi]!]);
        continue;
      }
      await runTrials(runs[wi]!, wctx, wr, run.id, deps);
    }
    if (signal.aborted) run.status = "interrupted";
  } finally {
    if (!deps.fixedTarget) await teardown(target, run, deps);
    else {
      await deletePrefix(target.endpoints(), ctx.prefix, opts.timeoutMs).catch((e) => notes.push(`${run.id}: could not delete the benchmark's keys under ${ctx.prefix}: ${errorKind(e)}`));
      deps.onTarget?.(null);
    }
  }
  return run;
}

/** The trials of one workload run, into `wr`; a failure is recorded there and the cluster made healthy again. */
async function runTrials(r: WorkloadRun, ctx: WorkloadContext, wr: WorkloadResult, runId: string, deps: RunnerDeps): Promise<void> {
  const { progress, signal } = deps;
  const n = r.def.trials(r.opts);
  let trial = 0;
  try {
    if (r.def.prepare) await r.def.prepare(ctx);
    for (trial = 1; trial <= n; trial++) {
      if (signal.aborted) break;
      progress.step(`${runId} ${r.name} trial ${trial}/${n}`);
      const t = await r.def.runTrial(ctx, trial);
      wr.trials.push(t);
      progress.log(`  ${describeTrial(t)}`);
      progress.stepDone();
    }
    if (signal.aborted) wr.status = "interrupted";
  } catch (e) {
    wr.status = signal.aborted ? "interrupted" : "failed";
    wr.error = (e as Error).message ?? String(e);
    progress.log(`  ${r.name} ${wr.status}: ${wr.error}`);
    for (let k = Math.max(trial, 1); k <= n; k++) progress.stepDone();
    // A failed workload may leave the cluster in a bad state; make sure it is healthy before going on.
    if (!signal.aborted && ctx.target.control) await ctx.target.control.waitHealthy().catch(() => undefined);
  }
  wr.summary = r.def.summarize(wr.trials);
}

async function teardown(target: ClusterTarget, run: TopologyRun, deps: RunnerDeps): Promise<void> {
  const t = Date.now();
  try {
    deps.progress.log(`tearing down ${run.id}`);
    await target.down();
  } catch (e) {
    run.error = `${run.error ? `${run.error}; ` : ""}teardown: ${(e as Error).message}`;
  } finally {
    run.teardownMs = Date.now() - t;
    deps.onTarget?.(null);
  }
}

async function deletePrefix(endpoints: string[], prefix: string, timeoutMs: number): Promise<void> {
  const ch = new EtcdChannel(endpoints[0]!);
  try {
    const key = Buffer.from(prefix);
    await unary(ch.kv(), "DeleteRange", { key, range_end: prefixEnd(key) }, Math.max(timeoutMs, 10_000));
  } finally {
    ch.close();
  }
}

export function describeTrial(t: WorkloadResult["trials"][number]): string {
  if (t.kind === "load") {
    return `${t.throughput} req/s, p50 ${t.latency.p50Ms} ms, p99 ${t.latency.p99Ms} ms, ${t.ok}/${t.sent} ok${t.errors + t.timeouts ? `, ${t.errors} errors, ${t.timeouts} timeouts` : ""}`;
  }
  if (t.kind === "memory") {
    const mb = (ms: typeof t.atRest) => Math.round(Math.max(0, ...ms.map((m) => m.rssBytes ?? 0)) / 1048576);
    const settled = t.settled ? `, ${mb(t.settled)} MiB ${Math.round((t.settleMs ?? 0) / 1000)} s later` : "";
    return `RSS ${mb(t.atRest)} MiB at rest, ${mb(t.afterKeys)} MiB after ${t.written}/${t.keys} keys${settled} (${Math.round((t.written / Math.max(1, t.writeMs)) * 1000)} keys/s)`;
  }
  return `new leader ${t.timeToNewLeaderMs ?? "-"} ms, first write ${t.timeToFirstWriteMs ?? "-"} ms, error window ${t.errorWindowMs} ms, failed ${t.failed}, timed out ${t.timedOut}, lost ${t.lost}/${t.acked}`;
}
