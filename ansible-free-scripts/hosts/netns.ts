/**
 * A private network of Linux network namespaces ("the lab"), the base of the kit's `hosts` target
 * (./lab.ts) and of the partition tests: one namespace per host, each
 * with one address on a bridge that lives in a hub namespace of its own (so the host's firewall
 * never sees the traffic), plus a veth from the test's own namespace onto the same bridge so the
 * test process reaches every host directly. Links between hosts are cut in partition.ts.
 *
 *   test process (root ns) ── veth ──┐
 *   host ns "…-h1"  (10.213.N.11) ── veth ──┤ bridge in "…-hub"
 *   host ns "…-h2"  (10.213.N.12) ── veth ──┘
 *
 * Lifecycle guarantees, because a test that fails must not leave the machine changed:
 * - names carry the creating process's PID (`etp-<pid36>-<n>-…`); `NetLab.create` first removes
 *   labs whose creator is dead (a crashed or SIGKILLed run), processes inside them included;
 * - `destroy()` kills every process it started (by PID), then every process still inside its
 *   namespaces (`ip netns pids`), deletes the namespaces (which removes the veths and the bridge)
 *   and waits until the interfaces are gone; it is idempotent and also runs on process exit and
 *   on SIGINT/SIGTERM;
 * - addresses come only from 10.213.0.0/16, a /24 per lab that no interface of this machine uses.
 * Needs root and iproute2; `labUnavailable()` says why a lab cannot be made (tests skip on that).
 * Whoever builds on a lab (./lab.ts: sshd, cgroups, files) registers its own synchronous clean-up
 * with `onDestroy`, so the exit hooks remove that too.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";

const PREFIX = "etp";
const SUBNET_BASE = "10.213";

export interface LabHost {
  readonly name: string;
  /** The namespace this host lives in. */
  readonly ns: string;
  /** Its address on the lab bridge (IPv4, no prefix length). */
  readonly addr: string;
}

export interface LabProcess {
  readonly host: LabHost;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** SIGKILL (by PID) and wait for the exit. */
  kill(): Promise<void>;
}

function ip(args: readonly string[], input?: string): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], input });
}

function tryIp(args: readonly string[]): boolean {
  try {
    ip(args);
    return true;
  } catch {
    return false;
  }
}

/** Why this machine cannot host a lab (undefined when it can): the only reason a partition test skips. */
export function labUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "creating network namespaces needs root";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "the `ip` command (iproute2) is not installed";
  }
  const probe = `${PREFIX}-${process.pid.toString(36)}-probe`;
  if (!tryIp(["netns", "add", probe])) return "`ip netns add` failed (no permission to create network namespaces here)";
  tryIp(["netns", "del", probe]);
  return undefined;
}

/** The tag every lab object carries: `etp-<pid base 36>-<n>`. */
export function labTag(id: string): string {
  return `${PREFIX}-${id}`;
}

/** Whether the process that made the lab object named `etp-<pid36>-...` (a tag) is gone. */
export function ownerIsDead(name: string): boolean {
  const owner = parseInt(name.split("-")[1] ?? "", 36);
  return Number.isFinite(owner) && owner !== process.pid && !alive(owner);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function listNamespaces(): string[] {
  return ip(["netns", "list"])
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(`${PREFIX}-`));
}

