/**
 * CPU isolation of namespace hosts: each host's processes (its sshd, and so everything started
 * over ssh: the supervisor and the member) go into a cgroup of their own, with an equal weight and,
 * when asked, a cap in cores. Real hosts do not steal each other's cores; members on one machine
 * do, unless each host gets its share.
 *
 * cgroup v2 is used where its cpu controller is enabled for child groups (cpu.weight, cpu.max);
 * else the v1 cpu controller (cpu.shares, cpu.cfs_quota_us / cpu.cfs_period_us); else nothing, and
 * the record says so and why. Groups are named `<lab tag>/<host>` directly under the controller's
 * root, so a lab whose creator died can be found and removed (its processes are killed with its
 * namespaces first).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type CpuIsolationKind = "cgroup2" | "cgroup1" | "none";

/** What isolation was in force, as the result file records it. */
export interface CpuIsolation {
  readonly kind: CpuIsolationKind;
  /** Cap per host in cores (cpu.max / cfs quota); null: no cap, only equal weights. */
  readonly coresPerHost: number | null;
  /** cpu.weight (v2) or cpu.shares (v1) of every host; null with kind none. */
  readonly weight: number | null;
  /** One line for reports: the mechanism and the values written. */
  readonly detail: string;
}

export interface CgroupController {
  readonly kind: "cgroup2" | "cgroup1";
  /** The directory under which the lab's groups are made. */
  readonly base: string;
}

const PERIOD_US = 100_000;
const V2_WEIGHT = 100;
const V1_SHARES = 1024;

