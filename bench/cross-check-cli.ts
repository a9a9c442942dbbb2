/**
 * `etcdkit bench --cross-check`: the load generator against etcdprobe on the same real etcd clusters
 * (bench/cross-check.ts), a table of the ratios per cell, exit status 1 when a cell is below --min-ratio.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { formatHelp, parseFlags, UsageError, type FlagSpec } from "./args.js";
import { crossCheckCluster, findEtcdprobe, type CrossCell, type CrossCheckOptions, type CrossOp } from "./cross-check.js";
import { errorKind } from "./etcd-client.js";
import { killAllLoadWorkers } from "./load.js";
import { fmtNum } from "./report-common.js";
import { findEtcdBinary } from "./runner.js";
import { parseShapes } from "./shapes.js";
import { endpointsTarget, localFactory, type ClusterTarget } from "./target.js";

export const CROSS_FLAGS: FlagSpec[] = [
  { name: "cross-check", type: "boolean", help: "this mode" },
  { name: "topologies", type: "list", arg: "N,N", help: "sizes of the real etcd clusters brought up", default: "1,3" },
  { name: "endpoints", type: "list", arg: "URLS", help: "use this running cluster instead (real etcd; nothing is started or stopped)" },
  { name: "ops", type: "list", arg: "LIST", help: "put, range (linearizable single-key reads of 1,000 preloaded keys)", default: "put,range" },
  { name: "clients", type: "list", arg: "N,N", help: "concurrent clients per cell", default: "1,100" },
  { name: "conns", type: "list", arg: "N,N", help: "connections, paired with --clients", default: "one per 10 clients: 1,10" },
  { name: "passes", type: "int", help: "measurements of each cell by each tool, alternating which goes first", default: "3" },
  { name: "duration", type: "number", arg: "S", help: "seconds per measurement", default: "5" },
  { name: "val-size", type: "int", help: "value size (puts and preloaded keys)", default: "256" },
  { name: "workers", type: "int", help: "etcdkit load generator processes", default: "1" },
  { name: "target-leader", type: "boolean", help: "both tools send to the leader only (default: spread over every member)" },
  { name: "timeout", type: "int", arg: "MS", help: "per-request deadline of both tools", default: "5000" },
  { name: "etcdprobe", type: "string", arg: "PATH", help: "the etcdprobe binary", default: "$ETCDPROBE, shared/tools/etcdprobe/bin/etcdprobe beside the checkout, or PATH" },
  { name: "min-ratio", type: "number", help: "exit status 1 when a cell's etcdkit ÷ etcdprobe throughput is below this", default: "0.9" },
  { name: "out", type: "string", arg: "DIR", help: "also write cross-check.json and cross-check.md there" },
  { name: "quiet", type: "boolean", help: "no progress lines" },
];

const USAGE = "etcdkit bench --cross-check [options]";
const DESCRIPTION =
  "Checks that the benchmark's load generator is not the bottleneck: runs etcdprobe (Go, etcd's clientv3) and\n" +
  "etcdkit's load generator against the same real etcd clusters, interleaved, and prints etcdkit's throughput\n" +
  "as a ratio of etcdprobe's per cell (op × clients × cluster size), with load average and both sides' CPU.\n" +
  "Exit status: 0 every ratio >= --min-ratio, 1 a ratio below it or a failure, 2 bad input or no etcdprobe, 130 interrupted.";

export function crossOptions(flags: Record<string, unknown>): CrossCheckOptions & { topologies: number[]; minRatio: number } {
  const int = (name: string, dflt: number, min = 1): number => {
    const v = flags[name];
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const ops = ((flags.ops as string[] | undefined) ?? ["put", "range"]).map((o) => {
    if (o !== "put" && o !== "range") throw new UsageError(`--ops: unknown op "${o}" (put, range)`);
    return o as CrossOp;
  });
  if (!ops.length) throw new UsageError("--ops is empty");
  const topologies = ((flags.topologies as string[] | undefined) ?? ["1", "3"]).map((t) => {
    const n = Number(t);
    if (![1, 3, 5, 7].includes(n)) throw new UsageError(`--topologies: ${t} is not a supported cluster size (1, 3, 5, 7)`);
    return n;
  });
  if (flags.endpoints && flags.topologies) throw new UsageError("--endpoints and --topologies exclude each other");
  const durationSec = (flags.duration as number | undefined) ?? 5;
  if (!(durationSec > 0)) throw new UsageError("--duration must be > 0 seconds");
  const minRatio = (flags["min-ratio"] as number | undefined) ?? 0.9;
  return {
    ops,
    shapes: parseShapes(flags.conns as string[] | undefined, flags.clients as string[] | undefined, [1, 100]),
    passes: int("passes", 3),
    durationSec,
    valSize: int("val-size", 256, 0),
    workers: int("workers", 1),
    targetLeader: Boolean(flags["target-leader"]),
    timeoutMs: int("timeout", 5000),
    topologies,
    minRatio,
  };
}

export function formatCrossCheck(cells: CrossCell[], minRatio: number, passes: number): string {
  const head = ["members", "op", "conns/clients", "etcdprobe req/s", "etcdkit req/s", "ratio", "etcdprobe CPU %", "etcdkit CPU %", "servers CPU % (probe / etcdkit)", "load1"];
  const range = (xs: number[]) => (xs.length > 1 ? ` (${fmtNum(Math.min(...xs))}–${fmtNum(Math.max(...xs))})` : "");
  const med = (xs: (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
    return v.length ? v[Math.floor((v.length - 1) / 2)]! : null;
  };
  const rows = cells.map((c) => {
    const p = c.samples.filter((s) => s.tool === "etcdprobe");
    const b = c.samples.filter((s) => s.tool === "etcdkit");
    const flag = c.ratio !== null && c.ratio < minRatio ? " ⚠" : "";
    return [
      String(c.members),
      c.op,
      `${c.conns}/${c.clients}`,
      `${fmtNum(c.probeMedian)}${range(p.map((s) => s.throughput))}`,
      `${fmtNum(c.benchMedian)}${range(b.map((s) => s.throughput))}`,
      c.ratio === null ? "–" : `${c.ratio.toFixed(2)}${flag}`,
      fmtNum(med(p.map((s) => s.clientCpuPct))),
      fmtNum(med(b.map((s) => s.clientCpuPct))),
      `${fmtNum(med(p.map((s) => s.serverCpuPct)))} / ${fmtNum(med(b.map((s) => s.serverCpuPct)))}`,
      `${fmtNum(Math.min(...c.samples.map((s) => s.load1)))}–${fmtNum(Math.max(...c.samples.map((s) => s.load1)))}`,
    ];
  });
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i < 3 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
  return (
    `${lines.join("\n")}\n\n` +
    `ratio = etcdkit ÷ etcdprobe, medians over ${passes} pass(es) (min–max in brackets); ⚠ below ${minRatio}. ` +
    `CPU in % of one core over the measurement (medians). ${os.cpus().length} cores, load average (1 min) at the start of each measurement.\n`
  );
}

async function clustersFor(o: ReturnType<typeof crossOptions>, endpoints: string[] | undefined, signal: AbortSignal): Promise<AsyncGenerator<ClusterTarget>> {
  if (endpoints) {
    // etcdprobe (shared/tools/etcdprobe/README.md) has no TLS flags: it measures plaintext clusters only.
    if (endpoints.some((e) => e.startsWith("https:"))) throw new UsageError("etcdprobe has no TLS flags (shared/tools/etcdprobe/README.md): give plaintext http:// --endpoints");
    const t = await endpointsTarget(endpoints, "endpoints", "etcd", 3000);
    return (async function* () {
      yield t;
    })();
  }
  if (!findEtcdBinary()) throw new UsageError("no etcd binary (/usr/bin/etcd or on PATH) to bring clusters up; give --endpoints of a running etcd cluster");
  const factory = localFactory();
  return (async function* () {
    for (const n of o.topologies) {
      if (signal.aborted) return;
      // Plaintext: etcdprobe cannot speak TLS, and the cross-check compares the two load generators, not transports.
      yield await factory(n, "etcd", signal, undefined, { tls: false });
    }
  })();
}

export async function crossCheckMain(argv: string[]): Promise<number> {
  const err = (m: string) => process.stderr.write(`etcdkit bench --cross-check: ${m}\n`);
  let o: ReturnType<typeof crossOptions>;
  let flags: Record<string, unknown>;
  try {
    const parsed = parseFlags(argv, CROSS_FLAGS);
    if (parsed.help) {
      process.stdout.write(formatHelp(USAGE, DESCRIPTION, CROSS_FLAGS));
      return 0;
    }
    if (parsed.positional.length) throw new UsageError(`unexpected argument "${parsed.positional[0]}"`);
    flags = parsed.flags;
    o = crossOptions(flags);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(e.message);
    return 2;
  }
  const probe = findEtcdprobe(flags.etcdprobe as string | undefined);
  if ("error" in probe) {
    err(probe.error);
    return 2;
  }
  const ac = new AbortController();
  const onSignal = () => (ac.signal.aborted ? killAllLoadWorkers() : ac.abort());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const log = (m: string) => flags.quiet || process.stderr.write(`${m}\n`);
  const cells: CrossCell[] = [];
  let failed = false;
  try {
    const clusters = await clustersFor(o, flags.endpoints as string[] | undefined, ac.signal).catch((e: Error) => {
      err(e.message);
      return null;
    });
    if (!clusters) return 2;
    for await (const target of clusters) {
      log(`cluster: ${target.size} × etcd at ${target.endpoints().join(",")}`);
      try {
        cells.push(...(await crossCheckCluster(target, o, { probe: probe.path, signal: ac.signal, log })));
      } catch (e) {
        failed = true;
        err(`${target.size} member(s): ${e instanceof Error ? e.message : errorKind(e)}`);
      } finally {
        if (target.kind === "local") await target.down().catch(() => undefined);
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    killAllLoadWorkers();
  }
  const table = formatCrossCheck(cells, o.minRatio, o.passes);
  process.stdout.write(table);
  if (flags.out) {
    const dir = resolve(flags.out as string);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cross-check.json"), `${JSON.stringify({ argv, options: o, machine: { cores: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "" }, cells }, null, 2)}\n`);
    writeFileSync(join(dir, "cross-check.md"), table);
  }
  if (ac.signal.aborted) return 130;
  const below = cells.some((c) => c.ratio === null || c.ratio < o.minRatio);
  return failed || below || !cells.length ? 1 : 0;
}
