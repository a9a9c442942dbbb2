/**
 * The kit's `hosts` target: N namespace hosts on this machine that the SSH deploy treats exactly as
 * separate machines. Each host has its own network namespace and address on the lab bridge
 * (./netns.ts), its own loopback, its own sshd on its address with keys made for the lab
 * (./sshd.ts), its own deploy/env/data directories (a private mount namespace binds the host's
 * directory on the lab's shared path), optionally its own CPU cgroup (./cgroup.ts), and, on every
 * peer link, a userspace link shaper (./shaper.ts) that adds the asked-for delay, jitter, loss and
 * bandwidth cap. `destroy()` removes all of it and proves it: no namespace, process, mount, file,
 * cgroup or user of the lab is left.
 *
 *   const lab = await HostsLab.create({ hosts: 3, conditions });
 *   const inv = await lab.deploy("etcd-ts", log);   // etcdkit's SSH deploy, over each host's sshd
 *   ...                                              // lab.net + Partitions cut links
 *   await lab.destroy();
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { which } from "../common/paths.js";
import type { ClientTlsFiles } from "../common/health.js";
import { deploy, teardown } from "../ssh/deploy.js";
import { parseInventory, type Inventory } from "../ssh/inventory.js";
import { SshRemote } from "../ssh/remote.js";
import { serviceScript } from "../ssh/scripts.js";
import { HostCgroups, type CpuIsolation } from "./cgroup.js";
import { checkLink, type LinkCheck } from "./link-check.js";
import { describeConditions, UNSHAPED, type NetworkConditions } from "./link-conditions.js";
import { startShapers, type HostShaper } from "./lab-shapers.js";
import { createServiceUser, labDirOf, mountsUnder, removeServiceUser, removeStaleHostsLabs, stillRunning, userExists, userLeftovers } from "./lab-traces.js";
import { NetLab, type LabHost, type LabProcess } from "./netns.js";
import { labSshOptions, makeLabKeys, PRIVSEP_DIR, sshdUnavailable, startSshd, waitSshd, type LabSshKeys } from "./sshd.js";

export const PEER_PORT = 2380;
export const CLIENT_PORT = 2379;

export interface HostsLabOptions {
  /** Number of hosts (1-7). */
  readonly hosts: number;
  /** Conditions of the peer links (default: none, still through the shaper unless `shaper` is false). */
  readonly conditions?: NetworkConditions;
  /** Put the link shaper on the peer links (default true). Without it, conditions must be none. */
  readonly shaper?: boolean;
  /** Cap each host at this many cores (cgroup); null: equal weights only. */
  readonly coresPerHost?: number | null;
  /** Measure host 1 → host 2 (shaped and direct) before anything is deployed (default: with 2+ hosts). */
  readonly checkLink?: boolean;
  /** Destroy on SIGINT/SIGTERM and exit (default true; the bench handles its signals itself). */
  readonly signalHooks?: boolean;
  readonly log?: (line: string) => void;
}

/** What a figure measured on the lab ran under: the result file's `conditions`. */
export interface HostsLabRecord {
  hosts: number;
  addresses: string[];
  conditions: NetworkConditions;
  /** describeConditions(conditions). */
  conditionsText: string;
  /** How the peer links were shaped. */
  shaper: "userspace-proxy" | "none";
  /** Client (bench) ↔ member traffic is never shaped. */
  clientPath: "unshaped";
  isolation: CpuIsolation;
  /** systemd or supervisor, as the deploy found it on the hosts (null before a deploy). */
  serviceManager: string | null;
  linkCheck: LinkCheck | null;
}

export interface LabDeployOptions {
  heartbeatMs?: number;
  electionMs?: number;
  /** Plaintext (no certificates); default TLS, as the SSH deploy. */
  insecure?: boolean;
  /** An auth file on this machine: the SSH deploy applies it once the members are healthy (cluster.auth). */
  auth?: string;
}

