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
import { crossCheckMain } from "./cross-check-cli.js";
import { errorKind } from "./etcd-client.js";
import { killAllLoadWorkers } from "./load.js";
import { Progress } from "./progress.js";
import { renderHtml } from "./report-html.js";
import { headlineTable, renderHeadlineMarkdown } from "./report-headline.js";
import { renderMarkdown } from "./report-md.js";
import { readResultFile, ResultFileError, writeResultFile } from "./result-file.js";
import { runBench } from "./runner.js";
import { parseShapes } from "./shapes.js";
import type { AuthMode, BenchOptionsRecord, BenchResultFile, Consistency, Transport } from "./schema.js";
import { endpointsFromStackOutputs, endpointsTarget, localFactory, tlsFromStackOutputs, type ClusterTarget, type TargetFactory } from "./target.js";
import type { ClientTlsFiles } from "./endpoint-tls.js";
import { authenticateEndpoints, type Credentials } from "./endpoint-auth.js";
import { credentialsFromFlags } from "../ansible-free-scripts/auth/user-flags.js";
import { loadAuthFile } from "../ansible-free-scripts/auth/auth-file.js";
import { expandWorkloads } from "./workloads.js";
import { HOSTS_FLAGS, resolveHostsOptions, type ResolvedHosts } from "./hosts-options.js";
import { hostsFactory } from "./hosts-target.js";
import { labUnavailable } from "../ansible-free-scripts/hosts/netns.js";
import { sshdUnavailable } from "../ansible-free-scripts/hosts/sshd.js";

/**
 * Run profiles. The default is the first run a user makes: about 5 minutes on a 2-core machine, the figures
 * that matter (1 and 3 members, put and linearizable range at 1 and 100 clients, a kill of the leader,
 * memory at rest and after 100,000 keys). --quick is a smoke run; --full is the whole matrix.
 */
export interface Profile {
  topologies: number[];
  workloads: string[];
  clients: number[];
  durationSec: number;
  trials: number;
  failoverTrials: number;
  warmup: number;
}

export const PROFILES: Record<"default" | "quick" | "full", Profile> = {
  default: { topologies: [1, 3], workloads: ["memory", "put", "range-l", "failover-kill-leader"], clients: [1, 100], durationSec: 5, trials: 2, failoverTrials: 1, warmup: 500 },
  quick: { topologies: [1, 3], workloads: ["put", "range-l", "failover-kill-leader"], clients: [1, 100], durationSec: 2, trials: 1, failoverTrials: 1, warmup: 100 },
  full: { topologies: [1, 3, 5, 7], workloads: ["memory", "put", "range", "txn-mixed", "http-put", "http-range", "failover"], clients: [1, 100], durationSec: 5, trials: 3, failoverTrials: 3, warmup: 500 },
};
export const DEFAULT_WORKLOADS = PROFILES.default.workloads;
const TOPOLOGIES = [1, 3, 5, 7];

