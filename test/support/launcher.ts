/**
 * The one way tests launch members: etcd-ts (`node bin/etcd-ts.js`) or the real etcd 3.4 on PATH,
 * with etcd's flags, plaintext or TLS (the caller adds the TLS flags: `tls-cluster.ts`), on
 * 127.0.0.1 ports from `freePort()`, started by `spawnMember` (log file, environment without the
 * caller's ETCD_* variables), waited for on /health, killed, paused and resumed by PID, data dirs
 * removed. On top of it:
 *  - `startMember`: a single member in its own temp dir (the e2e and differential tests);
 *  - `startExtraMember`: one member of a cluster started by hand (after `member add`);
 *  - `upCluster` / `downCluster`: the kit's own local runner (`LocalCluster`) in a private temp dir
 *    with the tests' timings, its member logs kept under $TMPDIR/etcd-ts-cluster-logs/<label>/.
 *
 * Every process spawned here is SIGKILLed (after a SIGCONT) when the test process exits, so a
 * failing test leaves nothing running; LocalCluster members are the runner's own (its `down`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalCluster, type LocalClusterOptions } from "../../ansible-free-scripts/local/cluster.js";
import { packageRoot } from "../../server/util/package-root.js";
import { freePort } from "./ports.js";

export { LocalCluster, freePort };
export type { LocalClusterOptions };

export type Flavor = "etcd" | "etcd-ts";

/** The tests' timings (etcd's defaults are 100 ms / 1000 ms too; stated so a change of default changes no test). */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1000;

let etcdVersionOk: boolean | undefined;
/** Whether `etcd` on PATH is etcd 3.4 (the oracle the differential tests compare against). */
export function haveEtcd(): boolean {
  if (etcdVersionOk === undefined) {
    const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
    etcdVersionOk = r.status === 0 && /etcd Version: 3\.4\./.test(r.stdout);
  }
  return etcdVersionOk;
}

/** The command and argv that run `flags` on the given server. */
export function serverCommand(flavor: Flavor, flags: readonly string[]): [string, string[]] {
  return flavor === "etcd" ? ["etcd", [...flags]] : [process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), ...flags]];
}

/** This process's environment without ETCD_* (a member reads those as flags) and node:test's context marker. */
export function memberEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("ETCD_") && k !== "NODE_TEST_CONTEXT") env[k] = v;
  return { ...env, ...extra };
}

export interface MemberFlagOptions {
  readonly name: string;
  readonly dataDir: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** Default: this member alone. */
  readonly initialCluster?: string;
  readonly state?: "new" | "existing";
  readonly token?: string;
  /** Heartbeat and election timeout flags (default: none, the server's defaults). */
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
}

