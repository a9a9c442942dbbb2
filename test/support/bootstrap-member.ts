/**
 * A member of a cluster that learns its initial cluster at start (--discovery, --discovery-srv): etcd or
 * etcd-ts on 127.0.0.1 with its own ports, no --initial-cluster, its log (zap JSON for both) in a file.
 * Not waited for: a discovering member is healthy only once all its peers have registered.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";
import type { Flavor } from "./launcher.js";
import { freePort } from "./ports.js";

export interface BootstrapMember {
  readonly name: string;
  readonly flavor: Flavor;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly endpoint: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | NodeJS.Signals>;
  /** The zap JSON lines of its log that parse. */
  lines(): Array<Record<string, unknown>>;
  log(): string;
  dispose(): Promise<void>;
}

export interface BootstrapOptions {
  readonly flags: readonly string[];
  /** The peer URL's scheme and host (default http://127.0.0.1). */
  readonly peerBase?: string;
  readonly peerPort?: number;
  readonly env?: Record<string, string>;
  /** A command the member runs under, e.g. ["ip", "netns", "exec", "ns", ...]. */
  readonly prefix?: readonly string[];
}

export async function startBootstrapMember(flavor: Flavor, name: string, o: BootstrapOptions): Promise<BootstrapMember> {
  const dir = mkdtempSync(join(tmpdir(), `boot-${flavor}-`));
  const cport = await freePort();
  const pport = o.peerPort ?? (await freePort());
  const clientUrl = `http://127.0.0.1:${cport}`;
  const peerBase = o.peerBase ?? "http://127.0.0.1";
  const peerUrl = `${peerBase}:${pport}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dir}/data`,
    "--logger=zap",
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerBase.replace(/\/\/.*/, "//127.0.0.1")}:${pport}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    ...o.flags,
  ];
  const logFile = join(dir, "member.log");
  const fd = openSync(logFile, "a");
  const [bin, binArgs] = flavor === "etcd" ? ["etcd", args] : [process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), ...args]];
  const [cmd, argv] = o.prefix && o.prefix.length > 0 ? [o.prefix[0]!, [...o.prefix.slice(1), bin, ...binArgs]] : [bin, binArgs];
  const child = spawn(cmd, argv, { stdio: ["ignore", fd, fd], env: { ...process.env, ...o.env } });
  closeSync(fd);
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  const log = () => readFileSync(logFile, "utf8");
  return {
    name,
    flavor,
    clientUrl,
    peerUrl,
    endpoint: `127.0.0.1:${cport}`,
    child,
    exited,
    log,
    lines: () =>
      log()
        .split("\n")
        .flatMap((l) => {
          try {
            const j = JSON.parse(l) as unknown;
            return j && typeof j === "object" ? [j as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        }),
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the member's /health says true, rejects if it exits first or the time runs out. */
export async function waitHealthyOrExit(m: BootstrapMember, timeoutMs = 30_000): Promise<void> {
  let dead = false;
  void m.exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error(`${m.flavor} ${m.name} exited:\n${m.log().slice(-3000)}`);
    try {
      const j = (await (await fetch(`${m.clientUrl}/health`)).json()) as { health?: string };
      if (j.health === "true") return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${m.flavor} ${m.name} not healthy in time:\n${m.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with the exit code, or fails the test if the member is still running after timeoutMs. */
export async function exitCodeWithin(m: BootstrapMember, timeoutMs = 20_000): Promise<number | NodeJS.Signals> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${m.flavor} ${m.name} still running:\n${m.log().slice(-2000)}`)), timeoutMs)));
  try {
    return await Promise.race([m.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