export const FLAGS: FlagSpec[] = [
  { name: "topologies", type: "list", arg: "N,N", help: "cluster sizes to bring up (1, 3, 5, 7; --target hosts: --hosts instead)", default: "1,3 (--full: 1,3,5,7)" },
  { name: "full", type: "boolean", help: "the whole matrix: topologies 1,3,5,7, every workload but watch and lease, 3 trials (about an hour here)" },
  { name: "quick", type: "boolean", help: "a smoke run: topologies 1,3, put, range-l, kill-leader, 2 s trials, 1 trial (about 2 minutes)" },
  { name: "server", type: "string", arg: "NAME", help: 'server under test: "etcd-ts", "etcd" or a path to a server binary', default: "etcd-ts" },
  { name: "baseline", type: "string", arg: "NAME", help: 'run the same against this server of the same size ("etcd" when /usr/bin/etcd exists; "none" to skip)', default: "etcd" },
  { name: "workloads", type: "list", arg: "LIST", help: "memory, put, range (= range-l, range-s, range-keys-only, range-count-only), txn-mixed, http-put, http-range, put-idle-watchers, failover (= failover-kill-leader, -stop-leader, -kill-follower, -pause-leader), watch-latency, lease (= lease-churn, lease-keepalive, lease-expiry), partition (= partition-leader, -oneway, -flap; --target hosts only, in no profile)", default: `${PROFILES.default.workloads.join(",")} (--full: ${PROFILES.full.workloads.join(",")})` },
  { name: "endpoints", type: "list", arg: "URLS", help: "run against servers that already run (comma-separated client URLs); no cluster is started or stopped" },
  { name: "stack-outputs", type: "string", arg: "FILE", help: "run against a CDKTF-deployed stack, from its outputs file (cdktf deploy --outputs-file)" },
  { name: "clients", type: "list", arg: "N,N", help: "concurrent in-flight requests; each value is a run of every load workload", default: "1,100" },
  { name: "conns", type: "list", arg: "N,N", help: "gRPC connections, one value or one per --clients value (HTTP workloads: one connection per client)", default: "one per 10 clients: 1,10" },
  { name: "total", type: "int", help: "requests per trial of each load workload, instead of --duration" },
  { name: "duration", type: "number", arg: "S", help: "seconds per trial of each load workload", default: "5 (--quick: 2)" },
  { name: "rate", type: "int", help: "maximum requests per second over all clients (0 is no limit)", default: "0" },
  { name: "key-size", type: "int", help: "key size: digits after the run's key prefix", default: "8" },
  { name: "val-size", type: "int", help: "value size of put requests (and of the preloaded and memory keys)", default: "256" },
  { name: "key-space-size", type: "int", help: "maximum possible keys (also the keys preloaded for range, txn-mixed and http-range)", default: "1000" },
  { name: "sequential-keys", type: "boolean", help: "use sequential keys instead of random ones" },
  { name: "consistency", type: "string", arg: "l|s", help: "linearizable (l) or serializable (s) reads; with range, selects range-l or range-s only", default: "l" },
  { name: "rw-ratio", type: "number", help: "txn-mixed: read/write ops ratio", default: "1" },
  { name: "limit", type: "int", help: "txn-mixed and prefix ranges: range result limit", default: "1000" },
  { name: "trials", type: "int", help: "trials of each load workload (median and spread are reported)", default: "2 (--quick: 1, --full: 3)" },
  { name: "failover-trials", type: "int", help: "trials of each failover scenario", default: "1 (--full: 3)" },
  { name: "warmup", type: "int", help: "warm-up requests before each load trial, not counted", default: "500 (--quick: 100; with --total: 5% of it, at most 500)" },
  { name: "timeout", type: "int", arg: "MS", help: "per-request deadline (failover writers: at most 1000)", default: "5000" },
  { name: "workers", type: "int", help: "load generator processes (at most --conns)", default: "1" },
  { name: "target-leader", type: "boolean", help: "send the load to the leader only (default: every connection spreads its requests over every member, as clientv3 does)" },
  { name: "memory-keys", type: "int", help: "memory: keys written (--val-size values) between the two memory samples", default: "100000" },
  { name: "memory-settle", type: "int", arg: "S", help: "memory: sample again S seconds after the keys' sample, once the runtime had time to give back what the load grew (V8 does 30-90 s after a load, Go after its 2-minute forced GC; 0: no third sample)", default: "0" },
  { name: "put-rate", type: "int", help: "watch-latency: puts per second on the watched key", default: "100" },
  { name: "lease-ttl", type: "int", arg: "S", help: "lease-churn, lease-keepalive: TTL of the granted leases", default: "10" },
  { name: "expiry-ttl", type: "int", arg: "S", help: "lease-expiry: TTL of the leases whose expiry is timed (servers raise it to their minimum, 2 s with default timings)", default: "2" },
  { name: "expiry-leases", type: "int", help: "lease-expiry: leases per trial, granted spread over TTL + 1 s (--clients and --total do not apply)", default: "40" },
  { name: "idle-watchers", type: "int", help: "put-idle-watchers: prefix watchers held open during each trial, on prefixes no put matches", default: "50000" },
  { name: "pause-ms", type: "int", arg: "MS", help: "failover-pause-leader: how long the leader stays SIGSTOPped", default: "3000" },
  { name: "out", type: "string", arg: "DIR", help: "where result.json, summary.md and report.html go", default: "bench/results/<time>" },
  { name: "cross-check", type: "boolean", help: "check the load generator against etcdprobe instead (etcdkit bench --cross-check --help)" },
  { name: "from-result", type: "string", arg: "FILE", help: "only write summary.md and report.html again from a result.json" },
  { name: "quiet", type: "boolean", help: "no progress output" },
  { name: "insecure", type: "boolean", help: "bring clusters up plaintext (local, or --target hosts), without certificates (default: TLS on client and peer ports, as every deployment of the kit)" },
  { name: "tls", type: "boolean", help: "the cost of TLS: each topology (and --target hosts: each set of conditions) with TLS and then plaintext, for the server and the baseline, in the same run" },
  { name: "auth", type: "string", arg: "FILE", help: "bring the clusters up with this auth file applied (local: etcdkit local up --auth; --target hosts: the SSH deploy's cluster.auth; ansible-free-scripts/auth/README.md); the load logs in as root" },
  { name: "auth-cost", type: "boolean", help: "the cost of auth: each topology without auth and then with --auth FILE applied, for the server and the baseline, in the same run" },
  { name: "user", type: "string", arg: "NAME[:PW]", help: "with --endpoints or --stack-outputs: authenticate as this user (etcdctl's --user); the password after ':', else --password-file, else ETCDCTL_PASSWORD" },
  { name: "password-file", type: "string", arg: "FILE", help: "the password of --user (one trailing newline dropped)" },
  { name: "cacert", type: "string", arg: "FILE", help: "with https --endpoints: the CA of the members' certificates" },
  { name: "cert", type: "string", arg: "FILE", help: "with https --endpoints: the client certificate to present" },
  { name: "key", type: "string", arg: "FILE", help: "with https --endpoints: the client certificate's key" },
  ...HOSTS_FLAGS,
];

