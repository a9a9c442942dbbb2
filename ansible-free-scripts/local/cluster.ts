/**
 * LocalCluster: a cluster of 1, 3, 5 or 7 members as processes on this machine, all on 127.0.0.1.
 *
 * `up` plans the topology (topology, target "local"), renders every member's env file and
 * systemd unit into the cluster directory, then starts each member exactly as systemd would: the
 * command is the unit's ExecStart= line, the environment is the unit's EnvironmentFile=. Processes
 * are detached into their own process group with stdout/stderr appended to the member's log file,
 * so a cluster started by one CLI call outlives it and a later call can `attach` to it through the
 * state file (PIDs plus kernel start times: a recycled PID is never signalled).
 *
 * TLS by default: `up` makes the cluster's PKI in `<dir>/pki` (pki/, the CA and certificates of
 * `etcdkit pki`), members serve https on both ports and require client certificates, and every
 * check of this module (health, leader) presents the PKI's root client certificate. `insecure`
 * runs plaintext, and says so through onProgress.
 *
 * Auth (`authFile`): once every member is healthy, `up` applies the auth file (ansible-free-scripts/auth)
 * and so turns auth on. Root's password is copied to `<dir>/root.password` (0600, beside the state) and
 * the state records it: the kit's later commands on this cluster (backup, bench, auth apply) log in
 * as root with it; health and leader checks need no user (/health and /metrics are open, as in etcd).
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { parseEnvFile, toEnvFile } from "../../server/config/render.js";
import { planTopology, DEFAULTS, type ClusterSize, type TopologyPlan } from "../../topology/topology.js";
import { parseUnit, renderUnit, unitFileName } from "../../topology/systemd-unit.js";
import type { ServerKind } from "../../topology/server-command.js";
import { localServerCommand } from "../common/paths.js";
import { isHealthy, isLeader, sleep, waitFor } from "../common/health.js";
import { isOurs, isStopped, procStartTime, signal, waitGone, type ProcId } from "../common/process.js";
import { busyPorts, lockBlock, type PortLock } from "./ports.js";
import { ensurePlanPki } from "../../pki/plan-pki.js";
import { etcdctlTlsFlags, plaintextNotice, type ClientTls } from "../../topology/tls.js";
import { restoreDataDirs } from "../backup/restore-data.js";
import { loadAuthFile, resolvePasswords, ROOT, type AuthSpec } from "../auth/auth-file.js";
import { applyAuth } from "../auth/auth-apply.js";
import type { Credentials } from "../auth/auth-client.js";
import { shq } from "../common/shell.js";

export type { ServerKind };

export interface LocalClusterOptions {
  members: 1 | 3 | 5 | 7;
  /** "etcd-ts" (default): node <repo>/bin/etcd-ts.js; "etcd": the etcd binary on PATH; else a path to a binary. */
  server?: ServerKind;
  /** State + data root; default `.etcdkit/local/<name>` under the current directory. */
  dir?: string;
  /** Default `etcd-<members>`. */
  name?: string;
  /** Member i listens on basePort + 2(i-1) (client) and +1 (peer). Default: the first free block from 32379 in steps of 20. */
  basePort?: number;
  /** Default `etcdkit-<name>-<random>`, so two clusters never join each other. */
  token?: string;
  heartbeatMs?: number;
  electionMs?: number;
  snapshotCount?: number;
  /** Added to every member's environment (after the env file). */
  extraEnv?: Record<string, string>;
  onProgress?: (msg: string) => void;
  /** How long `up` waits for every member's /health (default 30000). */
  healthTimeoutMs?: number;
  /** Plaintext http:// without certificates (default false: TLS, see above). */
  insecure?: boolean;
  /** An etcd-ts snapshot file: every member's data dir is restored from it before the members start (etcd-ts only). */
  restoreFrom?: string;
  /** An auth file (ansible-free-scripts/auth/README.md) applied once the members are healthy: auth on. */
  authFile?: string;
  /** Where the auth file's passwords are read from (default process.env). */
  authEnv?: NodeJS.ProcessEnv;
}

/** What the state records of a cluster with auth on. */
interface AuthState {
  /** The auth file applied by `up` (absolute). */
  file: string;
  user: "root";
  /** Root's password, 0600, in the cluster directory. */
  passwordFile: string;
}

export interface LocalMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  pid?: number;
  dataDir: string;
  logFile: string;
  envFile: string;
  unitFile: string;
  running: boolean;
  /** Stopped by pause() (SIGSTOP) and not resumed. */
  paused: boolean;
}