function killAllIn(ns: string): void {
  let pids: number[] = [];
  try {
    pids = ip(["netns", "pids", ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

function deleteNamespace(ns: string): void {
  killAllIn(ns);
  tryIp(["netns", "del", ns]);
}

/** Removes labs left by dead processes (their namespaces, the processes in them, their root-side veths). */
export function removeStaleLabs(): void {
  for (const ns of listNamespaces()) if (ownerIsDead(ns)) deleteNamespace(ns);
  for (const line of ip(["-o", "link", "show"]).split("\n")) {
    const m = /^\d+:\s+(etp([0-9a-z]+)x\d+)[@:]/.exec(line);
    if (m && parseInt(m[2]!, 36) !== process.pid && !alive(parseInt(m[2]!, 36))) tryIp(["link", "del", m[1]!]);
  }
}

function usedSubnets(): Set<number> {
  const used = new Set<number>();
  for (const m of ip(["-o", "-4", "addr", "show"]).matchAll(/inet (10\.213\.(\d+))\.\d+/g)) used.add(Number(m[2]));
  return used;
}

let labCounter = 0;
const liveLabs = new Set<NetLab>();
let exitHookInstalled = false;
let signalHooksInstalled = false;

const destroyAll = () => {
  for (const lab of [...liveLabs]) lab.destroySync();
};

/**
 * On exit, every live lab is destroyed. With `signals` (tests), SIGINT and SIGTERM also destroy
 * them and exit; a program with its own signal handling (the bench tears down on the first Ctrl-C)
 * passes false and relies on the exit hook.
 */
function installExitHooks(signals: boolean): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", destroyAll);
  }
  if (!signals || signalHooksInstalled) return;
  signalHooksInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      destroyAll();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}

export interface NetLabOptions {
  /** Install SIGINT/SIGTERM handlers that destroy the lab and exit (default true). */
  readonly signalHooks?: boolean;
}

export class NetLab {
  readonly hosts: readonly LabHost[];
  /** The test process's own address on the lab bridge. */
  readonly gatewayAddr: string;
  private readonly processes = new Set<LabProcess>();
  private readonly cleanups: (() => void)[] = [];
  private destroyed = false;

  private constructor(
    readonly id: string,
    private readonly hubNs: string,
    private readonly rootVeth: string,
    hosts: LabHost[],
    gatewayAddr: string,
  ) {
    this.hosts = hosts;
    this.gatewayAddr = gatewayAddr;
  }

  /** Builds a lab of `names.length` hosts. On any failure the part already built is removed. */
  static create(names: readonly string[], o: NetLabOptions = {}): NetLab {
    const why = labUnavailable();
    if (why) throw new Error(`cannot create a network lab: ${why}`);
    installExitHooks(o.signalHooks ?? true);
    removeStaleLabs();
    const n = ++labCounter;
    const id = `${process.pid.toString(36)}-${n}`;
    const used = usedSubnets();
    const third = [...Array(250).keys()].map((i) => ((process.pid + n + i) % 250) + 1).find((s) => !used.has(s));
    if (third === undefined) throw new Error("no free /24 in 10.213.0.0/16 for the lab");
    const subnet = `${SUBNET_BASE}.${third}`;
    const hubNs = `${PREFIX}-${id}-hub`;
    const rootVeth = `${PREFIX}${process.pid.toString(36)}x${n}`;
    const hosts = names.map((name, i) => ({ name, ns: `${PREFIX}-${id}-${name}`, addr: `${subnet}.${11 + i}` }));
    const lab = new NetLab(id, hubNs, rootVeth, hosts, `${subnet}.1`);
    liveLabs.add(lab);
    try {
      lab.build();
    } catch (e) {
      lab.destroySync();
      throw e;
    }
    return lab;
  }

  private build(): void {
    const hub = this.hubNs;
    ip(["netns", "add", hub]);
    ip(["-n", hub, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", hub, "link", "set", "br0", "up"]);
    ip(["link", "add", this.rootVeth, "type", "veth", "peer", "name", "p0", "netns", hub]);
    ip(["-n", hub, "link", "set", "p0", "master", "br0", "up"]);
    ip(["addr", "add", `${this.gatewayAddr}/24`, "dev", this.rootVeth]);
    ip(["link", "set", this.rootVeth, "up"]);
    this.hosts.forEach((h, i) => {
      ip(["netns", "add", h.ns]);
      ip(["-n", hub, "link", "add", `p${i + 1}`, "type", "veth", "peer", "name", "eth0", "netns", h.ns]);
      ip(["-n", hub, "link", "set", `p${i + 1}`, "master", "br0", "up"]);
      ip(["-n", h.ns, "addr", "add", `${h.addr}/24`, "dev", "eth0"]);
      ip(["-n", h.ns, "link", "set", "eth0", "up"]);
      ip(["-n", h.ns, "link", "set", "lo", "up"]);
    });
  }

  /** `etp-<pid36>-<n>`: what the lab's namespaces, and what is built on the lab, are named after. */
  get tag(): string {
    return labTag(this.id);
  }

  /** Runs `f` (synchronously) when the lab is destroyed, after its processes and namespaces are gone. */
  onDestroy(f: () => void): void {
    this.cleanups.push(f);
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no lab host ${name}`);
    return h;
  }

  /** Runs a command inside a host's namespace and returns its stdout (throws on a non-zero exit). */
  exec(host: LabHost, cmd: string, args: readonly string[], input?: string): string {
    return ip(["netns", "exec", host.ns, cmd, ...args], input);
  }

  /** As exec, without blocking the event loop (for commands that take a while); rejects with stderr. */
  execAsync(host: LabHost, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile("ip", ["netns", "exec", host.ns, cmd, ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} in ${host.name} failed: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      });
    });
  }

  /** Starts a long-running process inside a host's namespace (`ip netns exec` execs it: the PID is the process's own). */
  spawn(host: LabHost, cmd: string, args: readonly string[], o: { logFile: string; env?: NodeJS.ProcessEnv }): LabProcess {
    if (this.destroyed) throw new Error("lab destroyed");
    const fd = openSync(o.logFile, "a");
    const child = spawn("ip", ["netns", "exec", host.ns, cmd, ...args], { stdio: ["ignore", fd, fd], env: o.env ?? process.env });
    closeSync(fd);
    if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${host.ns}`);
    let done = false;
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, sig) => {
        done = true;
        resolve(code ?? sig ?? -1);
      }),
    );
    const p: LabProcess = {
      host,
      pid: child.pid,
      child,
      exited,
      running: () => !done,
      kill: async () => {
        if (!done) process.kill(child.pid!, "SIGKILL");
        await exited;
        this.processes.delete(p);
      },
    };
    this.processes.add(p);
    return p;
  }

  /** Kills every process, deletes every namespace and waits until the lab's interfaces are gone. */
  async destroy(): Promise<void> {
    await Promise.all([...this.processes].map((p) => p.kill().catch(() => undefined)));
    this.destroySync();
    for (let i = 0; i < 100 && this.leftovers().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const left = this.leftovers();
    if (left.length > 0) throw new Error(`lab ${this.id} not fully removed: ${left.join(", ")}`);
  }

  /** The synchronous part of destroy (also used from exit hooks): kill by PID, delete namespaces. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const p of this.processes) {
      if (p.running()) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    }
    for (const ns of [...this.hosts.map((h) => h.ns), this.hubNs]) deleteNamespace(ns);
    tryIp(["link", "del", this.rootVeth]);
    liveLabs.delete(this);
    for (const f of this.cleanups.splice(0).reverse()) {
      try {
        f();
      } catch {
        /* each clean-up reports through its own leftovers() */
      }
    }
  }

  /** The pids of every process still inside one of the lab's namespaces. */
  pidsInside(): number[] {
    const pids: number[] = [];
    for (const ns of [...this.hosts.map((h) => h.ns), this.hubNs]) {
      try {
        pids.push(...ip(["netns", "pids", ns]).split(/\s+/).filter(Boolean).map(Number));
      } catch {
        /* namespace gone */
      }
    }
    return pids;
  }

  /** Namespaces and interfaces of this lab that still exist (empty after a complete teardown). */
  leftovers(): string[] {
    const ours = new Set([...this.hosts.map((h) => h.ns), this.hubNs]);
    const left = listNamespaces().filter((n) => ours.has(n));
    if (ip(["-o", "link", "show"]).includes(`${this.rootVeth}@`) || ip(["-o", "link", "show"]).includes(`${this.rootVeth}:`)) left.push(this.rootVeth);
    return left;
  }
}