/** etcd's flags for one member; URLs decide plaintext (http) or TLS (https, with the caller's certificate flags). */
export function memberFlags(o: MemberFlagOptions): string[] {
  return [
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.clientUrl}`,
    `--advertise-client-urls=${o.clientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=${o.initialCluster ?? `${o.name}=${o.peerUrl}`}`,
    ...(o.state ? [`--initial-cluster-state=${o.state}`] : []),
    ...(o.token ? [`--initial-cluster-token=${o.token}`] : []),
    ...(o.heartbeatMs !== undefined ? [`--heartbeat-interval=${o.heartbeatMs}`] : []),
    ...(o.electionMs !== undefined ? [`--election-timeout=${o.electionMs}`] : []),
  ];
}

/** A spawned member process, signalled by its PID only. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  running(): boolean;
  /** Sends `signal` if it still runs and waits for the exit (SIGKILL and SIGTERM) or returns at once (others). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends `signal` (SIGCONT too, so a paused process sees it), SIGKILL after `graceMs`, and waits for the exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | NodeJS.Signals>;
  pause(): void;
  resume(): void;
  log(): string;
}

const live = new Set<Proc>();
process.on("exit", () => {
  for (const p of live) {
    try {
      process.kill(p.pid, "SIGCONT");
      process.kill(p.pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

export interface SpawnOptions {
  readonly flavor: Flavor;
  readonly flags: readonly string[];
  /** stdout and stderr are appended to it. */
  readonly logFile: string;
  /** Added to memberEnv(). */
  readonly env?: Record<string, string>;
  /** A command the member runs under, e.g. ["prlimit", "--nofile=256:256", "--"] (it must exec, keeping the PID). */
  readonly prefix?: readonly string[];
}

export function spawnMember(o: SpawnOptions): Proc {
  const [bin, binArgs] = serverCommand(o.flavor, o.flags);
  const [cmd, argv] = o.prefix && o.prefix.length > 0 ? [o.prefix[0]!, [...o.prefix.slice(1), bin, ...binArgs]] : [bin, binArgs];
  const fd = openSync(o.logFile, "a");
  const child = spawn(cmd, argv, { stdio: ["ignore", fd, fd], env: memberEnv(o.env) });
  closeSync(fd);
  let done = false;
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, sig) => {
      done = true;
      live.delete(p);
      resolve(code ?? sig ?? -1);
    }),
  );
  const signal = (sig: NodeJS.Signals) => {
    if (!done) process.kill(child.pid!, sig);
  };
  const p: Proc = {
    child,
    pid: child.pid!,
    logFile: o.logFile,
    exited,
    running: () => !done,
    async kill(sig = "SIGKILL") {
      signal(sig);
      if (sig === "SIGKILL" || sig === "SIGTERM") await exited;
    },
    async stop(sig = "SIGKILL", graceMs = 10_000) {
      signal(sig);
      if (sig !== "SIGKILL") signal("SIGCONT");
      const t = setTimeout(() => signal("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    log: () => readLog(o.logFile),
  };
  if (child.pid !== undefined) live.add(p);
  return p;
}

export function readLog(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

export function tailLog(file: string, lines = 30): string {
  return readLog(file).trimEnd().split("\n").slice(-lines).join("\n");
}

/** Polls `<clientUrl>/health` (plaintext) until it says true; fails at once when `exited` resolves. */
export async function waitHealthy(clientUrl: string, exited?: Promise<unknown>, timeoutMs = 20000): Promise<void> {
  let dead = false;
  void exited?.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error("process exited");
    try {
      const r = await fetch(`${clientUrl}/health`);
      const j = (await r.json()) as { health?: string };
      if (j.health === "true") return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error("timed out waiting for /health");
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- a single member in its own temp dir ------------------------------------------------------

export interface MemberProcess {
  readonly flavor: Flavor;
  readonly endpoint: string; // host:port, as etcdctl takes it
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal) once the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
  pause(): void;
  resume(): void;
  /** Kills it (if running) and removes its data. */
  dispose(): Promise<void>;
  log(): string;
}

export interface StartOptions {
  readonly flags?: readonly string[];
  readonly env?: Record<string, string>;
  /** Reuse a data dir (restart after a crash). */
  readonly dataDir?: string;
  readonly clientPort?: number;
  readonly peerPort?: number;
  readonly waitReady?: boolean;
  /** A command the member runs under, e.g. ["prlimit", "--nofile=256:256", "--"]. */
  readonly prefix?: readonly string[];
  /** The member's name (default m1). */
  readonly name?: string;
}

/** Starts a single-member etcd or etcd-ts on 127.0.0.1 with the same flags, and waits for /health. */
export async function startMember(flavor: Flavor, opts: StartOptions = {}): Promise<MemberProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `${flavor}-`));
  const cport = opts.clientPort ?? (await freePort());
  const pport = opts.peerPort ?? (await freePort());
  const clientUrl = `http://127.0.0.1:${cport}`;
  const peerUrl = `http://127.0.0.1:${pport}`;
  const flags = [...memberFlags({ name: opts.name ?? "m1", dataDir: `${dataDir}/data`, clientUrl, peerUrl }), ...(opts.flags ?? [])];
  const logFile = join(dataDir, `${flavor}.log`);
  const proc = spawnMember({ flavor, flags, logFile, ...(opts.env ? { env: opts.env } : {}), ...(opts.prefix ? { prefix: opts.prefix } : {}) });
  const m: MemberProcess = {
    flavor,
    endpoint: `127.0.0.1:${cport}`,
    clientUrl,
    dataDir,
    logFile,
    child: proc.child,
    pid: proc.pid,
    exited: proc.exited,
    log: () => readFileSync(logFile, "utf8"),
    async kill(signal = "SIGKILL") {
      if (proc.running()) proc.child.kill(signal);
      return proc.exited;
    },
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    async dispose() {
      await proc.stop("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (opts.waitReady !== false) {
    try {
      await waitHealthy(clientUrl, proc.exited);
    } catch (e) {
      await proc.stop("SIGKILL");
      throw new Error(`${flavor} did not become healthy: ${(e as Error).message}\n${proc.log().slice(-3000)}`);
    }
  }
  return m;
}

// ---- one member of a cluster started by hand ---------------------------------------------------

export interface ExtraMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code or signal once the process ends. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** Signals it (by PID) if it is still running, and waits for it to exit (SIGKILL after 10 s). */
  stop(sig?: NodeJS.Signals): Promise<void>;
}

/** Starts one member of `server` with etcd's flags and the tests' timings, its output appended to `logFile`. */
export function startExtraMember(
  server: Flavor,
  o: { name: string; clientUrl: string; peerUrl: string; dataDir: string; logFile: string; initialCluster: string; state: "new" | "existing"; token?: string; extraFlags?: string[] },
): ExtraMember {
  const flags = [
    ...memberFlags({ ...o, heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS, ...(o.token ? { token: o.token } : {}) }),
    ...(o.extraFlags ?? []),
  ];
  mkdirSync(o.dataDir, { recursive: true });
  const proc = spawnMember({ flavor: server, flags, logFile: o.logFile });
  return {
    name: o.name,
    clientUrl: o.clientUrl,
    peerUrl: o.peerUrl,
    dataDir: o.dataDir,
    logFile: o.logFile,
    child: proc.child,
    pid: proc.pid,
    exited: proc.exited,
    running: () => proc.running(),
    async stop(sig = "SIGKILL") {
      await proc.stop(sig);
    },
  };
}

// ---- the kit's local runner in a private directory ---------------------------------------------

/** Where the member logs of the last run of a test file are copied before the cluster is removed. */
export function logsDir(label: string): string {
  return join(tmpdir(), "etcd-ts-cluster-logs", label);
}

/** A plaintext LocalCluster in a fresh private directory, with the tests' default timings (heartbeat 100 ms, election 1 s). */
export async function upCluster(label: string, opts: Omit<LocalClusterOptions, "name" | "dir">): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), `etcd-ts-ct-${label}-`));
  return LocalCluster.up({ insecure: true, heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS, ...opts, name: `ct-${label}-${process.pid}`, dir });
}

