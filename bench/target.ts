/**
 * What the suite runs against. A ClusterTarget is a set of members with client URLs, optionally with
 * process control (kill/stop/start/pause/resume) for the failover scenarios. Three kinds:
 *  - local:     clusters brought up and torn down by the local runner (ansible-free-scripts/local/cluster.ts);
 *  - endpoints: servers that already run (--endpoints URLS); never stopped by us;
 *  - stack:     a CDKTF-deployed stack, from its outputs file (--stack-outputs FILE);
 *  - hosts:     namespace hosts on this machine, deployed over SSH (--target hosts; bench/hosts-target.ts).
 */
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { LocalCluster } from "../ansible-free-scripts/local/cluster.js";
import { checkSize } from "../topology/topology.js";
import { checkEndpoints, EtcdChannel, normalizeUrl, unary } from "./etcd-client.js";
import type { RunConditions, TargetKind } from "./schema.js";
import { registerEndpointTls, type ClientTlsFiles } from "./endpoint-tls.js";
import { authenticateEndpoints, registerEndpointToken } from "./endpoint-auth.js";

export interface TargetMember {
  name: string;
  clientUrl: string;
  pid?: number | null;
}

export interface ClusterControl {
  kill(name: string, signal: NodeJS.Signals): Promise<void>;
  /** Graceful stop (SIGTERM and wait). */
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  waitHealthy(): Promise<void>;
}

/** Network partitions between members (by member name); every call replaces what it changes at once. */
export interface PartitionControl {
  /** Cuts `member` from every other member, both ways. */
  isolate(member: string): void;
  /** Drops what `from` sends to `to`. */
  cutOneWay(from: string, to: string): void;
  cut(a: string, b: string): void;
  heal(a: string, b: string): void;
  healAll(): void;
  /** The current cuts as "from>to" member names. */
  cuts(): string[];
}

export interface ClusterTarget {
  kind: TargetKind;
  server: string;
  size: number;
  members(): TargetMember[];
  endpoints(): string[];
  control: ClusterControl | null;
  /** Partition scenarios need it (the hosts target); absent elsewhere. */
  partitions?: PartitionControl | null;
  /** What the run's figures are measured under (the hosts target); absent elsewhere. */
  conditions?: RunConditions | null;
  down(): Promise<void>;
  /** TLS: the CA and client certificate the suite presents (registered for the endpoints); absent: plaintext. */
  tls?: ClientTlsFiles;
  /** Auth on: the suite's requests carry a token (bench/endpoint-auth.ts). */
  auth?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// The local runner (ansible-free-scripts/local/cluster.ts), imported as it is: one interface, checked by tsc.

export function localTarget(cluster: LocalCluster, server: string, size: number): ClusterTarget {
  const members = () => cluster.members.map((m) => ({ name: m.name, clientUrl: normalizeUrl(m.clientUrl), pid: m.pid ?? null }));
  let downed = false;
  registerEndpointTls(members().map((m) => m.clientUrl), cluster.tls);
  return {
    ...(cluster.tls ? { tls: cluster.tls } : {}),
    kind: "local",
    server,
    size,
    members,
    endpoints: () => members().map((m) => m.clientUrl),
    control: {
      kill: async (name, signal) => void (await cluster.kill(name, signal)),
      stop: async (name) => void (await cluster.stop(name)),
      start: async (name) => void (await cluster.start(name)),
      pause: async (name) => void (await cluster.pause(name)),
      resume: async (name) => void (await cluster.resume(name)),
      waitHealthy: async () => void (await cluster.waitHealthy()),
    },
    down: async () => {
      if (downed) return;
      downed = true;
      await cluster.down();
    },
  };
}

/** One set of conditions a factory brings clusters up under (the hosts target's --delay list); index into its list. */
export interface TargetVariant {
  readonly index: number;
}

/** How a factory brings one cluster up. */
export interface TargetOptions {
  /** The hosts target's conditions (absent: the first, or none for local clusters). */
  readonly variant?: TargetVariant;
  /** false: a plaintext cluster (--insecure); default true, as the kit deploys. */
  readonly tls?: boolean;
  /** false: without the factory's auth file (--auth-cost's run without auth); default: with it, if it has one. */
  readonly auth?: boolean;
}

export type TargetFactory = (members: number, server: string, signal: AbortSignal, onProgress?: (msg: string) => void, opts?: TargetOptions) => Promise<ClusterTarget>;

/** Clusters whose members must die with this process if it exits without tearing them down (crash, exit()). */
const liveClusters = new Set<LocalCluster>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const c of liveClusters) {
      for (const m of c.members) {
        if (!m.pid) continue;
        try {
          process.kill(m.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      // The cluster's directory was made by and for this run only.
      if (/bench-[^/]*$/.test(c.dir)) rmSync(c.dir, { recursive: true, force: true });
    }
  });
}