interface MemberState {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  envFile: string;
  unitFile: string;
  pid?: number;
  startTime?: string;
}

interface StateFile {
  version: 1;
  name: string;
  dir: string;
  server: ServerKind;
  createdAt: string;
  basePort: number;
  token: string;
  extraEnv: Record<string, string>;
  members: MemberState[];
  /** The CA and root client certificate (absent: the cluster is plaintext). */
  tls?: ClientTls;
  /** Auth is on (absent: off, as etcd starts). */
  auth?: AuthState;
}

const STATE = "state.json";
const BLOCK_STEP = 20;
const MAX_BLOCKS = 200;

export class LocalCluster {
  private readonly children = new Map<string, Promise<unknown>>();
  private readonly progress: (msg: string) => void;

  private constructor(
    private readonly state: StateFile,
    onProgress?: (msg: string) => void,
  ) {
    this.progress = onProgress ?? (() => {});
  }

  /** The cluster directory (state, env files, units, logs, data). */
  get dir(): string {
    return this.state.dir;
  }

  get name(): string {
    return this.state.name;
  }

  get server(): ServerKind {
    return this.state.server;
  }

  /** The CA and root client certificate a client needs, or undefined for a plaintext cluster. */
  get tls(): ClientTls | undefined {
    return this.state.tls;
  }

  /** Auth as `up --auth` turned it on: the file and root's password file; undefined: auth was not turned on by the kit. */
  get auth(): Readonly<AuthState> | undefined {
    return this.state.auth;
  }

  /** Root's user and password for a cluster `up` turned auth on for (read from its 0600 file), else undefined. */
  credentials(): Credentials | undefined {
    const a = this.state.auth;
    if (!a) return undefined;
    return { user: a.user, password: readFileSync(a.passwordFile, "utf8") };
  }

  get members(): readonly LocalMember[] {
    return this.state.members.map((m) => {
      const id = m.pid !== undefined ? ({ pid: m.pid, startTime: m.startTime } as ProcId) : undefined;
      const running = !!id && isOurs(id);
      return {
        name: m.name,
        clientUrl: m.clientUrl,
        peerUrl: m.peerUrl,
        ...(running ? { pid: m.pid } : {}),
        dataDir: m.dataDir,
        logFile: m.logFile,
        envFile: m.envFile,
        unitFile: m.unitFile,
        running,
        paused: running && isStopped(id!),
      };
    });
  }