/** Copies every *.log of the cluster directory (and any extra files) to logsDir(label), then stops and removes the cluster. */
export async function downCluster(cluster: LocalCluster | undefined, label: string, extraLogs: string[] = []): Promise<void> {
  if (!cluster) return;
  try {
    const out = logsDir(label);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(cluster.dir)) if (f.endsWith(".log")) copyFileSync(join(cluster.dir, f), join(out, f));
    for (const f of extraLogs) if (existsSync(f)) copyFileSync(f, join(out, f.split("/").pop()!));
  } catch {
    /* evidence only */
  }
  await cluster.down();
}

export function memberOf(cluster: LocalCluster, name: string) {
  const m = cluster.members.find((x) => x.name === name);
  if (!m) throw new Error(`no member ${name}`);
  return m;
}

/** Rewrites (or appends) `KEY=value` lines of a member's env file: LocalCluster.start reads it again. */
export function setEnv(envFile: string, updates: Record<string, string>): void {
  const lines = readFileSync(envFile, "utf8").trimEnd().split("\n");
  for (const [k, v] of Object.entries(updates)) {
    const i = lines.findIndex((l) => l.startsWith(`${k}=`));
    if (i >= 0) lines[i] = `${k}=${v}`;
    else lines.push(`${k}=${v}`);
  }
  writeFileSync(envFile, lines.join("\n") + "\n");
}
