/**
 * TLS clusters of etcd-ts or etcd 3.4 on 127.0.0.1 for the tests in test/tls/: https:// client and peer URLs with
 * the certificates of one `etcdkit pki` directory (pki/), or peer auto-TLS. Every process is started and killed by
 * its PID (the shared launcher, launcher.ts, builds the flags and spawns); stop() kills what is left and removes the data.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { caPaths, clientPaths, memberTlsFlags, peerPaths, serverPaths } from "../../pki/layout.js";
import { ensurePki } from "../../pki/pki.js";
import { ELECTION_MS, freePort, HEARTBEAT_MS, memberFlags, spawnMember, type Flavor } from "./launcher.js";

export interface TlsClusterOptions {
  readonly flavor: Flavor;
  readonly size: number;
  /** Parent directory: the cluster writes <dir>/<name>.data and <name>.log. */
  readonly dir: string;
  /** The `etcdkit pki` directory (made for the member names m1..mN when missing). */
  readonly pki: string;
  /** Peers over --peer-auto-tls instead of the PKI's peer certificates. */
  readonly peerAutoTls?: boolean;
  /** The client port over --auto-tls (no client certificates: etcd's auto-TLS verifies no client). */
  readonly clientAutoTls?: boolean;
  /** Extra flags for a member. */
  readonly extraFlags?: (name: string) => readonly string[];
  /** Member names (default m1..mN). */
  readonly names?: readonly string[];
  /** The members start() waits to be healthy (default: all). */
  readonly healthy?: readonly string[];
}

export interface TlsMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  child?: ChildProcess;
  exited?: Promise<number | NodeJS.Signals>;
}

export class TlsCluster {
  private constructor(
    readonly opts: TlsClusterOptions,
    readonly members: TlsMember[],
    readonly token: string,
  ) {}