function readText(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

/** Where a cpu controller can be used, or why none can. `root` is the cgroup mount (tests pass a fake). */
export function findCpuController(root = "/sys/fs/cgroup"): CgroupController | { kind: "none"; reason: string } {
  const reasons: string[] = [];
  for (const base of [root, join(root, "unified")]) {
    if (!existsSync(join(base, "cgroup.controllers"))) continue;
    const controllers = readText(join(base, "cgroup.controllers")).split(/\s+/);
    const enabled = readText(join(base, "cgroup.subtree_control")).split(/\s+/);
    if (!controllers.includes("cpu")) reasons.push(`cgroup v2 at ${base} has no cpu controller (controllers: ${controllers.filter(Boolean).join(" ") || "none"})`);
    else if (!enabled.includes("cpu")) reasons.push(`cgroup v2 at ${base} does not enable cpu for child groups (cgroup.subtree_control)`);
    else return { kind: "cgroup2", base };
  }
  const v1 = join(root, "cpu");
  if (existsSync(join(v1, "cpu.shares")) && existsSync(join(v1, "cpu.cfs_quota_us"))) return { kind: "cgroup1", base: v1 };
  reasons.push(`no cgroup v1 cpu controller at ${v1}`);
  return { kind: "none", reason: reasons.join("; ") };
}

/** The cgroups of one lab: `<base>/<tag>/<host>`. */
export class HostCgroups {
  private readonly made: string[] = [];

  private constructor(
    readonly controller: CgroupController | null,
    readonly isolation: CpuIsolation,
    private readonly dir: string | null,
  ) {}

  /** Creates a group per host (or none, when no controller can be used: `isolation` says why). */
  static create(tag: string, hosts: readonly string[], coresPerHost: number | null, root = "/sys/fs/cgroup"): HostCgroups {
    if (coresPerHost !== null && !(coresPerHost > 0)) throw new Error(`a host's CPU cap must be > 0 cores, got ${coresPerHost}`);
    const found = findCpuController(root);
    if (found.kind === "none") {
      if (coresPerHost !== null) throw new Error(`cannot cap each host at ${coresPerHost} cores: ${found.reason}`);
      return new HostCgroups(null, { kind: "none", coresPerHost: null, weight: null, detail: `none: ${found.reason}` }, null);
    }
    const dir = join(found.base, tag);
    const quota = coresPerHost === null ? null : Math.max(1000, Math.round(coresPerHost * PERIOD_US));
    const g = new HostCgroups(found, describe(found, coresPerHost, quota), dir);
    try {
      mkdirSync(dir);
      g.made.push(dir);
      if (found.kind === "cgroup2") writeFileSync(join(dir, "cgroup.subtree_control"), "+cpu");
      for (const h of hosts) {
        const d = join(dir, h);
        mkdirSync(d);
        g.made.push(d);
        if (found.kind === "cgroup2") {
          writeFileSync(join(d, "cpu.weight"), String(V2_WEIGHT));
          writeFileSync(join(d, "cpu.max"), `${quota ?? "max"} ${PERIOD_US}`);
        } else {
          writeFileSync(join(d, "cpu.shares"), String(V1_SHARES));
          writeFileSync(join(d, "cpu.cfs_period_us"), String(PERIOD_US));
          writeFileSync(join(d, "cpu.cfs_quota_us"), String(quota ?? -1));
        }
      }
    } catch (e) {
      g.destroy();
      throw new Error(`cannot set up the hosts' cgroups under ${dir}: ${(e as Error).message}`);
    }
    return g;
  }

  /** Moves a process (and so everything it starts afterwards) into the host's group. */
  add(host: string, pid: number): void {
    if (!this.dir) return;
    writeFileSync(join(this.dir, host, "cgroup.procs"), String(pid));
  }

  /** The pids in a host's group (empty without a controller). */
  pids(host: string): number[] {
    if (!this.dir) return [];
    return readText(join(this.dir, host, "cgroup.procs")).split(/\s+/).filter(Boolean).map(Number);
  }

  /** Removes the groups (their processes must be gone); returns what could not be removed. */
  destroy(): string[] {
    const left: string[] = [];
    for (const d of [...this.made].reverse()) {
      try {
        rmdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") left.push(d);
      }
    }
    // A group whose last process is still exiting stays listed, so the caller's retry removes it later.
    this.made.splice(0, this.made.length, ...[...left].reverse());
    return left;
  }

  /** The lab's group directories that still exist. */
  leftovers(): string[] {
    return this.dir && existsSync(this.dir) ? [this.dir] : [];
  }
}

function describe(c: CgroupController, cores: number | null, quota: number | null): CpuIsolation {
  if (c.kind === "cgroup2") {
    return {
      kind: "cgroup2",
      coresPerHost: cores,
      weight: V2_WEIGHT,
      detail: `cgroup v2 (${c.base}): one group per host, cpu.weight ${V2_WEIGHT}, cpu.max ${quota ?? "max"} ${PERIOD_US}${cores === null ? " (equal shares, no cap)" : ` (at most ${cores} core(s) per host)`}`,
    };
  }
  return {
    kind: "cgroup1",
    coresPerHost: cores,
    weight: V1_SHARES,
    detail: `cgroup v1 cpu controller (${c.base}): one group per host, cpu.shares ${V1_SHARES}, cpu.cfs_quota_us ${quota ?? -1} per ${PERIOD_US} us${cores === null ? " (equal shares, no cap)" : ` (at most ${cores} core(s) per host)`}`,
  };
}

/** Removes lab groups (`etp-<pid36>-<n>`) whose creator is dead; their processes are gone with their namespaces. */
export function removeStaleCgroups(isDeadOwner: (tag: string) => boolean, root = "/sys/fs/cgroup"): void {
  const c = findCpuController(root);
  if (c.kind === "none") return;
  let entries: string[] = [];
  try {
    entries = readdirSync(c.base).filter((e) => /^etp-[0-9a-z]+-\d+$/.test(e) && isDeadOwner(e));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = join(c.base, e);
    for (const h of readdirSync(dir, { withFileTypes: true })) if (h.isDirectory()) rmdirSafe(join(dir, h.name));
    rmdirSafe(dir);
  }
}

function rmdirSafe(d: string): void {
  try {
    rmdirSync(d);
  } catch {
    /* still has processes, or already gone */
  }
}
