/**
 * `etcdkit ssh restore`: the deployed cluster's members, on their hosts, restored from a snapshot
 * (etcdkit backup, or etcdctl snapshot save against etcd-ts), as etcd's disaster-recovery guide does
 * it: every member stopped, every data dir rebuilt by `etcd-ts snapshot restore` with the cluster's
 * own names and peer URLs and a new token (so a new cluster ID: nothing from before can rejoin), then
 * every member started and the cluster waited for. The snapshot is checked on this machine first
 * (a trial restore into a temporary dir: sha256, format), so a bad file changes nothing on the
 * hosts. The old data dirs are kept beside the new ones (`<data dir>.pre-restore-<time>`), never
 * deleted by the kit.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { raw, sh } from "../common/shell.js";
import { checkSnapshot, restoreArgs, type RestoreMember } from "../backup/restore-data.js";
import { readSidecar } from "../backup/backup.js";
import type { ClusterSettings, DeployMember, Inventory } from "./inventory.js";
import { destination } from "./remote.js";
import { groupByHost, preflight, waitHealthy, type OpOptions } from "./deploy.js";
import { serviceScript } from "./scripts.js";

export interface RestoreOptions extends OpOptions {
  /** The snapshot file on this machine. */
  readonly from: string;
  /** Initial cluster token of the restored cluster (default `<cluster token>-restored-<time>`). */
  readonly token?: string;
  readonly now?: () => Date;
}

const stampOf = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** The members' restore targets: their own names, peer URLs and data dirs, as deployed. */
export function restoreMembers(inv: Inventory): RestoreMember[] {
  return inv.members.map((m) => ({ name: m.name, peerUrl: m.plan.peerUrl, dataDir: m.plan.config.dataDir }));
}

/**
 * One host's part: each member's data dir rebuilt from the uploaded snapshot into `<data dir>.restoring`
 * first, and only then the old one moved aside and the new one put in its place (a failed restore
 * leaves the old data dir where it was), owned by the service user (0700, as deploy makes them); the
 * upload removed. `args` are this host's members' restore arguments (their --data-dir is
 * `<data dir>.restoring`).
 */
export function restoreScript(c: ClusterSettings, members: readonly RestoreMember[], args: readonly (readonly string[])[], remoteSnapshot: string, stamp: string): string {
  const lines = [
    "set -eu",
    "umask 077",
    sh`svc_user=${c.user}`,
    `owner=; owner_group=; if [ "$(id -u)" = 0 ]; then owner=$svc_user; owner_group=$(id -gn "$svc_user"); fi`,
  ];
  for (const [i, m] of members.entries()) {
    const old = `${m.dataDir}.pre-restore-${stamp}`;
    const next = `${m.dataDir}.restoring`;
    lines.push(
      `# ---- ${m.name.replace(/[\r\n]/g, "?")}`,
      sh`rm -rf -- ${next}`,
      sh`ETCD_LOG_LEVEL=error ${c.nodePath} ${`${c.deployDir}/app/bin/etcd-ts.js`} ${raw(args[i]!.map((a) => sh`${a}`).join(" "))}`,
      sh`if [ -e ${m.dataDir} ]; then mv -- ${m.dataDir} ${old}; echo ${`${m.name}: old data dir kept at ${old}`}; fi`,
      sh`mv -- ${next} ${m.dataDir}`,
      sh`chmod 700 ${m.dataDir}`,
      sh`if [ -n "$owner" ]; then chown -R -- "$owner:$owner_group" ${m.dataDir}; fi`,
      sh`echo ${`${m.name}: data dir ${m.dataDir} restored`}`,
    );
  }
  lines.push(sh`rm -f -- ${remoteSnapshot}`);
  return lines.join("\n");
}

/** Checks the snapshot here (a trial restore), then stops, restores and starts every member. */
export async function sshRestore(inv: Inventory, o: RestoreOptions): Promise<void> {
  if (inv.cluster.server !== "etcd-ts") {
    throw new Error(`cluster.server is ${inv.cluster.server}: etcdkit ssh restore restores etcd-ts members (for etcd, use etcdctl snapshot restore with a snapshot etcd saved)`);
  }
  if (!existsSync(o.from)) throw new Error(`snapshot ${o.from} does not exist`);
  const sidecar = await readSidecar(o.from);
  if (sidecar?.format === "etcd") throw new Error(`${o.from} is a real etcd's snapshot (bbolt): etcd-ts cannot restore it`);
  await checkSnapshot(o.from);
  o.log(`snapshot ${o.from}: checked (sha256 and format, by a trial restore here)`);

  const checks = await preflight(inv, o);
  const problems = checks.flatMap((c) => [...c.problems, ...(c.bundle || o.remote.dryRun ? [] : [`${destination(c.group.target)}: no etcd-ts bundle installed (deploy first)`])]);
  if (problems.length > 0) throw new Error(`not restoring: ${problems.length} problem${problems.length > 1 ? "s" : ""}, nothing was changed:\n  ${problems.join("\n  ")}`);

  const stamp = stampOf((o.now ?? (() => new Date()))());
  const token = o.token ?? `${inv.plan.members[0]!.config.initialClusterToken}-restored-${stamp}`;
  const all = restoreMembers(inv);
  const args = restoreArgs(`${inv.cluster.deployDir}/restore-${stamp}.db`, all.map((m) => ({ ...m, dataDir: `${m.dataDir}.restoring` })), token);
  const onHost = (members: readonly DeployMember[]) => members.map((m) => all.findIndex((r) => r.name === m.name));

  o.log(`stopping ${inv.members.map((m) => m.name).join(", ")}`);
  await Promise.all(inv.members.map((m) => o.remote.run(m.ssh, serviceScript(inv.cluster, m.name, "stop"), `stop ${m.name} on ${destination(m.ssh)}`, { sudo: inv.cluster.sudo, timeoutMs: 120_000 })));
  await Promise.all(
    groupByHost(inv).map(async (g) => {
      const where = destination(g.target);
      const remote = `${inv.cluster.deployDir}/restore-${stamp}.db`;
      await o.remote.copy(g.target, o.from, remote, `upload ${basename(o.from)} to ${where}`);
      const idx = onHost(g.members);
      const script = restoreScript(inv.cluster, idx.map((i) => all[i]!), idx.map((i) => args[i]!), remote, stamp);
      const r = await o.remote.run(g.target, script, `restore ${g.members.map((m) => m.name).join(", ")} on ${where}`, { sudo: inv.cluster.sudo, timeoutMs: 600_000 });
      for (const line of r.stdout.split("\n").filter(Boolean)) o.log(`${where}: ${line}`);
    }),
  );
  // All at once: a member's start (Type=notify) completes only once a quorum runs.
  o.log(`starting ${inv.members.map((m) => m.name).join(", ")} (new cluster token ${token})`);
  await Promise.all(inv.members.map((m) => o.remote.run(m.ssh, serviceScript(inv.cluster, m.name, "start"), `start ${m.name} on ${destination(m.ssh)}`, { sudo: inv.cluster.sudo, timeoutMs: 120_000 })));
  if (o.remote.dryRun) return;
  await waitHealthy(inv, inv.members, inv.cluster.healthTimeoutMs);
  o.log(`restored and healthy: ${inv.plan.endpoints.join(",")}`);
}