let clusterSeq = 0;
/** Brings clusters up with the local runner (it picks a free port block and a directory under .etcdkit/local/). */
export function localFactory(factoryAuthFile?: string): TargetFactory {
  return async (members, server, _signal, onProgress, opts) => {
    const tls = opts?.tls ?? true;
    const authFile = opts?.auth === false ? undefined : factoryAuthFile;
    const size = checkSize(members);
    installExitHook();
    const tag = `${process.pid.toString(36)}${(clusterSeq++).toString(36)}`;
    const name = `bench-${server.replace(/[^a-z0-9]/gi, "")}-${members}${tls ? "" : "-plain"}${authFile === undefined ? "" : "-auth"}-${tag}`;
    let cluster: LocalCluster;
    try {
      cluster = await LocalCluster.up({ members: size, server, name, insecure: !tls, ...(onProgress ? { onProgress } : {}), ...(authFile !== undefined ? { authFile } : {}) });
    } catch (e) {
      // The runner keeps a failed cluster's directory for diagnosis; the error already carries the log tail,
      // and the name is this run's own, so remove it rather than leave it behind.
      await LocalCluster.attach(resolve(".etcdkit", "local", name))
        .then((c) => c.down())
        .catch(() => undefined);
      throw new Error(String((e as Error).message).replace(/\n\(the cluster's files and logs are kept in [^)]*\)$/, ""));
    }
    liveClusters.add(cluster);
    const t = localTarget(cluster, server, members);
    // Ports are reused by later clusters: a token left registered from an earlier cluster with auth would be
    // sent to this one, which refuses it ("invalid auth token", even with auth off, as etcd does).
    registerEndpointToken(t.endpoints(), undefined);
    if (authFile !== undefined) {
      const creds = cluster.credentials?.();
      if (!creds) throw new Error(`the local runner did not turn auth on for ${name}`);
      try {
        await authenticateEndpoints(t.endpoints(), creds);
        t.auth = true;
      } catch (e) {
        await t.down().catch(() => undefined);
        liveClusters.delete(cluster);
        throw e;
      }
    }
    const down = t.down;
    t.down = async () => {
      try {
        await down();
      } finally {
        liveClusters.delete(cluster);
        registerEndpointToken(t.endpoints(), undefined);
      }
    };
    return t;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Servers that already run.

/** Names the members behind the given endpoints with MemberList (falls back to the URL). */
export async function endpointsTarget(urls: string[], kind: TargetKind = "endpoints", server = "etcd-ts", timeoutMs = 3000, tls?: ClientTlsFiles): Promise<ClusterTarget> {
  if (urls.length === 0) throw new Error("no endpoints given");
  const endpoints = urls.map(normalizeUrl);
  if (endpoints.some((e) => e.startsWith("https:")) && !tls) throw new Error("https endpoints need the CA and a client certificate: --cacert, --cert and --key (a stack's outputs carry them in `tls`)");
  registerEndpointTls(endpoints, tls);
  const statuses = await checkEndpoints(endpoints, timeoutMs);
  const names = new Map<string, string>();
  const ch = new EtcdChannel(endpoints[0]!);
  try {
    const res = await unary(ch.cluster(), "MemberList", {}, timeoutMs);
    for (const m of res.members ?? []) names.set(String(m.ID), String(m.name || m.ID));
  } catch {
    /* MemberList is optional for naming */
  } finally {
    ch.close();
  }
  const members = endpoints.map((u, i) => ({ name: names.get(statuses[i]!.memberId) ?? u, clientUrl: u, pid: null }));
  return {
    kind,
    server,
    size: members.length,
    members: () => members,
    endpoints: () => endpoints,
    control: null,
    down: async () => {},
    ...(tls ? { tls } : {}),
  };
}

/**
 * The client TLS files of a stack's outputs file: an output holding {cacert, cert, key} (the stacks' `tls`
 * output); undefined when there is none or it says insecure.
 */
export function tlsFromStackOutputs(file: string): ClientTlsFiles | undefined {
  const doc = JSON.parse(readFileSync(file, "utf8")) as unknown;
  let found: ClientTlsFiles | undefined;
  const visit = (v: unknown) => {
    if (!v || typeof v !== "object" || Array.isArray(v) || found) return;
    const o = v as Record<string, unknown>;
    if (typeof o.cacert === "string" && typeof o.cert === "string" && typeof o.key === "string") found = { ca: o.cacert, cert: o.cert, key: o.key };
    else for (const x of Object.values(o)) visit(x);
  };
  visit(doc);
  return found;
}

/**
 * Client URLs out of a CDKTF outputs file (`cdktf deploy --outputs-file`): {stack: {output: value}}.
 * Accepted outputs: an array of URLs or a comma-separated string under a name containing "endpoint" or
 * "client_url"/"clientUrl", or an array of {name, clientUrl} under "members".
 */
export function endpointsFromStackOutputs(file: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read stack outputs ${file}: ${(e as Error).message}`);
  }
  const found: string[] = [];
  const visit = (v: unknown, key: string) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) visit(x, k);
      return;
    }
    if (/members/i.test(key) && Array.isArray(v)) {
      for (const m of v) if (m && typeof m === "object" && typeof (m as { clientUrl?: unknown }).clientUrl === "string") found.push((m as { clientUrl: string }).clientUrl);
      return;
    }
    if (/endpoint|client_?urls?/i.test(key)) {
      const list = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : [];
      for (const x of list) if (typeof x === "string" && x.trim()) found.push(x.trim());
    }
  };
  visit(doc, "");
  const uniq = [...new Set(found.map(normalizeUrl))];
  if (uniq.length === 0) throw new Error(`no client endpoints found in stack outputs ${file} (expected an output named like "endpoints" or "client_urls")`);
  return uniq;
}