export interface DeployedMember {
  readonly name: string;
  readonly host: LabHost;
  readonly clientUrl: string;
}

export class HostsLab {
  private shapers: HostShaper[] = [];
  private readonly sshds: LabProcess[] = [];
  private createdPrivsep = false;
  private inv: Inventory | null = null;
  private serviceManager: string | null = null;
  private linkCheck: LinkCheck | null = null;
  private pidsSeen: number[] = [];
  private destroyed = false;

  private constructor(
    readonly net: NetLab,
    readonly dir: string,
    readonly user: string,
    readonly cgroups: HostCgroups,
    readonly conditions: NetworkConditions,
    readonly shaped: boolean,
    private readonly log: (line: string) => void,
  ) {}

  static async create(o: HostsLabOptions): Promise<HostsLab> {
    if (!(Number.isInteger(o.hosts) && o.hosts >= 1 && o.hosts <= 7)) throw new Error(`a hosts lab has 1 to 7 hosts, not ${o.hosts}`);
    const why = sshdUnavailable();
    if (why) throw new Error(`cannot make namespace hosts: ${why}`);
    const shaped = o.shaper ?? true;
    const conditions = o.conditions ?? UNSHAPED;
    if (!shaped && describeConditions(conditions) !== describeConditions(UNSHAPED)) throw new Error("link conditions need the link shaper");
    removeStaleHostsLabs();
    const net = NetLab.create(Array.from({ length: o.hosts }, (_, i) => `host-${i + 1}`), { signalHooks: o.signalHooks ?? true });
    let lab: HostsLab | undefined;
    try {
      const dir = labDirOf(net.tag);
      const cgroups = HostCgroups.create(net.tag, net.hosts.map((h) => h.name), o.coresPerHost ?? null);
      lab = new HostsLab(net, dir, net.tag, cgroups, conditions, shaped, o.log ?? (() => undefined));
      net.onDestroy(() => lab!.cleanup());
      await lab.build(o);
      return lab;
    } catch (e) {
      if (lab) await lab.destroy().catch(() => undefined);
      else await net.destroy().catch(() => undefined);
      throw e;
    }
  }

  hostDir(h: LabHost): string {
    return join(this.dir, "hosts", h.name);
  }

  /** The host's own filesystem tree, seen by its sessions at `sharedFs`. */
  hostFs(h: LabHost): string {
    return join(this.hostDir(h), "fs");
  }

  /** The path every host sees its own tree at (empty outside the hosts). */
  get sharedFs(): string {
    return join(this.dir, "fs");
  }

