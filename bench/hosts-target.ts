/**
 * `--target hosts`: each cluster runs on N namespace hosts made for it (ansible-free-scripts/hosts/
 * lab.ts: own address, sshd, filesystem, CPU cgroup; a link shaper on every peer link), deployed
 * with etcdkit's SSH deploy exactly as on separate machines, and removed without a trace after.
 *
 * Control for the failover scenarios: kill and pause signal the member's process (pid from its
 * service's pid file on its host; the service manager restarts a killed member, as systemd's
 * Restart=always does); stop and start go through the host's service manager over ssh. Partitions
 * are nftables cuts inside the hosts (partition.ts); clients (the bench) keep reaching every member.
 * TLS by default, as the SSH deploy: the target registers the deployment's root client certificate
 * for its endpoints, so every client of the suite presents it; `opts.tls === false` deploys plaintext.
 * With an auth file (--auth) the SSH deploy applies it (cluster.auth) and the suite logs in as root with
 * the password the file names; `opts.auth === false` (--auth-cost's run without auth) leaves it out.
 */
import { isHealthy, waitFor } from "../ansible-free-scripts/common/health.js";
import { HostsLab } from "../ansible-free-scripts/hosts/lab.js";
import { conditionsTag, type NetworkConditions } from "../ansible-free-scripts/hosts/link-conditions.js";
import { Partitions } from "../ansible-free-scripts/hosts/partition.js";
import { loadAuthFile, resolvePasswords } from "../ansible-free-scripts/auth/auth-file.js";
import { normalizeUrl } from "./etcd-client.js";
import { authenticateEndpoints, registerEndpointToken } from "./endpoint-auth.js";
import { registerEndpointTls, type ClientTlsFiles } from "./endpoint-tls.js";
import type { RunConditions } from "./schema.js";
import type { ClusterControl, ClusterTarget, PartitionControl, TargetFactory } from "./target.js";

export interface HostsTargetOptions {
  /** One entry per set of runs (the --delay list, each with the shared jitter, loss, bandwidth and --link). */
  readonly conditions: readonly NetworkConditions[];
  readonly coresPerHost: number | null;
  readonly shaper: boolean;
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
  /** --auth FILE: applied by the deploy; the suite authenticates as root. */
  readonly authFile?: string;
}

const hostOf = (member: string) => member.replace(/^etcd-/, "host-");

function partitionControl(lab: HostsLab): PartitionControl {
  const parts = new Partitions(lab.net);
  const memberOf = (host: string) => host.replace(/^host-/, "etcd-");
  return {
    isolate: (m) => parts.isolate(hostOf(m)),
    cutOneWay: (a, b) => parts.cutOneWay(hostOf(a), hostOf(b)),
    cut: (a, b) => parts.cut(hostOf(a), hostOf(b)),
    heal: (a, b) => parts.heal(hostOf(a), hostOf(b)),
    healAll: () => parts.healAll(),
    cuts: () => (parts.describe() === "none" ? [] : parts.describe().split(", ").map((c) => c.split(">").map(memberOf).join(">"))),
  };
}

function control(lab: HostsLab, log: (m: string) => void, tls: ClientTlsFiles | undefined): ClusterControl {
  const waitGone = async (pid: number) => {
    await waitFor(async () => !isAlive(pid), 10_000, `pid ${pid} to exit`, undefined, 20);
  };
  return {
    kill: async (name, signal) => {
      const pid = lab.signal(name, signal);
      if (signal === "SIGKILL" || signal === "SIGTERM") await waitGone(pid);
    },
    stop: (name) => lab.service(name, "stop", log),
    start: (name) => lab.service(name, "start", log),
    pause: async (name) => void lab.signal(name, "SIGSTOP"),
    resume: async (name) => void lab.signal(name, "SIGCONT"),
    waitHealthy: async () => {
      const urls = lab.members().map((m) => m.clientUrl);
      await waitFor(async () => (await Promise.all(urls.map((u) => isHealthy(u, 1000, tls)))).every(Boolean), 120_000, `every member of ${urls.join(", ")} to be healthy`);
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The ClusterTarget of a lab on which a cluster of `server` is deployed. A TLS deployment's CA and root
 * client certificate are registered for its endpoints, so every client of the suite (load, partition and
 * stale-read probes, failover, health) speaks TLS to it.
 */
export function hostsTarget(lab: HostsLab, server: string, conditions: RunConditions, log: (m: string) => void): ClusterTarget {
  const members = () => lab.members().map((m) => ({ name: m.name, clientUrl: normalizeUrl(m.clientUrl), pid: lab.memberPid(m.name) }));
  const tls = lab.clientTls ?? undefined;
  registerEndpointTls(members().map((m) => m.clientUrl), tls);
  return {
    ...(tls ? { tls } : {}),
    kind: "hosts",
    server,
    size: lab.net.hosts.length,
    members,
    endpoints: () => members().map((m) => m.clientUrl),
    control: control(lab, log, tls),
    partitions: partitionControl(lab),
    conditions,
    down: () => lab.destroy(),
  };
}

export function runConditions(lab: HostsLab): RunConditions {
  const r = lab.record();
  return { target: "hosts", tag: lab.shaped ? conditionsTag(lab.conditions) : "direct", deploy: "ssh", ...r };
}

/** Brings each cluster up on a lab of its own, under the variant's conditions. */
export function hostsFactory(o: HostsTargetOptions): TargetFactory {
  return async (members, server, _signal, onProgress, opts) => {
    const index = opts?.variant?.index ?? 0;
    const conditions = o.conditions[index];
    if (!conditions) throw new Error(`no network conditions #${index}`);
    const log = onProgress ?? (() => undefined);
    const authFile = opts?.auth === false ? undefined : o.authFile;
    // Root's password is read before any host is made: a missing one changes nothing.
    const rootPassword = authFile === undefined ? undefined : resolvePasswords(loadAuthFile(authFile)).get("root");
    if (authFile !== undefined && rootPassword === undefined) throw new Error(`${authFile}: the suite logs in as root, and the file names no root user`);
    const lab = await HostsLab.create({ hosts: members, conditions, coresPerHost: o.coresPerHost, shaper: o.shaper, signalHooks: false, log });
    try {
      await lab.deploy(server, log, { heartbeatMs: o.heartbeatMs, electionMs: o.electionMs, insecure: opts?.tls === false, ...(authFile !== undefined ? { auth: authFile } : {}) });
      const t = hostsTarget(lab, server, runConditions(lab), log);
      // Labs reuse addresses: forget any token an earlier cluster registered for them.
      registerEndpointToken(t.endpoints(), undefined);
      const destroy = t.down;
      t.down = async () => {
        registerEndpointToken(t.endpoints(), undefined);
        await destroy();
      };
      if (rootPassword !== undefined) {
        await authenticateEndpoints(t.endpoints(), { user: "root", password: rootPassword });
        t.auth = true;
      }
      return t;
    } catch (e) {
      await lab.destroy().catch((d: Error) => log(d.message));
      throw e;
    }
  };
}
