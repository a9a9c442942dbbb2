import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import { freePort } from "./ports.js";

export type Flavor = "etcd" | "etcd-ts";

export interface MemberProcess {
  readonly flavor: Flavor;
  readonly endpoint: string; // host:port, as etcdctl takes it
  readonly clientUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
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
}

/** Starts a single-member etcd or etcd-ts on 127.0.0.1 with the same flags, and waits for /health. */
export async function startMember(flavor: Flavor, opts: StartOptions = {}): Promise<MemberProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `${flavor}-`));
  const cport = opts.clientPort ?? (await freePort());
  const pport = opts.peerPort ?? (await freePort());
  const clientUrl = `http://127.0.0.1:${cport}`;
  const peerUrl = `http://127.0.0.1:${pport}`;
  const args = [
    "--name=m1",
    `--data-dir=${dataDir}/data`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=m1=${peerUrl}`,
    ...(opts.flags ?? []),
  ];
  const logFile = join(dataDir, `${flavor}.log`);
  const fd = openSync(logFile, "a");
  const [bin, binArgs] = flavor === "etcd" ? ["etcd", args] : [process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), ...args]];
  const [cmd, argv] = opts.prefix && opts.prefix.length > 0 ? [opts.prefix[0]!, [...opts.prefix.slice(1), bin, ...binArgs]] : [bin, binArgs];
  const child = spawn(cmd, argv, { stdio: ["ignore", fd, fd], env: { ...process.env, ...opts.env } });
  closeSync(fd);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  const m: MemberProcess = {
    flavor,
    endpoint: `127.0.0.1:${cport}`,
    clientUrl,
    dataDir,
    logFile,
    child,
    exited,
    log: () => readFileSync(logFile, "utf8"),
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async dispose() {
      await m.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (opts.waitReady !== false) {
    try {
      await waitHealthy(clientUrl, exited);
    } catch (e) {
      await m.kill();
      throw new Error(`${flavor} did not become healthy: ${(e as Error).message}\n${m.log().slice(-3000)}`);
    }
  }
  return m;
}

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
