/**
 * The load generator checked against an independent one: etcdprobe (Go, etcd's own clientv3; see
 * bench/README.md) and `etcdkit bench`'s load generator run against the same real etcd cluster, one after
 * the other, alternating which goes first, for several passes, with the same connections, clients,
 * duration and request sizes. The figure is the ratio of the two throughputs per cell: the load generator
 * is not the bottleneck when it reaches (about) what clientv3 reaches. Load averages, the load generators'
 * own CPU and the servers' CPU are recorded beside each sample, since on a shared machine they explain most
 * of the spread.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as os from "node:os";
import { delimiter, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { packageRoot } from "../server/util/package-root.js";
import { EtcdChannel, prefixEnd, unary } from "./etcd-client.js";
import { KEY_ROOT, keyOf, valueOf } from "./keys.js";
import { runLoad, type LoadSpec } from "./load.js";
import { ResourceSampler } from "./sampler.js";
import type { ClusterTarget } from "./target.js";

export type CrossOp = "put" | "range";

export interface CrossCheckOptions {
  ops: CrossOp[];
  shapes: { conns: number; clients: number }[];
  passes: number;
  durationSec: number;
  valSize: number;
  workers: number;
  targetLeader: boolean;
  timeoutMs: number;
}

export interface CrossSample {
  pass: number;
  tool: "etcdprobe" | "etcdkit";
  throughput: number;
  p50Ms: number | null;
  errors: number;
  /** The load generator's own CPU, % of one core over the run. */
  clientCpuPct: number | null;
  /** Every member together, % of one core over the run; null without PIDs (--endpoints). */
  serverCpuPct: number | null;
  load1: number;
}

export interface CrossCell {
  members: number;
  op: CrossOp;
  conns: number;
  clients: number;
  samples: CrossSample[];
  probeMedian: number | null;
  benchMedian: number | null;
  /** benchMedian / probeMedian. */
  ratio: number | null;
}

/** Where etcdprobe is: --etcdprobe, $ETCDPROBE, the shared tools beside the checkout, or PATH. */
export function etcdprobeCandidates(explicit?: string): string[] {
  if (explicit) return [resolve(explicit)];
  const out: string[] = [];
  if (process.env.ETCDPROBE) out.push(resolve(process.env.ETCDPROBE));
  const root = packageRoot();
  for (const up of ["..", join("..", ".."), join("..", "..", "..")]) out.push(resolve(root, up, "shared", "tools", "etcdprobe", "bin", "etcdprobe"));
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) out.push(join(dir, "etcdprobe"));
  return out;
}

export function findEtcdprobe(explicit?: string): { path: string } | { error: string } {
  const c = etcdprobeCandidates(explicit);
  const found = c.find((p) => existsSync(p));
  if (found) return { path: found };
  const buildScript = c.map((p) => resolve(p, "..", "..", "build.sh")).find((p) => existsSync(p));
  return {
    error:
      `etcdprobe not found (looked for ${c.slice(0, 4).join(", ")}${c.length > 4 ? ", and etcdprobe on PATH" : ""}). ` +
      (buildScript
        ? `Build it with ${buildScript} (needs Debian's golang-go and golang-etcd-server-dev), or pass --etcdprobe PATH.`
        : "Build it with shared/tools/etcdprobe/build.sh (needs Debian's golang-go and golang-etcd-server-dev), or pass --etcdprobe PATH."),
  };
}

interface ProbeJson {
  ok: boolean;
  error?: string;
  result?: { throughput_rps: number; errors: number; latency?: { p50_ms: number } };
  env?: { probe_cpu_cores: number };
}