const USAGE = "etcdkit bench [options]";
const DESCRIPTION =
  "Brings up each topology with the local runner, runs the workloads against the server under test and against the\n" +
  "baseline of the same size, tears the clusters down, writes result.json (schema: bench/SCHEMA.md), summary.md\n" +
  "and report.html into --out and prints the headline table last. Without flags: 1 and 3 members, put and range-l\n" +
  "at 1 and 100 clients, a kill of the leader, memory (about 5 minutes on 2 cores); --full: the 1/3/5/7 matrix.\n" +
  "With --endpoints or --stack-outputs it runs once against servers that already run.\n" +
  "With --target hosts each cluster runs on namespace hosts made for it (own address, sshd, data dir, CPU cgroup),\n" +
  "deployed with the SSH deploy, its peer links shaped (--delay, --jitter, --loss, --bandwidth, --link) and cut by\n" +
  "the partition workloads; the profile (--quick, --full) and the load shapes apply there too, the sizes come from\n" +
  "--hosts, and every run records the conditions it ran under.\n" +
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
export function resolveOptions(flags: FlagValues): BenchOptionsRecord & { out: string | null; stackOutputs: string | null; hostsTarget: ResolvedHosts | null; clientTls: ClientTlsFiles | undefined; credentials: Credentials | undefined; authFile: string | undefined } {
  if (flags.quick && flags.full) throw new UsageError("--quick and --full exclude each other");
  const profileName = flags.full ? "full" : flags.quick ? "quick" : "default";
  const profile = PROFILES[profileName];
  // --target hosts takes its sizes from --hosts (instead of the profile's topologies); the rest of the profile applies.
  const hostsTarget = resolveHostsOptions(flags, TOPOLOGIES);
  if (hostsTarget) flags = { ...flags, topologies: hostsTarget.sizes.map(String) };
  const topologies = ((flags.topologies as string[] | undefined) ?? profile.topologies.map(String)).map((t) => {
    const n = Number(t);
    if (!TOPOLOGIES.includes(n)) throw new UsageError(`--topologies: ${t} is not a supported cluster size (${TOPOLOGIES.join(", ")})`);
    return n;
  });
  if (!topologies.length) throw new UsageError("--topologies is empty");
  const shapes = parseShapes(flags.conns as string[] | number | undefined, flags.clients as string[] | number | undefined, profile.clients);
  if (flags.total !== undefined && flags.duration !== undefined) throw new UsageError("--total and --duration exclude each other");
  const total = flags.total === undefined ? null : positiveInt(flags, "total", 0);
  const durationSec = total !== null ? null : flags.duration === undefined ? profile.durationSec : (flags.duration as number);
  if (durationSec !== null && !(durationSec > 0)) throw new UsageError("--duration must be > 0 seconds");
  const consistency = (flags.consistency as string | undefined) ?? "l";
  if (consistency !== "l" && consistency !== "s") throw new UsageError(`--consistency must be l (linearizable) or s (serializable), got "${consistency}"`);
  const rwRatio = (flags["rw-ratio"] as number | undefined) ?? 1;
  if (!(rwRatio > 0)) throw new UsageError("--rw-ratio must be > 0");
  const trials = positiveInt(flags, "trials", profile.trials);
  const failoverTrials = positiveInt(flags, "failover-trials", profile.failoverTrials);
  const warmup = positiveInt(flags, "warmup", total !== null ? Math.min(500, Math.ceil(total * 0.05)) : profile.warmup, 0);
  const endpoints = (flags.endpoints as string[] | undefined) ?? null;
  const stackOutputs = (flags["stack-outputs"] as string | undefined) ?? null;
  if (endpoints && stackOutputs) throw new UsageError("--endpoints and --stack-outputs exclude each other");
  if (endpoints && !endpoints.length) throw new UsageError("--endpoints is empty");
  const baselineFlag = (flags.baseline as string | undefined) ?? "etcd";
  const workloadNames = (flags.workloads as string[] | undefined) ?? profile.workloads;
  if (!workloadNames.length) throw new UsageError("--workloads is empty");
  let workloads: string[];
  try {
    workloads = expandWorkloads(workloadNames, flags.consistency !== undefined ? (consistency as Consistency) : null);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const targetLeader = Boolean(flags["target-leader"]);
  return {
    topologies,
    server: (flags.server as string | undefined) ?? "etcd-ts",
    baseline: baselineFlag === "none" || baselineFlag === "" ? null : baselineFlag,
    workloads,
    target: endpoints ? "endpoints" : stackOutputs ? "stack" : "local",
    endpoints,
    conns: shapes[0]!.conns,
    clients: shapes[0]!.clients,
    shapes,
    connections: targetLeader ? "leader" : "all-members",
    total,
    durationSec,
    rate: positiveInt(flags, "rate", 0, 0),
    keySize: positiveInt(flags, "key-size", 8),
    valSize: positiveInt(flags, "val-size", 256, 0),
    keySpaceSize: positiveInt(flags, "key-space-size", 1000),
    sequentialKeys: Boolean(flags["sequential-keys"]),
    consistency: consistency as Consistency,
    rwRatio,
    limit: positiveInt(flags, "limit", 1000),
    trials,
    failoverTrials,
    warmup,
    timeoutMs: positiveInt(flags, "timeout", 5000),
    workers: positiveInt(flags, "workers", 1),
    targetLeader,
    putRate: positiveInt(flags, "put-rate", 100),
    leaseTtl: positiveInt(flags, "lease-ttl", 10),
    expiryTtl: positiveInt(flags, "expiry-ttl", 2),
    expiryLeases: positiveInt(flags, "expiry-leases", 40),
    idleWatchers: positiveInt(flags, "idle-watchers", 50_000),
    memoryKeys: positiveInt(flags, "memory-keys", 100_000),
    memorySettleMs: positiveInt(flags, "memory-settle", 0, 0) * 1000,
    pauseMs: positiveInt(flags, "pause-ms", 3000),
    quick: profileName === "quick",
    profile: profileName,
    transports: transportsOf(flags, Boolean(endpoints || stackOutputs)),
    clientTls: clientTlsOf(flags, Boolean(endpoints)),
    ...authOf(flags, Boolean(endpoints || stackOutputs)),
    out: (flags.out as string | undefined) ?? null,
    stackOutputs,
    ...(hostsTarget ? { target: "hosts" as const, hosts: hostsTarget.record } : {}),
    hostsTarget,
  };
}

/** --tls: both ways; --insecure: plaintext; else TLS. Only local clusters are brought up either way. */
function transportsOf(flags: FlagValues, fixed: boolean): Transport[] {
  if (flags.tls && flags.insecure) throw new UsageError("--tls runs both ways; it excludes --insecure");
  if (fixed && (flags.tls || flags.insecure)) throw new UsageError("--tls and --insecure choose how local clusters are brought up: with --endpoints or --stack-outputs the URLs say it");
  return flags.tls ? ["tls", "plaintext"] : flags.insecure ? ["plaintext"] : ["tls"];
}

/** --user/--password-file for servers that already run; --auth FILE (with --auth-cost: also without) for the clusters the bench brings up, local or on --target hosts. */
function authOf(flags: FlagValues, fixed: boolean): { credentials: Credentials | undefined; authFile: string | undefined; authModes?: AuthMode[] } {
  const authFile = flags.auth as string | undefined;
  if (flags["auth-cost"] && authFile === undefined) throw new UsageError("--auth-cost runs each topology without and with auth: give the auth file with --auth FILE");
  let credentials: Credentials | undefined;
  try {
    credentials = credentialsFromFlags(flags.user as string | undefined, flags["password-file"] as string | undefined);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (credentials && !fixed) throw new UsageError("--user goes with --endpoints or --stack-outputs (with local clusters, --auth FILE brings them up with auth and logs in as root)");
  if (authFile !== undefined && fixed) throw new UsageError("--auth FILE brings the clusters the bench makes (local, --target hosts) up with auth on: with --endpoints or --stack-outputs use --user");
  if (authFile !== undefined) loadAuthFile(authFile);
  if (authFile === undefined) return { credentials, authFile: undefined };
  return { credentials, authFile: resolve(authFile), authModes: flags["auth-cost"] ? ["none", "auth"] : ["auth"] };
}

function clientTlsOf(flags: FlagValues, endpoints: boolean): ClientTlsFiles | undefined {
  const [ca, cert, key] = [flags.cacert, flags.cert, flags.key] as (string | undefined)[];
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if (!endpoints) throw new UsageError("--cacert, --cert and --key go with --endpoints (a stack's outputs carry them, local clusters and --target hosts make their own)");
  if (!ca || !cert || !key) throw new UsageError("give --cacert, --cert and --key together");
  return { ca: resolve(ca), cert: resolve(cert), key: resolve(key) };
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
  if (argv.includes("--cross-check")) return crossCheckMain(argv);
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
        const tls = opts.target === "stack" ? tlsFromStackOutputs(opts.stackOutputs!) : opts.clientTls;
        fixedTarget = await endpointsTarget(urls, opts.target, opts.server, 3000, tls);
        opts.endpoints = fixedTarget.endpoints();
        if (opts.credentials) {
          await authenticateEndpoints(opts.endpoints, opts.credentials);
          fixedTarget.auth = true;
        }
      } else if (opts.hostsTarget) {
        const why = labUnavailable() ?? sshdUnavailable();
        if (why) throw new Error(`--target hosts: ${why}`);
        factory = hostsFactory({ conditions: opts.hostsTarget.conditions, coresPerHost: opts.hostsTarget.record.coresPerHost, shaper: opts.hostsTarget.record.shaper, ...(opts.authFile !== undefined ? { authFile: opts.authFile } : {}) });
      } else {
        factory = localFactory(opts.authFile);
      }
    } catch (e) {
      err(e instanceof Error ? e.message : errorKind(e));
      return 2;
    }
    const outDir = resolve(opts.out ?? defaultOutDir());
    const { out: _o, stackOutputs: _s, hostsTarget: _h, clientTls: _t, credentials: _c, authFile: _a, ...record } = opts;
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
    // The headline last, so that it is what a terminal shows when the run ends.
    const headline = headlineTable(result);
    if (headline) process.stdout.write(`## Headline (${result.runs.map((x) => x.id).join(", ")})\n\n${renderHeadlineMarkdown(headline)}\n`);
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
