/**
 * A minimal stand-in for the local runner (same LocalCluster.up interface, see bench/target.ts), for real
 * etcd only: members on 127.0.0.1, each in its own temp data dir, killed by PID. The bench tests use it so
 * that they run against real etcd whatever state the project's local runner is in; the CLI tests point
 * ETCDKIT_LOCAL_RUNNER at this module.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { endpointStatus } from "../../../bench/etcd-client.js";

export const ETCD_BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";
export const haveEtcd = (): boolean => existsSync(ETCD_BIN);

interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  pid: number | null;
  dataDir: string;
  proc?: ChildProcess;
  started: boolean;
}

const all = new Set<EtcdProcCluster>();
process.on("exit", () => {
  for (const c of all) c.killAllSync();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface UpOptions {
  members: number;
  server: string;
  name?: string;
  basePort?: number;
  onProgress?: (msg: string) => void;
}

export class EtcdProcCluster {
  readonly members: Member[];
  private readonly root: string;
  private readonly initialCluster: string;

  constructor(private readonly opts: UpOptions) {
    const base = opts.basePort ?? 40000 + (process.pid % 200) * 50;
    this.root = mkdtempSync(join(tmpdir(), "etcdkit-bench-test-"));
    this.members = Array.from({ length: opts.members }, (_, i) => ({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${base + 2 * i}`,
      peerUrl: `http://127.0.0.1:${base + 2 * i + 1}`,
      pid: null,
      dataDir: join(this.root, `m${i}`),
      started: false,
    }));
    this.initialCluster = this.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    all.add(this);
  }

  endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  private member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  private spawnMember(m: Member): void {
    const log = openSync(join(this.root, `${m.name}.log`), "a");
    const args = [
      "--name", m.name,
      "--data-dir", m.dataDir,
      "--listen-client-urls", m.clientUrl,
      "--advertise-client-urls", m.clientUrl,
      "--listen-peer-urls", m.peerUrl,
      "--initial-advertise-peer-urls", m.peerUrl,
      "--initial-cluster", this.initialCluster,
      "--initial-cluster-state", m.started ? "existing" : "new",
      "--initial-cluster-token", `bench-test-${process.pid}`,
    ];
    const proc = spawn(ETCD_BIN, args, { stdio: ["ignore", log, log] });
    closeSync(log);
    m.proc = proc;
    m.pid = proc.pid ?? null;
    m.started = true;
    proc.on("exit", () => {
      if (m.proc === proc) m.pid = null;
    });
  }

  async startAll(): Promise<void> {
    for (const m of this.members) this.spawnMember(m);
    await this.waitHealthy();
  }

  async leader(): Promise<string | undefined> {
    for (const m of this.members) {
      if (!m.pid) continue;
      try {
        const s = await endpointStatus(m.clientUrl, 500);
        if (s.leaderId === "0") continue;
        for (const x of this.members) {
          if (!x.pid) continue;
          const xs = await endpointStatus(x.clientUrl, 500).catch(() => null);
          if (xs && xs.memberId === s.leaderId) return x.name;
        }
      } catch {
        /* next */
      }
    }
    return undefined;
  }

  private async waitExit(m: Member, ms: number): Promise<void> {
    const p = m.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await Promise.race([new Promise<void>((r) => p.once("exit", () => r())), sleep(ms)]);
  }

  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const m = this.member(name);
    m.proc?.kill(signal);
    if (signal === "SIGKILL" || signal === "SIGTERM") await this.waitExit(m, 10_000);
  }

  async stop(name: string): Promise<void> {
    const m = this.member(name);
    m.proc?.kill("SIGTERM");
    await this.waitExit(m, 10_000);
    if (m.pid) {
      m.proc?.kill("SIGKILL");
      await this.waitExit(m, 5000);
    }
  }

  async start(name: string): Promise<void> {
    const m = this.member(name);
    if (m.pid) return;
    this.spawnMember(m);
  }

  async pause(name: string): Promise<void> {
    this.member(name).proc?.kill("SIGSTOP");
  }

  async resume(name: string): Promise<void> {
    this.member(name).proc?.kill("SIGCONT");
  }

  /** Every running member answers Status and names the same, non-zero leader (bounded: 30 s). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < until) {
      try {
        const st = await Promise.all(this.members.filter((m) => m.pid).map((m) => endpointStatus(m.clientUrl, 1000)));
        const leaders = new Set(st.map((s) => s.leaderId));
        if (st.length === this.members.length && leaders.size === 1 && !leaders.has("0")) return;
        last = `leaders ${[...leaders].join(",")}`;
      } catch (e) {
        last = String((e as Error).message);
      }
      await sleep(100);
    }
    throw new Error(`etcd test cluster not healthy within ${timeoutMs} ms (${last})`);
  }

  killAllSync(): void {
    for (const m of this.members) {
      if (m.proc && m.proc.exitCode === null && m.proc.signalCode === null) {
        try {
          m.proc.kill("SIGCONT");
          m.proc.kill("SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  }

  async down(): Promise<void> {
    this.killAllSync();
    await Promise.all(this.members.map((m) => this.waitExit(m, 5000)));
    rmSync(this.root, { recursive: true, force: true });
    all.delete(this);
  }
}

export const LocalCluster = {
  async up(opts: UpOptions): Promise<EtcdProcCluster> {
    if (opts.server !== "etcd" && opts.server !== ETCD_BIN) throw new Error(`test cluster helper runs real etcd only (asked for ${opts.server})`);
    if (!haveEtcd()) throw new Error(`${ETCD_BIN} not found`);
    const c = new EtcdProcCluster(opts);
    try {
      await c.startAll();
    } catch (e) {
      await c.down();
      throw e;
    }
    return c;
  },
};