  private async build(o: HostsLabOptions): Promise<void> {
    for (const d of [this.dir, join(this.dir, "hosts"), this.sharedFs]) mkdirSync(d, { mode: 0o755 });
    for (const h of this.net.hosts) mkdirSync(this.hostFs(h), { recursive: true, mode: 0o755 });
    this.log(`hosts lab ${this.net.tag}: ${this.net.hosts.map((h) => `${h.name} ${h.addr}`).join(", ")}; ${this.cgroups.isolation.detail}`);
    if (!userExists(this.user)) createServiceUser(this.user);
    const keys = makeLabKeys(this.dir, this.net.hosts, (h) => this.hostDir(h));
    if (!existsSync(PRIVSEP_DIR)) {
      mkdirSync(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
      this.createdPrivsep = true;
    }
    for (const h of this.net.hosts) {
      const p = startSshd(this.net, h, this.hostDir(h), this.hostFs(h), this.sharedFs, keys);
      this.cgroups.add(h.name, p.pid);
      this.sshds.push(p);
    }
    await Promise.all(this.net.hosts.map((h, i) => waitSshd(h, this.sshds[i]!, 30_000, join(this.hostDir(h), "sshd.log"))));
    this.keys = keys;
    if (this.shaped) {
      this.shapers = await startShapers(this.net, (h) => this.hostDir(h), PEER_PORT, this.conditions);
      this.log(`link shapers on every peer link: ${describeConditions(this.conditions)}`);
    }
    if ((o.checkLink ?? this.net.hosts.length >= 2) && this.net.hosts.length >= 2 && this.shaped) {
      this.linkCheck = await checkLink(this.net, (h) => this.hostDir(h), this.conditions, { fromIdx: 0, toIdx: 1, peerPort: PEER_PORT });
    }
  }

  private keys: LabSshKeys | null = null;

  /** The SSH inventory for these hosts: one member per host, the lab's keys, paths under the shared fs path. */
  inventoryDoc(server: string, o: LabDeployOptions & { name?: string } = {}): Record<string, unknown> {
    if (!this.keys) throw new Error("the lab is not built");
    const fs = this.sharedFs;
    const etcd = which("etcd") ?? "/usr/bin/etcd";
    return {
      cluster: {
        name: o.name ?? `lab-${this.net.hosts.length}`,
        server,
        user: this.user,
        // The machine's systemd (if one runs) would start units outside the host's namespaces.
        serviceManager: existsSync("/run/systemd/system") ? "supervisor" : "auto",
        deployDir: `${fs}/opt/etcdkit`,
        envDir: `${fs}/etc/etcdkit`,
        dataDir: `${fs}/var/lib/etcdkit`,
        unitDir: `${fs}/etc/systemd/system`,
        nodePath: process.execPath,
        etcdPath: etcd,
        token: `${this.net.tag}-${server.replace(/[^A-Za-z0-9._-]/g, "")}`.slice(0, 255),
        heartbeatMs: o.heartbeatMs ?? 100,
        electionMs: o.electionMs ?? 1000,
        healthTimeoutMs: 120_000,
        // TLS as every deployment of the kit (unless insecure): the PKI stays in the lab's own directory on
        // this machine, and each host gets its member's certificates under its own tree.
        insecure: o.insecure === true,
        pkiDir: join(this.dir, "pki"),
        certDir: `${fs}/etc/etcdkit/pki`,
        ...(o.auth !== undefined ? { auth: o.auth } : {}),
      },
      hosts: this.net.hosts.map((h, i) => ({
        address: h.addr,
        name: `etcd-${i + 1}`,
        clientPort: CLIENT_PORT,
        peerPort: PEER_PORT,
        ssh: { user: "root", port: 22, identity: this.keys!.identity, options: labSshOptions(this.keys!) },
      })),
    };
  }

  /** Deploys a cluster of `server` with etcdkit's SSH deploy (one member per host) and waits for health. */
  async deploy(server: string, log: (line: string) => void, o: LabDeployOptions = {}): Promise<Inventory> {
    const inv = parseInventory(this.inventoryDoc(server, o));
    this.inv = inv;
    await deploy(inv, {
      remote: new SshRemote(false, log),
      log: (l) => {
        const m = /reachable, (systemd|supervisor)/.exec(l) ?? /^mode=(systemd|supervisor)$/m.exec(l);
        if (m) this.serviceManager = m[1]!;
        log(l);
      },
    });
    return inv;
  }

  get inventory(): Inventory | null {
    return this.inv;
  }

  /** The deployed cluster's CA and root client certificate (null before a deploy, or plaintext). */
  get clientTls(): ClientTlsFiles | null {
    const t = this.inv?.plan.clientTls;
    return t && !this.inv?.plan.insecure ? { ca: t.ca, cert: t.cert, key: t.key } : null;
  }

  members(): DeployedMember[] {
    if (!this.inv) return [];
    return this.inv.members.map((m, i) => ({ name: m.name, host: this.net.hosts[i]!, clientUrl: m.plan.clientUrl }));
  }

  /** The member's current pid, from its service's pid file on its host (null when not running). */
  memberPid(name: string): number | null {
    const i = this.members().findIndex((m) => m.name === name);
    if (i < 0 || !this.inv) return null;
    const rel = this.inv.cluster.deployDir.slice(this.sharedFs.length);
    try {
      const pid = Number(readFileSync(join(this.hostFs(this.net.hosts[i]!), rel, "run", `${name}.pid`), "utf8").trim());
      return Number.isInteger(pid) && pid > 0 && stillRunning([pid]).length === 1 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Sends a signal to the member's process (as `kill` on its host would). */
  signal(name: string, sig: NodeJS.Signals): number {
    const pid = this.memberPid(name);
    if (pid === null) throw new Error(`${name} is not running`);
    process.kill(pid, sig);
    return pid;
  }

  /** Starts or stops a member through its host's service manager, over ssh. */
  async service(name: string, action: "start" | "stop", log: (line: string) => void = this.log): Promise<void> {
    const inv = this.inv;
    const m = inv?.members.find((x) => x.name === name);
    if (!inv || !m) throw new Error(`no deployed member ${name}`);
    const r = await new SshRemote(false, log).run(m.ssh, serviceScript(inv.cluster, name, action), `${action} ${name}`, { sudo: false, timeoutMs: 120_000 });
    if (r.stdout) log(r.stdout);
  }

  /** etcdkit's SSH teardown of the deployed cluster (the lab's destroy removes everything anyway). */
  async sshTeardown(log: (line: string) => void = this.log): Promise<void> {
    if (this.inv) await teardown(this.inv, { remote: new SshRemote(false, log), log });
  }

  record(): HostsLabRecord {
    return {
      hosts: this.net.hosts.length,
      addresses: this.net.hosts.map((h) => h.addr),
      conditions: this.conditions,
      conditionsText: this.shaped ? describeConditions(this.conditions) : "no shaper",
      shaper: this.shaped ? "userspace-proxy" : "none",
      clientPath: "unshaped",
      isolation: this.cgroups.isolation,
      serviceManager: this.serviceManager,
      linkCheck: this.linkCheck,
    };
  }

  /** Idempotent clean-up of what is not a namespace (run on destroy and by the exit hook). */
  private cleanup(): void {
    this.cgroups.destroy();
    try {
      removeServiceUser(this.user);
    } catch {
      /* its processes may not have exited yet: destroy() retries */
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (this.createdPrivsep && !sshdRunning()) {
      try {
        rmdirSync(PRIVSEP_DIR);
        this.createdPrivsep = false;
      } catch {
        /* not empty or gone */
      }
    }
  }

  /** Kills everything, removes everything, and throws if anything of the lab is left. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pidsSeen = [...new Set([...this.net.pidsInside(), ...this.net.hosts.flatMap((h) => this.cgroups.pids(h.name)), ...this.sshds.map((p) => p.pid), ...this.shapers.map((s) => s.proc.pid)])];
    await this.net.destroy().catch((e: Error) => this.log(e.message));
    for (let i = 0; i < 100 && stillRunning(this.pidsSeen).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      this.cleanup();
      left = this.leftovers();
      if (left.length === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`hosts lab ${this.net.tag} not fully removed: ${left.join(", ")}`);
  }

  /** Everything of the lab that still exists: namespaces, processes, mounts, files, cgroups, user. */
  leftovers(): string[] {
    return [
      ...this.net.leftovers().map((n) => `namespace/interface ${n}`),
      ...stillRunning(this.pidsSeen).map((p) => `process ${p}`),
      ...mountsUnder(this.dir).map((m) => `mount ${m}`),
      ...(existsSync(this.dir) ? [`directory ${this.dir}`] : []),
      ...this.cgroups.leftovers().map((c) => `cgroup ${c}`),
      ...userLeftovers(this.user),
    ];
  }
}

function sshdRunning(): boolean {
  for (const p of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sshd") return true;
    } catch {
      /* gone */
    }
  }
  return false;
}