  static async start(opts: TlsClusterOptions): Promise<TlsCluster> {
    const names = opts.names ?? Array.from({ length: opts.size }, (_, i) => `m${i + 1}`);
    // an existing PKI is used as it is (a test may have replaced some of its certificates)
    if (!existsSync(caPaths(opts.pki).cert)) await ensurePki({ dir: opts.pki, members: names.map((name) => ({ name, hosts: [name] })), clients: ["alice"] });
    mkdirSync(opts.dir, { recursive: true });
    const members: TlsMember[] = [];
    for (const name of names) {
      const [cp, pp] = [await freePort(), await freePort()];
      members.push({ name, clientUrl: `https://127.0.0.1:${cp}`, peerUrl: `https://127.0.0.1:${pp}`, dataDir: join(opts.dir, `${name}.data`), logFile: join(opts.dir, `${name}.log`) });
    }
    const c = new TlsCluster(opts, members, `tls-${process.pid}-${Date.now()}`);
    for (const m of members) c.spawn(m, "new");
    await Promise.all((opts.healthy ?? names).map((n) => c.waitHealthy(n)));
    return c;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  member(name: string): TlsMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** The server flags of a member (without the cluster's URLs). */
  tlsFlags(name: string): string[] {
    if (this.opts.clientAutoTls) {
      const p = peerPaths(this.opts.pki, name);
      return ["--auto-tls", `--peer-cert-file=${p.cert}`, `--peer-key-file=${p.key}`, `--peer-trusted-ca-file=${caPaths(this.opts.pki).cert}`, "--peer-client-cert-auth"];
    }
    if (!this.opts.peerAutoTls) return memberTlsFlags(this.opts.pki, name);
    const s = serverPaths(this.opts.pki, name);
    return [`--cert-file=${s.cert}`, `--key-file=${s.key}`, `--trusted-ca-file=${caPaths(this.opts.pki).cert}`, "--client-cert-auth", "--peer-auto-tls"];
  }

  spawn(m: TlsMember, state: "new" | "existing", initialCluster = this.initialCluster()): void {
    const flags = [
      ...memberFlags({ ...m, initialCluster, state, token: this.token, heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS }),
      "--logger=zap",
      ...this.tlsFlags(m.name),
      ...(this.opts.extraFlags?.(m.name) ?? []),
    ];
    const proc = spawnMember({ flavor: this.opts.flavor, flags, logFile: m.logFile });
    m.child = proc.child;
    m.exited = proc.exited;
  }

  initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  }

  running(name: string): boolean {
    const c = this.member(name).child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  async kill(name: string, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const m = this.member(name);
    if (this.running(name)) m.child!.kill(signal);
    await m.exited;
  }

  /**
   * A new member (after `etcdctl member add`): certificates added to the PKI, started with
   * --initial-cluster-state=existing, waited for.
   */
  async join(name: string, peerUrl: string): Promise<TlsMember> {
    await ensurePki({ dir: this.opts.pki, members: [...this.members.map((m) => ({ name: m.name, hosts: [m.name] })), { name, hosts: [name] }], clients: ["alice"] });
    const cp = await freePort();
    const m: TlsMember = { name, clientUrl: `https://127.0.0.1:${cp}`, peerUrl, dataDir: join(this.opts.dir, `${name}.data`), logFile: join(this.opts.dir, `${name}.log`) };
    this.members.push(m);
    this.spawn(m, "existing");
    await this.waitHealthy(name);
    return m;
  }

  /** Starts a killed member again on its data. */
  async restart(name: string): Promise<void> {
    this.spawn(this.member(name), "existing");
    await this.waitHealthy(name);
  }

  /** GET on a member's client URL with the root client certificate. */
  get(name: string, path: string): Promise<{ status: number; body: string }> {
    return httpsGet(this.member(name).clientUrl + path, this.opts.pki, this.opts.clientAutoTls ? null : "root", 2000, !this.opts.clientAutoTls);
  }

  async waitHealthy(name: string, timeoutMs = 30_000): Promise<void> {
    const m = this.member(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running(name)) throw new Error(`${this.opts.flavor} ${name} exited:\n${this.log(name).slice(-3000)}`);
      try {
        const r = await this.get(name, "/health");
        if (r.status === 200 && JSON.parse(r.body).health === "true") return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`${this.opts.flavor} ${name} not healthy at ${m.clientUrl}:\n${this.log(name).slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  log(name: string): string {
    try {
      return readFileSync(this.member(name).logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** etcdctl flags for the root client certificate. */
  ctlFlags(user = "root"): string[] {
    const c = clientPaths(this.opts.pki, user);
    return [`--cacert=${caPaths(this.opts.pki).cert}`, `--cert=${c.cert}`, `--key=${c.key}`];
  }

  /** The member that says it leads (etcd_server_is_leader on /metrics), waiting for one among the running members. */
  async leader(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of this.members.filter((x) => this.running(x.name))) {
        try {
          const r = await this.get(m.name, "/metrics");
          if (/^etcd_server_is_leader 1$/m.test(r.body)) return m.name;
        } catch {
          /* down or busy */
        }
      }
      if (Date.now() > deadline) throw new Error("no leader");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.name)));
    for (const m of this.members) rmSync(m.dataDir, { recursive: true, force: true });
  }
}

/** GET over https with the PKI's CA and a client certificate (root unless `user`). */
export function httpsGet(url: string, pki: string, user: string | null = "root", timeoutMs = 2000, verify = true): Promise<{ status: number; body: string }> {
  return httpsRequest(url, pki, { method: "GET", user, timeoutMs, verify });
}

/**
 * POST over https with the PKI's CA and a client certificate (`user`), exactly the headers given
 * (node sends no Accept of its own: a test can tell etcd's gateway a request with one from one without).
 */
export function httpsPost(url: string, pki: string, user: string | null, body: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ status: number; body: string; contentType?: string }> {
  return httpsRequest(url, pki, { method: "POST", user, timeoutMs, verify: true, body, headers });
}

function httpsRequest(
  url: string,
  pki: string,
  o: { method: string; user: string | null; timeoutMs: number; verify: boolean; body?: string; headers?: Record<string, string> },
): Promise<{ status: number; body: string; contentType?: string }> {
  const client = o.user ? clientPaths(pki, o.user) : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method,
        headers: { ...(o.body !== undefined ? { "content-length": String(Buffer.byteLength(o.body)) } : {}), ...(o.headers ?? {}) },
        ca: readFileSync(caPaths(pki).cert),
        rejectUnauthorized: o.verify,
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
        agent: false,
        timeout: o.timeoutMs,
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers["content-type"] ? { contentType: res.headers["content-type"] } : {}) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(o.body);
  });
}

export { peerPaths, serverPaths };