function runProbe(bin: string, args: string[], signal: AbortSignal): Promise<ProbeJson> {
  return new Promise((resolveP, reject) => {
    execFile(bin, [...args, "--json"], { maxBuffer: 16 << 20, signal }, (err, stdout, stderr) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        const j = JSON.parse(last) as ProbeJson;
        if (!j.ok) reject(new Error(`etcdprobe ${args[0]}: ${j.error ?? "failed"}`));
        else resolveP(j);
      } catch {
        reject(new Error(`etcdprobe ${args[0]} gave no JSON result${err ? ` (${err.message})` : ""}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
      }
    });
  });
}

const load1 = () => Math.round(os.loadavg()[0]! * 100) / 100;
const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The cells, in the order they run within a pass. */
export function crossCells(o: CrossCheckOptions): { op: CrossOp; conns: number; clients: number }[] {
  return o.ops.flatMap((op) => o.shapes.map((s) => ({ op, ...s })));
}

/** Keys and sizes: put as etcdprobe's baseline (8-byte keys, sequential over 100,000), range over 1,000 preloaded keys. */
const PUT_KEYS = 100_000;
const RANGE_KEYS = 1000;

export interface CrossDeps {
  probe: string;
  signal: AbortSignal;
  log: (msg: string) => void;
}

/** Runs every pass of every cell against one cluster; `onSample` is told as each measurement ends. */
export async function crossCheckCluster(target: ClusterTarget, o: CrossCheckOptions, deps: CrossDeps): Promise<CrossCell[]> {
  const endpoints = target.endpoints();
  const prefix = `${KEY_ROOT}xc-${randomBytes(3).toString("hex")}/`;
  await preload(endpoints[0]!, `${prefix}kv/`, o.valSize, o.timeoutMs);
  const probeState = { prefilled: false };
  const cells: CrossCell[] = crossCells(o).map((c) => ({ members: target.size, ...c, samples: [], probeMedian: null, benchMedian: null, ratio: null }));
  try {
    await measureAll(target, cells, o, prefix, probeState, deps);
  } finally {
    await deleteKeys(endpoints[0]!, prefix).catch(() => undefined);
  }
  return finish(cells);
}

async function measureAll(target: ClusterTarget, cells: CrossCell[], o: CrossCheckOptions, prefix: string, probeState: { prefilled: boolean }, deps: CrossDeps): Promise<void> {
  for (let pass = 1; pass <= o.passes; pass++) {
    for (const cell of cells) {
      // Alternate which tool goes first, so that a drift in the machine's load does not favour one.
      const order: CrossSample["tool"][] = pass % 2 === 1 ? ["etcdprobe", "etcdkit"] : ["etcdkit", "etcdprobe"];
      for (const tool of order) {
        if (deps.signal.aborted) return;
        const s = tool === "etcdprobe" ? await probeSample(target, cell, o, pass, prefix, probeState, deps) : await benchSample(target, cell, o, pass, prefix, deps.signal);
        cell.samples.push(s);
        deps.log(`${target.size} member(s) ${cell.op} ${cell.conns}/${cell.clients} pass ${pass}: ${tool} ${Math.round(s.throughput)} req/s, client CPU ${s.clientCpuPct ?? "–"} %, servers ${s.serverCpuPct ?? "–"} %, load ${s.load1}`);
      }
    }
  }
}

async function deleteKeys(endpoint: string, prefix: string): Promise<void> {
  const ch = new EtcdChannel(endpoint);
  try {
    const key = Buffer.from(prefix);
    await unary(ch.kv(), "DeleteRange", { key, range_end: prefixEnd(key) }, 30_000);
  } finally {
    ch.close();
  }
}

function finish(cells: CrossCell[]): CrossCell[] {
  for (const c of cells) {
    c.probeMedian = median(c.samples.filter((s) => s.tool === "etcdprobe").map((s) => s.throughput));
    c.benchMedian = median(c.samples.filter((s) => s.tool === "etcdkit").map((s) => s.throughput));
    c.ratio = c.probeMedian && c.benchMedian !== null ? Math.round((c.benchMedian / c.probeMedian) * 1000) / 1000 : null;
  }
  return cells;
}

/**
 * Runs one measurement with the servers' CPU sampled over it. `run` gets `startSampling`: the load generator
 * calls it when its measured window opens (after start-up and warm-up, which would dilute the figure);
 * etcdprobe has no such signal and is sampled from its start (Go starts in milliseconds).
 */
async function sampled<T>(target: ClusterTarget, run: (startSampling: () => Promise<void>) => Promise<T>): Promise<{ out: T; serverCpuPct: number | null; load1: number }> {
  const l = load1();
  const sampler = new ResourceSampler(() => target.members(), 250);
  let started = false;
  const startSampling = async () => {
    if (started) return;
    started = true;
    await sampler.start();
  };
  try {
    const out = await run(startSampling);
    await startSampling();
    const ms = await sampler.stop();
    const cpu = ms.map((m) => m.cpuPercentMean).filter((x): x is number => x !== null);
    return { out, serverCpuPct: cpu.length ? Math.round(cpu.reduce((a, b) => a + b, 0)) : null, load1: l };
  } catch (e) {
    if (started) await sampler.stop().catch(() => undefined);
    throw e;
  }
}

/** The length of the keys the load generator sends in a cell: bench/keys.ts's "<prefix><op>/<8 digits>". */
const benchKeyLength = (prefix: string, op: CrossOp): number => keyOf(`${prefix}${op === "put" ? "put/" : "kv/"}`, 0, 8).length;

async function probeSample(target: ClusterTarget, cell: CrossCell, o: CrossCheckOptions, pass: number, prefix: string, state: { prefilled: boolean }, deps: CrossDeps): Promise<CrossSample> {
  const common = [
    "--endpoints", target.endpoints().map((e) => e.replace(/^https?:\/\//, "")).join(","),
    "--conns", String(cell.conns),
    "--clients", String(cell.clients),
    "--duration", `${o.durationSec}s`,
    "--val-size", String(o.valSize),
    "--request-timeout", `${o.timeoutMs}ms`,
    ...(o.targetLeader ? ["--target-leader"] : []),
  ];
  // Keys as long as the load generator's ("<prefix><8 digits>"), so that both send requests of the same size.
  const keySize = String(benchKeyLength(prefix, cell.op));
  const args =
    cell.op === "put"
      ? ["put", ...common, "--key-space-size", String(PUT_KEYS), "--sequential-keys", "--ascii-keys", "--key-size", keySize]
      : ["range", ...common, "--key-space-size", String(RANGE_KEYS), "--consistency", "l", "--ascii-keys", "--key-size", keySize, `--prefill=${!state.prefilled}`];
  if (cell.op === "range") state.prefilled = true;
  const { out, serverCpuPct, load1: l } = await sampled(target, async (startSampling) => {
    await startSampling();
    return runProbe(deps.probe, args, deps.signal);
  });
  return {
    pass,
    tool: "etcdprobe",
    throughput: out.result?.throughput_rps ?? 0,
    p50Ms: out.result?.latency?.p50_ms ?? null,
    errors: out.result?.errors ?? 0,
    clientCpuPct: out.env ? Math.round(out.env.probe_cpu_cores * 100) : null,
    serverCpuPct,
    load1: l,
  };
}

async function benchSample(target: ClusterTarget, cell: CrossCell, o: CrossCheckOptions, pass: number, prefix: string, signal: AbortSignal): Promise<CrossSample> {
  const spec: LoadSpec = {
    op: cell.op,
    endpoints: target.endpoints(),
    conns: cell.conns,
    clients: cell.clients,
    total: null,
    durationMs: o.durationSec * 1000,
    rate: 0,
    warmup: Math.min(500, cell.clients * 20),
    warmupMaxMs: 1000,
    timeoutMs: o.timeoutMs,
    keyPrefix: `${prefix}${cell.op === "put" ? "put/" : "kv/"}`,
    keySize: 8,
    valSize: o.valSize,
    keySpaceSize: cell.op === "put" ? PUT_KEYS : RANGE_KEYS,
    sequentialKeys: cell.op === "put",
    serializable: false,
    rangeMode: "point",
    keysOnly: false,
    countOnly: false,
    limit: 0,
    rwRatio: 1,
    leaseTtl: 10,
    putRate: 0,
    workers: o.workers,
    maxMs: o.durationSec * 1000 + 60_000,
  };
  const { out, serverCpuPct, load1: l } = await sampled(target, (startSampling) => runLoad(spec, { signal, onStart: startSampling }));
  const secs = out.measuredMs / 1000;
  return {
    pass,
    tool: "etcdkit",
    throughput: Math.round((out.ok / secs) * 10) / 10,
    p50Ms: out.histogram.totalCount ? out.histogram.getValueAtPercentile(50) / 1000 : null,
    errors: out.errors + out.timeouts,
    clientCpuPct: Math.round(((out.cpuUserMs + out.cpuSystemMs) / Math.max(1, out.wallMs)) * 100),
    serverCpuPct,
    load1: l,
  };
}

async function preload(endpoint: string, prefix: string, valSize: number, timeoutMs: number): Promise<void> {
  const ch = new EtcdChannel(endpoint);
  try {
    await ch.ready(5000);
    const value = valueOf(valSize);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < RANGE_KEYS) await unary(ch.kv(), "Put", { key: keyOf(prefix, next++, 8), value }, timeoutMs);
      }),
    );
  } finally {
    ch.close();
  }
}
