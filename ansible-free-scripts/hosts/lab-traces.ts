/**
 * What a hosts lab leaves on the machine besides namespaces, and how it is found again: the
 * service user the members run as (named after the lab), the lab's directory under the temp dir,
 * mounts (only ever inside the hosts' own mount namespaces) and processes. Used by the lab's
 * teardown (to prove nothing is left) and by the next lab (to remove what a dead run left).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeStaleCgroups } from "./cgroup.js";
import { ownerIsDead, removeStaleLabs } from "./netns.js";

const LAB_NAME = /^etp-[0-9a-z]+-\d+$/;

export function labDirOf(tag: string): string {
  return join(tmpdir(), `${tag}-hosts`);
}

export function userExists(user: string): boolean {
  try {
    execFileSync("id", ["-u", user], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function groupExists(group: string): boolean {
  try {
    execFileSync("getent", ["group", group], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A system user (and its group) for the lab's members: made by the lab, so hosts do not race to useradd it. */
export function createServiceUser(user: string): void {
  execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--", user], { stdio: "pipe" });
}

export function removeServiceUser(user: string): void {
  if (userExists(user)) execFileSync("userdel", ["--", user], { stdio: "ignore" });
  if (groupExists(user)) execFileSync("groupdel", ["--", user], { stdio: "ignore" });
}

/** Users and groups named after the lab that still exist. */
export function userLeftovers(user: string): string[] {
  return [...(userExists(user) ? [`user ${user}`] : []), ...(groupExists(user) ? [`group ${user}`] : [])];
}

/** Mounts anywhere (any process's mount namespace) whose mount point is under `dir`. */
export function mountsUnder(dir: string): string[] {
  const found = new Set<string>();
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  const seenNs = new Set<string>();
  for (const pid of pids) {
    let text: string;
    try {
      // One read per mount namespace.
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (seenNs.has(ns)) continue;
      seenNs.add(ns);
    } catch {
      /* gone, or not ours to see: read the table anyway */
    }
    try {
      text = readFileSync(`/proc/${pid}/mountinfo`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const mountPoint = line.split(" ")[4];
      if (mountPoint && (mountPoint === dir || mountPoint.startsWith(`${dir}/`))) found.add(`${mountPoint} (pid ${pid})`);
    }
  }
  return [...found];
}

/** Pids among `pids` that still run (zombies count as gone). */
export function stillRunning(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
      return false;
    }
  });
}

/** Removes what labs of dead processes left: namespaces (and their processes), cgroups, users, directories. */
export function removeStaleHostsLabs(): void {
  removeStaleLabs();
  removeStaleCgroups(ownerIsDead);
  let users: string[] = [];
  try {
    users = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .map((l) => l.split(":")[0] ?? "")
      .filter((u) => LAB_NAME.test(u) && ownerIsDead(u));
  } catch {
    /* no passwd file */
  }
  for (const u of users) {
    try {
      removeServiceUser(u);
    } catch {
      /* best effort: the next run tries again */
    }
  }
  for (const e of readdirSync(tmpdir())) {
    const m = /^(etp-[0-9a-z]+-\d+)-hosts$/.exec(e);
    if (m && ownerIsDead(m[1]!) && existsSync(join(tmpdir(), e))) rmSync(join(tmpdir(), e), { recursive: true, force: true });
  }
}