  static async up(opts: LocalClusterOptions): Promise<LocalCluster> {
    const progress = opts.onProgress ?? (() => {});
    const name = opts.name ?? `etcd-${opts.members}`;
    const dir = resolve(opts.dir ?? join(".etcdkit", "local", name));
    const server = opts.server ?? "etcd-ts";
    const command = localServerCommand(server);
    if (opts.restoreFrom !== undefined && server !== "etcd-ts") throw new Error(`restoring from a snapshot needs server etcd-ts (its snapshot files hold lmdb, which ${server} cannot read)`);
    if (opts.restoreFrom !== undefined && !existsSync(opts.restoreFrom)) throw new Error(`snapshot ${opts.restoreFrom} does not exist`);

    if (existsSync(join(dir, STATE))) {
      const old = await LocalCluster.attach(dir).catch(() => undefined);
      const live = old?.members.filter((m) => m.running) ?? [];
      if (live.length > 0) {
        throw new Error(`a cluster is already running in ${dir} (${live.map((m) => `${m.name} pid ${m.pid}`).join(", ")}): run down first`);
      }
    } else if (existsSync(dir) && readdirSync(dir).length > 0) {
      // Never wipe a directory that is not one of ours.
      throw new Error(`${dir} exists, is not empty and holds no etcdkit cluster: choose another dir`);
    }

    // The auth file and its passwords are read before anything starts: a bad one changes nothing.
    const auth = opts.authFile !== undefined ? loadAuthFile(opts.authFile) : undefined;
    const passwords = auth ? resolvePasswords(auth, opts.authEnv ?? process.env) : undefined;

    // Plan first (pure, throws on a bad topology), then reserve ports, then create files.
    const token = opts.token ?? `etcdkit-${name}-${randomBytes(4).toString("hex")}`;
    const planFor = (basePort: number): TopologyPlan =>
      planTopology({
        size: opts.members,
        target: "local",
        stackName: name,
        token,
        basePort,
        dataDirRoot: join(dir, "data"),
        insecure: opts.insecure === true,
        pkiDir: join(dir, "pki"),
        ...(opts.heartbeatMs !== undefined ? { heartbeatMs: opts.heartbeatMs } : {}),
        ...(opts.electionMs !== undefined ? { electionMs: opts.electionMs } : {}),
        ...(opts.snapshotCount !== undefined ? { snapshotCount: opts.snapshotCount } : {}),
      });
    planFor(opts.basePort ?? DEFAULTS.localBasePort);

    let lock: PortLock | undefined;
    let plan: TopologyPlan;
    if (opts.basePort !== undefined) {
      plan = planFor(opts.basePort);
      const busy = await busyPorts(plan.bindings.map((b) => b.port));
      if (busy.length > 0) throw new Error(`port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} on 127.0.0.1 already in use: pick another basePort`);
    } else {
      let found: TopologyPlan | undefined;
      for (let k = 0; k < MAX_BLOCKS && !found; k++) {
        const base = DEFAULTS.localBasePort + k * BLOCK_STEP;
        const l = lockBlock(base);
        if (!l) continue;
        const candidate = planFor(base);
        if ((await busyPorts(candidate.bindings.map((b) => b.port))).length === 0) {
          found = candidate;
          lock = l;
        } else l.release();
      }
      if (!found) throw new Error(`no free block of ports found from ${DEFAULTS.localBasePort} on 127.0.0.1`);
      plan = found;
    }

    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(join(dir, "data"), { recursive: true });
      if (plan.insecure) progress(plaintextNotice(name));
      else {
        await ensurePlanPki(plan);
        progress(`${name}: TLS on client and peer ports, certificates in ${plan.clientTls!.pkiDir}`);
      }
      const user = safeUser();
      const members: MemberState[] = plan.members.map((m) => {
        const envFile = join(dir, `${m.name}.env`);
        const unitFile = join(dir, unitFileName(m.name));
        writeFileSync(envFile, `# ${m.name} of local cluster ${name} (rendered by etcdkit)\n` + toEnvFile(m.config));
        writeFileSync(
          unitFile,
          renderUnit({ memberName: m.name, user, envFile, execStart: command, workingDirectory: dir, writablePaths: [m.config.dataDir], description: `${server} member ${m.name} of local cluster ${name} (etcdkit)` }),
        );
        return { name: m.name, clientUrl: m.clientUrl, peerUrl: m.peerUrl, dataDir: m.config.dataDir, logFile: join(dir, `${m.name}.log`), envFile, unitFile };
      });
      const state: StateFile = {
        version: 1,
        name,
        dir,
        server,
        createdAt: new Date().toISOString(),
        basePort: plan.members[0]!.clientPort,
        token,
        extraEnv: { ...(opts.extraEnv ?? {}) },
        members,
        ...(plan.clientTls ? { tls: plan.clientTls } : {}),
      };
      const cluster = new LocalCluster(state, progress);
      cluster.save();
      progress(`${name}: ${opts.members} member${opts.members === 1 ? "" : "s"} of ${server} in ${dir}`);
      try {
        if (opts.restoreFrom !== undefined) await restoreDataDirs(resolve(opts.restoreFrom), members, token, progress);
        for (const m of members) await cluster.spawn(m.name);
        // the block stays reserved until `down` removes the state file, also while a member is down
        lock?.holdWhile(join(dir, STATE));
        lock = undefined;
        await cluster.waitHealthy(undefined, opts.healthTimeoutMs ?? 30_000);
        if (auth) await cluster.enableAuth(auth, passwords!.get(ROOT)!, opts.authEnv ?? process.env);
      } catch (e) {
        await Promise.all(members.map((m) => cluster.kill(m.name).catch(() => {})));
        throw new Error(`${(e as Error).message}\n(the cluster's files and logs are kept in ${dir}; \`down\` removes them)`);
      }
      progress(`${name}: all members healthy; endpoints ${cluster.endpoints().join(",")}`);
      return cluster;
    } finally {
      lock?.release();
    }
  }

  static async attach(dir: string, onProgress?: (msg: string) => void): Promise<LocalCluster> {
    const file = join(resolve(dir), STATE);
    let state: StateFile;
    try {
      state = JSON.parse(readFileSync(file, "utf8")) as StateFile;
    } catch (e) {
      throw new Error(`no local cluster in ${resolve(dir)}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    if (state.version !== 1 || !Array.isArray(state.members)) throw new Error(`${file} is not an etcdkit local cluster state file`);
    return new LocalCluster(state, onProgress);
  }

  endpoints(): string[] {
    return this.state.members.map((m) => m.clientUrl);
  }

  /** `etcdctl --endpoints=...` for this cluster. */
  etcdctl(): string {
    // host:port, as etcd's guides write it (see README, "Known issues", for endpoints with a scheme).
    const tls = this.state.tls ? ` ${etcdctlTlsFlags(this.state.tls)}` : "";
    // the password stays in its file: the shell reads it when the line is run
    const user = this.state.auth ? ` --user "root:$(cat ${shq(this.state.auth.passwordFile)})"` : "";
    return `etcdctl --endpoints=${this.endpoints().map((u) => new URL(u).host).join(",")}${tls}${user}`;
  }

  async leader(): Promise<string | undefined> {
    const live = this.members.filter((m) => m.running && !m.paused);
    const answers = await Promise.all(live.map(async (m) => ((await isLeader(m.clientUrl, 1000, this.state.tls)) ? m.name : undefined)));
    return answers.find((n) => n !== undefined);
  }

  /** Waits until every named member (default: all) answers /health with {"health":"true"}. */
  async waitHealthy(names?: string[], timeoutMs = 30_000): Promise<void> {
    const targets = (names ?? this.state.members.map((m) => m.name)).map((n) => this.member(n));
    await Promise.all(
      targets.map((m) =>
        waitFor(
          () => isHealthy(m.clientUrl, 1000, this.state.tls),
          timeoutMs,
          `${m.name} (${m.clientUrl}/health) to report healthy`,
          () => {
            if (!this.isRunning(m)) throw new Error(`${m.name} is not running${m.pid !== undefined ? ` (pid ${m.pid} exited)` : ""}; last lines of ${m.logFile}:\n${tail(m.logFile, 20)}`);
          },
          100,
        ),
      ),
    );
  }

  /** Sends `signal` (default SIGKILL) and waits for the member to exit. No-op if it is not running. */
  async kill(name: string, sig: NodeJS.Signals = "SIGKILL", timeoutMs = 10_000): Promise<void> {
    const m = this.member(name);
    const id = this.procId(m);
    if (!id || !isOurs(id)) return this.forget(m);
    this.progress(`${name}: ${sig} to pid ${id.pid}`);
    signal(id, sig);
    if (sig !== "SIGKILL") signal(id, "SIGCONT");
    if (!(await waitGone(id, timeoutMs, this.children.get(name)))) throw new Error(`${name} (pid ${id.pid}) did not exit within ${timeoutMs} ms of ${sig}`);
    this.forget(m);
  }

  /** SIGTERM; SIGKILL if the member has not exited after `timeoutMs` (default 10 s). */
  async stop(name: string, timeoutMs = 10_000): Promise<void> {
    const m = this.member(name);
    const id = this.procId(m);
    if (!id || !isOurs(id)) return this.forget(m);
    this.progress(`${name}: stopping pid ${id.pid}`);
    signal(id, "SIGTERM");
    signal(id, "SIGCONT");
    if (!(await waitGone(id, timeoutMs, this.children.get(name)))) {
      this.progress(`${name}: still running after ${timeoutMs} ms, SIGKILL`);
      signal(id, "SIGKILL");
      if (!(await waitGone(id, 10_000, this.children.get(name)))) throw new Error(`${name} (pid ${id.pid}) survived SIGKILL`);
    }
    this.forget(m);
  }

  /** Starts a stopped member again from its unit and env file, with its existing data. No-op if running. */
  async start(name: string): Promise<void> {
    const m = this.member(name);
    if (this.isRunning(m)) return;
    await this.spawn(name);
  }

  async pause(name: string): Promise<void> {
    const m = this.member(name);
    const id = this.procId(m);
    if (!id || !isOurs(id)) throw new Error(`${name} is not running`);
    signal(id, "SIGSTOP");
    this.progress(`${name}: paused (SIGSTOP)`);
    for (let i = 0; i < 100 && !isStopped(id); i++) await sleep(10);
  }

  async resume(name: string): Promise<void> {
    const m = this.member(name);
    const id = this.procId(m);
    if (!id || !isOurs(id)) throw new Error(`${name} is not running`);
    signal(id, "SIGCONT");
    this.progress(`${name}: resumed (SIGCONT)`);
  }

  /**
   * Stops exactly the processes this cluster started (SIGKILL: the data goes too, so a graceful
   * shutdown buys nothing, and a leader's SIGTERM shutdown can wait seconds for a leadership
   * transfer to members that are already gone), then removes its directory: data, env files,
   * units, logs, state.
   */
  async down(): Promise<void> {
    await Promise.all(this.state.members.map((m) => this.kill(m.name, "SIGKILL")));
    rmSync(this.state.dir, { recursive: true, force: true });
    this.progress(`${this.state.name}: down, ${this.state.dir} removed`);
  }

  // ---- internals

  private async enableAuth(spec: AuthSpec, rootPassword: string, env: NodeJS.ProcessEnv): Promise<void> {
    const tls = this.state.tls;
    await applyAuth(spec, {
      endpoints: this.endpoints(),
      tls: tls ? { cacert: tls.ca, cert: tls.cert, key: tls.key } : {},
      env,
      log: (l) => this.progress(`${this.state.name}: ${l}`),
    });
    const passwordFile = join(this.state.dir, "root.password");
    writeFileSync(passwordFile, rootPassword, { mode: 0o600 });
    chmodSync(passwordFile, 0o600);
    this.state.auth = { file: spec.source, user: ROOT, passwordFile };
    this.save();
    this.progress(`${this.state.name}: auth on; root's password for the kit's later commands in ${passwordFile} (0600)`);
  }

  private member(name: string): MemberState {
    const m = this.state.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member "${name}" in ${this.state.name} (members: ${this.state.members.map((x) => x.name).join(", ")})`);
    return m;
  }

  private procId(m: MemberState): ProcId | undefined {
    return m.pid !== undefined ? { pid: m.pid, ...(m.startTime !== undefined ? { startTime: m.startTime } : {}) } : undefined;
  }

  private isRunning(m: MemberState): boolean {
    const id = this.procId(m);
    return !!id && isOurs(id);
  }

  private forget(m: MemberState): void {
    if (m.pid === undefined) return;
    delete m.pid;
    delete m.startTime;
    this.children.delete(m.name);
    this.save();
  }

  private save(): void {
    const file = join(this.state.dir, STATE);
    writeFileSync(file + ".tmp", JSON.stringify(this.state, null, 2) + "\n");
    renameSync(file + ".tmp", file);
  }

  /** Starts a member as systemd would: ExecStart= of its unit, environment from its EnvironmentFile=. */
  private async spawn(name: string): Promise<void> {
    const m = this.member(name);
    const unit = parseUnit(readFileSync(m.unitFile, "utf8"));
    const fileEnv = Object.assign({}, ...unit.environmentFiles.map((f) => parseEnvFile(readFileSync(f, "utf8")))) as Record<string, string>;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined || k.startsWith("ETCD_") || k === "NODE_TEST_CONTEXT") continue;
      env[k] = v;
    }
    Object.assign(env, fileEnv, this.state.extraEnv);
    const [file, ...args] = unit.execStart;
    const fd = openSync(m.logFile, "a");
    const launch = () =>
      execa(file!, args, {
        env,
        extendEnv: false,
        cwd: unit.workingDirectory ?? this.state.dir,
        detached: true,
        cleanup: false,
        reject: false,
        stdin: "ignore",
        // A raw file descriptor: the member writes its log itself, not through this process (which
        // may exit long before the member). execa accepts it at run time; its types only list 3..9.
        stdout: fd as unknown as "ignore",
        stderr: fd as unknown as "ignore",
      });
    let child: ReturnType<typeof launch>;
    try {
      child = launch();
    } finally {
      closeSync(fd);
    }
    const spawned = await Promise.race([
      new Promise<true>((r) => child.once("spawn", () => r(true))),
      child.then((res) => (res.failed ? new Error(res.message) : new Error(`${name} exited at once with code ${res.exitCode}`))),
    ]);
    if (spawned !== true) throw new Error(`cannot start ${name} (${unit.execStart.join(" ")}): ${spawned.message}`);
    child.unref();
    const pid = child.pid!;
    m.pid = pid;
    const st = procStartTime(pid);
    if (st !== undefined) m.startTime = st;
    else delete m.startTime;
    this.children.set(name, child);
    this.save();
    this.progress(`${name}: started pid ${pid} (${m.clientUrl}, log ${m.logFile})`);
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? "root");
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export type { ClusterSize };
