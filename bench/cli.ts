/**
 * `etcdkit bench`: bring up each topology with the local runner (or use --endpoints / --stack-outputs), run the
 * workloads against etcd-ts and against real etcd of the same size, tear down, write result.json, summary.md
 * and report.html. Flag names and meanings follow etcd's `benchmark` tool where it has them.
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import * as os from "node:os";
import { dirname, join, resolve } from "node:path";
import { packageRoot } from "../server/util/package-root.js";
import { formatHelp, parseFlags, UsageError, type FlagSpec, type FlagValues } from "./args.js";
import { errorKind } from "./etcd-client.js";
import { killAllLoadWorkers } from "./load.js";
import { Progress } from "./progress.js";
import { renderHtml } from "./report-html.js";
import { renderMarkdown } from "./report-md.js";
import { readResultFile, ResultFileError, writeResultFile } from "./result-file.js";
import { runBench } from "./runner.js";
import type { BenchOptionsRecord, BenchResultFile, Consistency } from "./schema.js";
import { endpointsFromStackOutputs, endpointsTarget, loadLocalRunner, localFactory, type ClusterTarget, type TargetFactory } from "./target.js";
import { expandWorkloads } from "./workloads.js";
import { HOSTS_FLAGS, resolveHostsOptions, type ResolvedHosts } from "./hosts-options.js";
import { hostsFactory } from "./hosts-target.js";
import { labUnavailable } from "../ansible-free-scripts/hosts/netns.js";
import { sshdUnavailable } from "../ansible-free-scripts/hosts/sshd.js";

export const DEFAULT_WORKLOADS = ["put", "range", "txn-mixed", "http-put", "http-range", "failover"];
const TOPOLOGIES = [1, 3, 5, 7];

export const FLAGS: FlagSpec[] = [
  { name: "topologies", type: "list", arg: "N,N", help: "cluster sizes to bring up (1, 3, 5, 7)", default: "1,3,5,7 (--quick: 1,3)" },
  { name: "server", type: "string", arg: "NAME", help: 'server under test: "etcd-ts", "etcd" or a path to a server binary', default: "etcd-ts" },
  { name: "baseline", type: "string", arg: "NAME", help: 'run the same against this server of the same size ("etcd" when /usr/bin/etcd exists; "none" to skip)', default: "etcd" },
  { name: "workloads", type: "list", arg: "LIST", help: "put, range (= range-l, range-s, range-keys-only, range-count-only), txn-mixed, http-put, http-range, put-idle-watchers, failover (= failover-kill-leader, -stop-leader, -kill-follower, -pause-leader), watch-latency, lease (= lease-churn, lease-keepalive, lease-expiry)", default: DEFAULT_WORKLOADS.join(",") },
  { name: "endpoints", type: "list", arg: "URLS", help: "run against servers that already run (comma-separated client URLs); no cluster is started or stopped" },
  { name: "stack-outputs", type: "string", arg: "FILE", help: "run against a CDKTF-deployed stack, from its outputs file (cdktf deploy --outputs-file)" },
  { name: "conns", type: "int", help: "total number of gRPC connections (HTTP workloads: ignored, one connection per client)", default: "2" },
  { name: "clients", type: "int", help: "total number of concurrent in-flight requests, spread over the connections", default: "16" },
  { name: "total", type: "int", help: "requests per trial of each load workload", default: "10000 (--quick: 1000)" },
  { name: "duration", type: "number", arg: "S", help: "run each load trial for S seconds instead of --total requests" },
  { name: "rate", type: "int", help: "maximum requests per second over all clients (0 is no limit)", default: "0" },
  { name: "key-size", type: "int", help: "key size: digits after the run's key prefix", default: "8" },
  { name: "val-size", type: "int", help: "value size of put requests", default: "8" },
  { name: "key-space-size", type: "int", help: "maximum possible keys (also the keys preloaded for range, txn-mixed and http-range)", default: "1000" },
  { name: "sequential-keys", type: "boolean", help: "use sequential keys instead of random ones" },
  { name: "consistency", type: "string", arg: "l|s", help: "linearizable (l) or serializable (s) reads; with range, selects range-l or range-s only", default: "l" },
  { name: "rw-ratio", type: "number", help: "txn-mixed: read/write ops ratio", default: "1" },
  { name: "limit", type: "int", help: "txn-mixed and prefix ranges: range result limit", default: "1000" },
  { name: "trials", type: "int", help: "trials of each load workload (median and spread are reported)", default: "3 (--quick: 2)" },
  { name: "failover-trials", type: "int", help: "trials of each failover scenario", default: "--trials (--quick: 1)" },
  { name: "warmup", type: "int", help: "warm-up requests before each load trial, not counted", default: "5% of --total, at most 500" },
  { name: "timeout", type: "int", arg: "MS", help: "per-request deadline (failover writers: at most 1000)", default: "5000" },
  { name: "workers", type: "int", help: "load generator processes (at most --conns)", default: "the number of cores" },
  { name: "target-leader", type: "boolean", help: "send the load to the leader only" },
  { name: "put-rate", type: "int", help: "watch-latency: puts per second on the watched key", default: "100" },
  { name: "lease-ttl", type: "int", arg: "S", help: "lease-churn, lease-keepalive: TTL of the granted leases", default: "10" },
  { name: "expiry-ttl", type: "int", arg: "S", help: "lease-expiry: TTL of the leases whose expiry is timed (servers raise it to their minimum, 2 s with default timings)", default: "2" },
  { name: "expiry-leases", type: "int", help: "lease-expiry: leases per trial, granted spread over TTL + 1 s (--clients and --total do not apply)", default: "40" },
  { name: "idle-watchers", type: "int", help: "put-idle-watchers: prefix watchers held open during each trial, on prefixes no put matches", default: "50000" },
  { name: "pause-ms", type: "int", arg: "MS", help: "failover-pause-leader: how long the leader stays SIGSTOPped", default: "3000" },
  { name: "out", type: "string", arg: "DIR", help: "where result.json, summary.md and report.html go", default: "bench/results/<time>" },
  { name: "quick", type: "boolean", help: "a short run: topologies 1,3, 1000 requests, 2 trials, 1 failover trial" },
  { name: "from-result", type: "string", arg: "FILE", help: "only write summary.md and report.html again from a result.json" },
  { name: "quiet", type: "boolean", help: "no progress output" },
  ...HOSTS_FLAGS,
];

const USAGE = "etcdkit bench [options]";
const DESCRIPTION =
  "Brings up each topology with the local runner, runs the workloads against the server under test and against the\n" +
  "baseline of the same size, tears the clusters down and writes result.json (schema: bench/SCHEMA.md), summary.md\n" +
  "and report.html into --out. With --endpoints or --stack-outputs it runs once against servers that already run.\n" +
  "With --target hosts each cluster runs on namespace hosts made for it (own address, sshd, data dir, CPU cgroup),\n" +
  "deployed with the SSH deploy, its peer links shaped (--delay, --jitter, --loss, --bandwidth, --link) and cut by\n" +
  "the partition workloads; every run records the conditions it ran under.\n" +
  "Ctrl-C stops the load and tears the clusters down (press twice to force). Exit status: 0 all ran, 1 some run or\n" +
  "workload failed (see the report), 2 bad input, 130 interrupted.";

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "0.0.0";
  }
}

function positiveInt(flags: FlagValues, name: string, dflt: number, min = 1): number {
  const v = flags[name];
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Flags → the effective options (validated, defaults applied). */
export function resolveOptions(flags: FlagValues): BenchOptionsRecord & { out: string | null; stackOutputs: string | null; hostsTarget: ResolvedHosts | null } {
  const quick = Boolean(flags.quick);
  const hostsTarget = resolveHostsOptions(flags, TOPOLOGIES);
  if (hostsTarget) flags = { ...flags, topologies: hostsTarget.sizes.map(String) };
  const topologies = ((flags.topologies as string[] | undefined) ?? (quick ? ["1", "3"] : TOPOLOGIES.map(String))).map((t) => {
    const n = Number(t);
    if (!TOPOLOGIES.includes(n)) throw new UsageError(`--topologies: ${t} is not a supported cluster size (${TOPOLOGIES.join(", ")})`);
    return n;
  });
  if (!topologies.length) throw new UsageError("--topologies is empty");
  const conns = positiveInt(flags, "conns", 2);
  const clients = positiveInt(flags, "clients", 16);
  if (flags.total !== undefined && flags.duration !== undefined) throw new UsageError("--total and --duration exclude each other");
  const durationSec = flags.duration === undefined ? null : (flags.duration as number);
  if (durationSec !== null && !(durationSec > 0)) throw new UsageError("--duration must be > 0 seconds");
  const total = durationSec !== null ? null : positiveInt(flags, "total", quick ? 1000 : 10000);
  const consistency = (flags.consistency as string | undefined) ?? "l";
  if (consistency !== "l" && consistency !== "s") throw new UsageError(`--consistency must be l (linearizable) or s (serializable), got "${consistency}"`);
  const rwRatio = (flags["rw-ratio"] as number | undefined) ?? 1;
  if (!(rwRatio > 0)) throw new UsageError("--rw-ratio must be > 0");
  const trials = positiveInt(flags, "trials", quick ? 2 : 3);
  const failoverTrials = positiveInt(flags, "failover-trials", quick && flags.trials === undefined ? 1 : trials);
  const defWarmup = Math.min(500, Math.ceil((total ?? 10000) * 0.05));
  const warmup = positiveInt(flags, "warmup", quick ? Math.min(50, defWarmup) : defWarmup, 0);
  const endpoints = (flags.endpoints as string[] | undefined) ?? null;
  const stackOutputs = (flags["stack-outputs"] as string | undefined) ?? null;
  if (endpoints && stackOutputs) throw new UsageError("--endpoints and --stack-outputs exclude each other");
  if (endpoints && !endpoints.length) throw new UsageError("--endpoints is empty");
  const baselineFlag = (flags.baseline as string | undefined) ?? "etcd";
  const workloadNames = (flags.workloads as string[] | undefined) ?? DEFAULT_WORKLOADS;
  if (!workloadNames.length) throw new UsageError("--workloads is empty");
  let workloads: string[];
  try {
    workloads = expandWorkloads(workloadNames, flags.consistency !== undefined ? (consistency as Consistency) : null);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    topologies,
    server: (flags.server as string | undefined) ?? "etcd-ts",
    baseline: baselineFlag === "none" || baselineFlag === "" ? null : baselineFlag,
    workloads,
    target: endpoints ? "endpoints" : stackOutputs ? "stack" : "local",
    endpoints,
    conns,
    clients,
    total,
    durationSec,
    rate: positiveInt(flags, "rate", 0, 0),
    keySize: positiveInt(flags, "key-size", 8),
    valSize: positiveInt(flags, "val-size", 8, 0),
    keySpaceSize: positiveInt(flags, "key-space-size", 1000),
    sequentialKeys: Boolean(flags["sequential-keys"]),
    consistency: consistency as Consistency,
    rwRatio,
    limit: positiveInt(flags, "limit", 1000),
    trials,
    failoverTrials,
    warmup,
    timeoutMs: positiveInt(flags, "timeout", 5000),
    workers: positiveInt(flags, "workers", Math.max(1, Math.min(os.cpus().length, conns))),
    targetLeader: Boolean(flags["target-leader"]),
    putRate: positiveInt(flags, "put-rate", 100),
    leaseTtl: positiveInt(flags, "lease-ttl", 10),
    expiryTtl: positiveInt(flags, "expiry-ttl", 2),
    expiryLeases: positiveInt(flags, "expiry-leases", 40),
    idleWatchers: positiveInt(flags, "idle-watchers", 50_000),
    pauseMs: positiveInt(flags, "pause-ms", 3000),
    quick,
    out: (flags.out as string | undefined) ?? null,
    stackOutputs,
    ...(hostsTarget ? { target: "hosts" as const, hosts: hostsTarget.record } : {}),
    hostsTarget,
  };
}

