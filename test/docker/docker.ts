/**
 * The Docker CLI and an engine to run it against: the one that answers `docker info`, or else a
 * `dockerd` this process starts (installing Debian's docker.io first when it is missing) with its
 * own data root, exec root and socket under a temp dir, stopped by its PID at the end.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { which } from "../../ansible-free-scripts/common/paths.js";

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  /** Resolve with a non-zero exit code instead of throwing. */
  readonly allowFail?: boolean;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(`${command} exited ${result.code}: ${(result.stderr || result.stdout).trim().split("\n").slice(-8).join("\n")}`);
  }
}

/** PATH with the sbin folders, where Debian puts dockerd, containerd, runc and docker-proxy. */
export function sbinPath(path = process.env.PATH ?? ""): string {
  const parts = path.split(":").filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"]) if (!parts.includes(d)) parts.push(d);
  return parts.join(":");
}

/** Runs a command, collecting its output; kills it (SIGKILL) after `timeoutMs`. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
        if (e && typeof e.code !== "number" && !e.killed) return reject(e); // ENOENT and the like
        const result = { code: e ? (typeof e.code === "number" ? e.code : -1) : 0, stdout, stderr: e?.killed ? `${stderr}\n(killed after ${opts.timeoutMs ?? 60_000} ms)` : stderr };
        if (result.code !== 0 && !opts.allowFail) return reject(new CommandError(`${cmd} ${args.join(" ")}`, result));
        resolve(result);
      },
    );
  });
}

/** The Docker CLI bound to one engine (DOCKER_HOST in its environment). */
export class Docker {
  constructor(
    readonly env: NodeJS.ProcessEnv,
    readonly bin = "docker",
  ) {}

  get host(): string | undefined {
    return this.env.DOCKER_HOST;
  }

  run(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(this.bin, args, { ...opts, env: { ...this.env, ...opts.env } });
  }

  async out(args: readonly string[], opts: RunOptions = {}): Promise<string> {
    return (await this.run(args, opts)).stdout.trim();
  }

  async inspect<T = any>(kind: "container" | "network" | "volume" | "image", name: string): Promise<T | undefined> {
    const r = await this.run([kind, "inspect", name], { allowFail: true });
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as T[])[0];
  }

  /** Last lines of a container's log (stdout and stderr). */
  async logs(name: string, lines = 20): Promise<string> {
    const r = await this.run(["logs", "--tail", String(lines), name], { allowFail: true });
    return (r.stdout + r.stderr).trim();
  }
}

export interface Engine {
  readonly docker: Docker;
  /** True when this process started the daemon (and will stop it). */
  readonly started: boolean;
  readonly pid?: number;
  readonly description: string;
  stop(): Promise<void>;
}

export type Log = (line: string) => void;

async function answers(docker: Docker): Promise<string | undefined> {
  try {
    const r = await docker.run(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 20_000, allowFail: true });
    return r.code === 0 && r.stdout.trim() !== "" ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

function findBin(name: string, path: string): string | undefined {
  return which(name, path);
}

/** apt-get install docker.io (update first when the package is unknown). Returns why not, or undefined. */
async function installDockerIo(log: Log): Promise<string | undefined> {
  if ((process.getuid?.() ?? 1) !== 0) return "dockerd is not installed and this is not root (apt-get install docker.io needs root)";
  if (!findBin("apt-get", sbinPath())) return "dockerd is not installed and there is no apt-get";
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", PATH: sbinPath() };
  log("installing Debian's docker.io with apt-get");
  let r = await run("apt-get", ["install", "-y", "-qq", "docker.io"], { env, timeoutMs: 600_000, allowFail: true });
  if (r.code !== 0) {
    await run("apt-get", ["update", "-qq"], { env, timeoutMs: 300_000, allowFail: true });
    r = await run("apt-get", ["install", "-y", "-qq", "docker.io"], { env, timeoutMs: 600_000, allowFail: true });
  }
  if (r.code !== 0) return `apt-get install docker.io failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ")}`;
  return undefined;
}

/**
 * The engine `docker info` answers (left running), else a dockerd of our own:
 * `dockerd --iptables=false --bridge=none` with data root, exec root, pid file and socket in a
 * fresh temp dir. `{ skip }` says why there is none.
 */
export async function ensureEngine(log: Log = () => {}): Promise<Engine | { skip: string }> {
  const path = sbinPath();
  const client = findBin("docker", path);
  if (client) {
    const existing = new Docker({ ...process.env, PATH: path }, client);
    const version = await answers(existing);
    if (version) {
      return { docker: existing, started: false, description: `existing engine ${version} at ${process.env.DOCKER_HOST ?? "the default socket"}`, stop: async () => {} };
    }
  }
  if (!findBin("dockerd", path) || !findBin("docker", path)) {
    const why = await installDockerIo(log);
    if (why) return { skip: why };
  }
  const dockerd = findBin("dockerd", path);
  const cli = findBin("docker", path);
  if (!dockerd || !cli) return { skip: "docker.io installed but dockerd or docker is still not on PATH" };

  const dir = mkdtempSync(join(tmpdir(), "etcdkit-dockerd-"));
  const socket = join(dir, "docker.sock");
  const logFile = join(dir, "dockerd.log");
  const fd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(
      dockerd,
      [
        "--iptables=false", // this machine: no iptables for Docker; published ports go through docker-proxy
        "--bridge=none", // no docker0: the stacks create their own networks
        `--data-root=${join(dir, "data")}`,
        `--exec-root=${join(dir, "exec")}`,
        `--pidfile=${join(dir, "docker.pid")}`,
        `--host=unix://${socket}`,
      ],
      { stdio: ["ignore", fd, fd], env: { ...process.env, PATH: path } },
    );
  } finally {
    closeSync(fd);
  }
  const pid = child.pid!;
  let exited = false;
  child.on("exit", () => (exited = true));
  // Last resort if this process dies before stop(): do not leave the daemon behind.
  const onExit = () => {
    if (!exited) child.kill("SIGTERM");
  };
  process.on("exit", onExit);
  const docker = new Docker({ ...process.env, PATH: path, DOCKER_HOST: `unix://${socket}` }, cli);
  const tail = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").trim().split("\n").slice(-6).join("\n") : "");

  const stop = async () => {
    process.off("exit", onExit);
    if (!exited) {
      const gone = new Promise<void>((r) => (exited ? r() : child.once("exit", () => r())));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await gone;
      clearTimeout(timer);
    }
    // dockerd unmounts its layers on shutdown; lazily unmount anything left before removing the dir.
    const mounts = readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(dir + "/"))
      .reverse();
    for (const m of mounts) await run("umount", ["-l", m], { allowFail: true, env: { ...process.env, PATH: path } });
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  let version: string | undefined;
  while (Date.now() < deadline && !exited) {
    version = await answers(docker);
    if (version) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!version) {
    const why = `dockerd did not answer within 60 s${exited ? " (it exited)" : ""}: ${tail()}`;
    await stop();
    return { skip: why };
  }
  log(`started dockerd ${version} (pid ${pid}) on unix://${socket}`);
  return { docker, started: true, pid, description: `dockerd ${version} started here (pid ${pid}, unix://${socket})`, stop };
}