export function writeReports(result: BenchResultFile, outDir: string, withJson = true): { json: string; md: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const paths = { json: join(outDir, "result.json"), md: join(outDir, "summary.md"), html: join(outDir, "report.html") };
  if (withJson) writeResultFile(paths.json, result);
  writeFileSync(paths.md, renderMarkdown(result));
  writeFileSync(paths.html, renderHtml(result));
  return paths;
}

function defaultOutDir(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return resolve("bench", "results", `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`);
}

export async function main(argv: string[]): Promise<number> {
  const err = (m: string) => process.stderr.write(`etcdkit bench: ${m}\n`);
  let opts: ReturnType<typeof resolveOptions>;
  let fromResult: string | undefined;
  let quiet = false;
  try {
    const { flags, positional, help } = parseFlags(argv, FLAGS);
    if (help) {
      process.stdout.write(formatHelp(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
    fromResult = flags["from-result"] as string | undefined;
    if (fromResult) {
      const r = readResultFile(fromResult);
      const out = (flags.out as string | undefined) ?? dirname(resolve(fromResult));
      const p = writeReports(r, out, false);
      process.stdout.write(`${p.md}\n${p.html}\n`);
      return 0;
    }
    opts = resolveOptions(flags);
    quiet = Boolean(flags.quiet);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ResultFileError) {
      err(e.message);
      if (e instanceof UsageError) process.stderr.write(`Usage: ${USAGE} (etcdkit bench --help)\n`);
      return 2;
    }
    throw e;
  }

  const progress = new Progress(process.stderr, undefined, quiet);
  const ac = new AbortController();
  let current: ClusterTarget | null = null;
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (sig === "SIGHUP") progress.silence();
    interrupts++;
    if (interrupts === 1) {
      progress.log(`\n${sig}: stopping the load and tearing down (again to force)`);
      ac.abort();
    } else {
      progress.log(`${sig}: forcing`);
      killAllLoadWorkers();
      const t = current;
      void Promise.resolve(t?.down())
        .catch(() => undefined)
        .finally(() => process.exit(130));
    }
  };
  // SIGHUP too: a closed terminal must not leave the (detached) cluster members running.
  const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  // Writing to a terminal that went away fails (EIO/EPIPE); that must not cut the tear-down short.
  const ignore = () => {};
  process.stdout.on("error", ignore);
  process.stderr.on("error", ignore);
  for (const s of SIGNALS) process.on(s, onSignal);

  try {
    // Resolve the target before anything starts, so that bad input fails fast and leaves nothing behind.
    let fixedTarget: ClusterTarget | undefined;
    let factory: TargetFactory | undefined;
    try {
      if (opts.target === "endpoints" || opts.target === "stack") {
        const urls = opts.target === "stack" ? endpointsFromStackOutputs(opts.stackOutputs!) : opts.endpoints!;
        fixedTarget = await endpointsTarget(urls, opts.target, opts.server, 3000);
        opts.endpoints = fixedTarget.endpoints();
      } else if (opts.hostsTarget) {
        const why = labUnavailable() ?? sshdUnavailable();
        if (why) throw new Error(`--target hosts: ${why}`);
        factory = hostsFactory({ conditions: opts.hostsTarget.conditions, coresPerHost: opts.hostsTarget.record.coresPerHost, shaper: opts.hostsTarget.record.shaper });
      } else {
        factory = localFactory(await loadLocalRunner());
      }
    } catch (e) {
      err(e instanceof Error ? e.message : errorKind(e));
      return 2;
    }
    const outDir = resolve(opts.out ?? defaultOutDir());
    const { out: _o, stackOutputs: _s, hostsTarget: _h, ...record } = opts;
    const result = await runBench(record, {
      progress,
      signal: ac.signal,
      argv,
      factory,
      fixedTarget,
      onTarget: (t) => (current = t),
      fsyncProbeDir: outDir,
      toolVersion: toolVersion(),
    });
    progress.finish();
    const paths = writeReports(result, outDir);
    if (!quiet) process.stdout.write(`${renderMarkdown(result)}\n`);
    process.stdout.write(`result: ${paths.json}\nsummary: ${paths.md}\nreport: ${paths.html}\n`);
    if (result.interrupted) return 130;
    const failed = result.runs.some((r) => r.status === "failed" || r.workloads.some((w) => w.status === "failed"));
    return failed ? 1 : 0;
  } finally {
    progress.finish();
    killAllLoadWorkers();
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}
