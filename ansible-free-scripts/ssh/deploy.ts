/**
 * deploy / rolling-restart / status / teardown over SSH, no Ansible. Every step runs one ssh
 * session per host (hosts in parallel); deploy checks every host first and changes nothing unless
 * all of them can take the deployment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { toEnvFile } from "../../server/config/render.js";
import { ensurePlanPki } from "../../pki/plan-pki.js";
import { plaintextNotice } from "../../topology/tls.js";
import { backupUnitName, tlsOfBackup, renderBackupService, renderBackupTimer, renderUnit, serverCommand, unitFileName } from "../../topology/index.js";
import { packageRoot } from "../../server/util/package-root.js";
import { isHealthy, isLeader, waitFor } from "../common/health.js";
import { loadAuthFile, resolvePasswords } from "../auth/auth-file.js";
import { applyAuth } from "../auth/auth-apply.js";
import { buildBundle } from "./bundle.js";
import { targetKey, type DeployMember, type Inventory, type SshTarget } from "./inventory.js";
import { destination, type Remote } from "./remote.js";
import { deployScript, preflightScript, type BackupUnitFiles, prepareScript, restartScript, serverBinary, statusScript, teardownScript, unpackBundleScript, type HostMemberFiles } from "./scripts.js";

export interface HostGroup {
  readonly target: SshTarget;
  readonly members: readonly DeployMember[];
}

export function groupByHost(inv: Inventory): HostGroup[] {
  const groups = new Map<string, { target: SshTarget; members: DeployMember[] }>();
  for (const m of inv.members) {
    const k = targetKey(m.ssh);
    const g = groups.get(k) ?? { target: m.ssh, members: [] };
    g.members.push(m);
    groups.set(k, g);
  }
  return [...groups.values()];
}

/** A member's files on its host; `withCertificates` false leaves the certificates' contents out (teardown needs only the folder). */
export function memberFiles(inv: Inventory, m: DeployMember, withCertificates = true): HostMemberFiles {
  const c = inv.cluster;
  const envFile = `${c.envDir}/${m.name}.env`;
  const execStart = serverCommand(c.server, { nodePath: c.nodePath, appRoot: `${c.deployDir}/app`, etcdPath: c.etcdPath });
  const writablePaths = [m.plan.config.dataDir, ...(m.plan.config.walDir ? [m.plan.config.walDir] : [])];
  return {
    name: m.name,
    envFile,
    envText: `# ${m.name} of ${inv.plan.stackName} on ${m.plan.address} (rendered by etcdkit)\n` + toEnvFile(m.plan.config),
    unitText: renderUnit({ memberName: m.name, user: c.user, envFile, execStart, writablePaths, description: `${c.server} member ${m.name} of ${inv.plan.stackName} (etcdkit)` }),
    dataDir: m.plan.config.dataDir,
    writablePaths,
    ...(m.plan.tls ? { tls: tlsFilesOf(m.plan.tls, withCertificates) } : {}),
  };
}

/** A member's certificate folder and files, read from the PKI on this machine. */
function tlsFilesOf(t: NonNullable<DeployMember["plan"]["tls"]>, withContent: boolean): NonNullable<HostMemberFiles["tls"]> {
  const dir = t.paths.cert.slice(0, t.paths.cert.lastIndexOf("/"));
  return { dir, files: withContent ? t.files.map((f) => ({ path: f.target, text: readFileSync(f.source, "utf8"), private: f.private })) : [] };
}

/**
 * The backup timer + service of the cluster (cluster.backup), for the host of its first member:
 * `etcdkit backup` from the bundle over every member's client URL, as the members' user.
 */
export function backupUnits(inv: Inventory): BackupUnitFiles | undefined {
  const c = inv.cluster;
  if (!c.backup) return undefined;
  const spec = {
    cluster: inv.plan.stackName,
    user: c.user,
    nodePath: c.nodePath,
    appDir: `${c.deployDir}/app`,
    endpoints: inv.plan.endpoints,
    backupDir: `${c.backup.dir}/${inv.plan.stackName}`,
    schedule: c.backup.schedule,
    keep: c.backup.keep,
    ...(c.backup.maxAge !== undefined ? { maxAge: c.backup.maxAge } : {}),
    ...tlsOfBackup(inv.members[0]!.plan.tls?.paths),
  };
  return { name: backupUnitName(inv.plan.stackName), backupDir: spec.backupDir, serviceText: renderBackupService(spec), timerText: renderBackupTimer(spec) };
}

/** The backup units go to the host of the first member (one backup per cluster and schedule). */
const backupHost = (inv: Inventory, g: HostGroup) => g.members.some((m) => m.name === inv.members[0]!.name);

export interface OpOptions {
  readonly remote: Remote;
  readonly log: (line: string) => void;
  /** For tests: bundle an unbuilt tree (dist/server/main.js missing). */
  readonly allowUnbuiltBundle?: boolean;
}

export interface Preflight {
  readonly group: HostGroup;
  readonly mode: string;
  readonly bundle: string;
  readonly problems: string[];
}

export async function preflight(inv: Inventory, o: OpOptions): Promise<Preflight[]> {
  const groups = groupByHost(inv);
  return Promise.all(
    groups.map(async (group) => {
      const where = destination(group.target);
      try {
        const r = await o.remote.run(group.target, preflightScript(inv.cluster), `check ${where}`, { sudo: inv.cluster.sudo, timeoutMs: 30_000 });
        const kv = r.stdout.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const);
        const get = (k: string) => kv.find(([key]) => key === k)?.[1] ?? "";
        const problems = [
          ...kv.filter(([k]) => k === "missing").map(([, v]) => `${where}: missing ${v}`),
          ...kv.filter(([k]) => k === "problem").map(([, v]) => `${where}: ${v}`),
          ...(get("mode") === "systemd" ? sandboxConflicts(inv.cluster).map((p) => `${where}: ${p}`) : []),
        ];
        const node = get("node");
        if (inv.cluster.server === "etcd-ts" && !o.remote.dryRun) {
          const major = Number(/^v(\d+)/.exec(node)?.[1] ?? 0);
          if (major < 20) problems.push(`${where}: etcd-ts needs node >= 20 at ${inv.cluster.nodePath}, found ${node || "none"}`);
        }
        return { group, mode: get("mode"), bundle: get("bundle"), problems };
      } catch (e) {
        return { group, mode: "", bundle: "", problems: [`${where}: ${(e as Error).message.split("\n").join(" ")}`] };
      }
    }),
  );
}

/**
 * Under the units' sandbox (ProtectHome=yes, PrivateTmp=yes) a member cannot see /home, /root,
 * /run/user, or the real /tmp and /var/tmp: refuse to put its data dir, its server or the etcd-ts
 * bundle there, rather than leave members failing with 226/NAMESPACE or "not found".
 */
export function sandboxConflicts(c: Inventory["cluster"]): string[] {
  const hidden = ["/home", "/root", "/run/user", "/tmp", "/var/tmp"];
  const under = (p: string) => hidden.find((h) => p === h || p.startsWith(`${h}/`));
  const paths: [string, string][] = [
    ["cluster.dataDir", c.dataDir],
    c.insecure ? ["", ""] : ["cluster.certDir", c.certDir],
    c.backup ? ["cluster.backup.dir", c.backup.dir] : ["", ""],
    c.server === "etcd-ts" ? ["cluster.deployDir", c.deployDir] : ["", ""],
    [c.server === "etcd-ts" ? "cluster.nodePath" : c.server === "etcd" ? "cluster.etcdPath" : "cluster.server", serverBinary(c)],
  ];
  return paths.flatMap(([field, p]) => {
    const h = field ? under(p) : undefined;
    return h ? [`${field} ${p} is under ${h}, which the systemd units hide from members (ProtectHome=yes, PrivateTmp=yes): choose another directory`] : [];
  });
}

export async function deploy(inv: Inventory, o: OpOptions): Promise<void> {
  // The auth file and its passwords are read on this machine before any host is touched.
  const auth = inv.cluster.auth !== undefined ? loadAuthFile(inv.cluster.auth) : undefined;
  if (auth) resolvePasswords(auth);
  const checks = await preflight(inv, o);
  const problems = checks.flatMap((c) => c.problems);
  if (problems.length > 0) throw new Error(`not deploying: ${problems.length} problem${problems.length > 1 ? "s" : ""}, nothing was changed:\n  ${problems.join("\n  ")}`);
  for (const c of checks) o.log(`${destination(c.group.target)}: reachable, ${c.mode || "service manager detected on run"}, members ${c.group.members.map((m) => m.name).join(", ")}`);
  if (inv.plan.insecure) o.log(plaintextNotice(inv.plan.stackName));
  else {
    const pki = await ensurePlanPki(inv.plan);
    const made = pki?.entries.filter((e) => e.action !== "kept").length ?? 0;
    o.log(`TLS: certificates from ${inv.plan.clientTls!.pkiDir}${made > 0 ? ` (${made} made now)` : ""}, copied to ${inv.cluster.certDir}/<member>/`);
  }

  let tmp: string | undefined;
  try {
    let bundle: { file: string; id: string } | undefined;
    if (inv.cluster.server === "etcd-ts") {
      tmp = mkdtempSync(join(tmpdir(), "etcdkit-bundle-"));
      const root = packageRoot();
      if (o.remote.dryRun) bundle = { file: join(tmp, "etcd-ts-bundle.tgz"), id: "<bundle id>" };
      else {
        o.log(`building the etcd-ts bundle from ${root}`);
        bundle = await buildBundle(root, join(tmp, "etcd-ts-bundle.tgz"), { requireBuilt: !o.allowUnbuiltBundle });
      }
    }
    await Promise.all(
      checks.map(async ({ group, bundle: remoteBundle }) => {
        const where = destination(group.target);
        let bundleChanged = false;
        if (bundle && (o.remote.dryRun || remoteBundle !== bundle.id)) {
          const remoteTar = `${inv.cluster.deployDir}/etcd-ts-bundle-${bundle.id.slice(0, 12)}.tgz`;
          await o.remote.run(group.target, prepareScript(inv.cluster), `prepare ${inv.cluster.deployDir} on ${where}`, { sudo: inv.cluster.sudo });
          await o.remote.copy(group.target, bundle.file, remoteTar, `upload the etcd-ts bundle to ${where}`);
          const r = await o.remote.run(group.target, unpackBundleScript(inv.cluster, remoteTar, bundle.id), `unpack the bundle on ${where}`, { sudo: inv.cluster.sudo });
          if (r.stdout) o.log(`${where}: ${r.stdout}`);
          bundleChanged = true;
        } else if (bundle) o.log(`${where}: bundle ${bundle.id.slice(0, 12)} already installed`);
        const r = await o.remote.run(
          group.target,
          deployScript(inv.cluster, group.members.map((m) => memberFiles(inv, m)), bundleChanged, backupHost(inv, group) ? backupUnits(inv) : undefined),
          `install and start ${group.members.map((m) => m.name).join(", ")} on ${where}`,
          { sudo: inv.cluster.sudo },
        );
        for (const line of r.stdout.split("\n").filter(Boolean)) o.log(`${where}: ${line}`);
      }),
    );
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
  if (o.remote.dryRun) {
    if (auth) o.log(`once healthy: apply the auth file ${auth.source} from this machine (users, roles, permissions; then auth enable)`);
    return;
  }
  o.log(`waiting for ${inv.members.length} member${inv.members.length > 1 ? "s" : ""} to report healthy`);
  await waitHealthy(inv, inv.members, inv.cluster.healthTimeoutMs);
  o.log(`healthy: ${inv.plan.endpoints.join(",")}`);
  if (auth) {
    const t = inv.plan.clientTls;
    await applyAuth(auth, { endpoints: inv.plan.endpoints, tls: t ? { cacert: t.ca, cert: t.cert, key: t.key } : {}, log: o.log });
  }
  o.log(`${inv.plan.etcdctl} endpoint status -w table`);
}

export async function waitHealthy(inv: Inventory, members: readonly DeployMember[], timeoutMs: number): Promise<void> {
  await Promise.all(members.map((m) => waitFor(() => isHealthy(m.plan.clientUrl, 1000, inv.plan.clientTls), timeoutMs, `${m.name} (${m.plan.clientUrl}/health)`)));
}

/** One member at a time, followers first and the leader last, waiting for health before and after each. */
export async function rollingRestart(inv: Inventory, o: OpOptions): Promise<void> {
  const byName = new Map(groupByHost(inv).flatMap((g) => g.members.map((m) => [m.name, g] as const)));
  let order = [...inv.members];
  if (!o.remote.dryRun) {
    await waitHealthy(inv, inv.members, inv.cluster.healthTimeoutMs);
    const leaders = await Promise.all(inv.members.map((m) => isLeader(m.plan.clientUrl, 1000, inv.plan.clientTls)));
    order = [...inv.members.filter((_, i) => !leaders[i]), ...inv.members.filter((_, i) => leaders[i])];
  }
  for (const m of order) {
    const g = byName.get(m.name)!;
    const r = await o.remote.run(g.target, restartScript(inv.cluster, m.name), `restart ${m.name} on ${destination(g.target)}`, { sudo: inv.cluster.sudo });
    if (r.stdout) o.log(r.stdout);
    if (o.remote.dryRun) continue;
    // Give the member time to go down, then wait until it and the whole cluster are healthy again.
    await waitHealthy(inv, [m], inv.cluster.healthTimeoutMs);
    await waitHealthy(inv, inv.members, inv.cluster.healthTimeoutMs);
    o.log(`${m.name}: restarted and healthy`);
  }
}

export interface MemberStatus {
  readonly name: string;
  readonly host: string;
  readonly service: string;
  readonly healthy: boolean;
  readonly leader: boolean;
  readonly clientUrl: string;
}

export async function status(inv: Inventory, o: OpOptions): Promise<MemberStatus[]> {
  const groups = groupByHost(inv);
  const services = new Map<string, string>();
  await Promise.all(
    groups.map(async (g) => {
      const r = await o.remote.run(g.target, statusScript(inv.cluster, g.members.map((m) => m.name)), `status on ${destination(g.target)}`, { sudo: inv.cluster.sudo, allowFail: true });
      for (const line of r.stdout.split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) services.set(line.slice(0, eq), line.slice(eq + 1));
      }
      if (r.exitCode !== 0) for (const m of g.members) services.set(m.name, `unreachable (ssh exit ${r.exitCode})`);
    }),
  );
  return Promise.all(
    inv.members.map(async (m) => ({
      name: m.name,
      host: destination(m.ssh),
      service: services.get(m.name) ?? (o.remote.dryRun ? "(dry run)" : "unknown"),
      healthy: o.remote.dryRun ? false : await isHealthy(m.plan.clientUrl, 1000, inv.plan.clientTls),
      leader: o.remote.dryRun ? false : (await isLeader(m.plan.clientUrl, 1000, inv.plan.clientTls)) === true,
      clientUrl: m.plan.clientUrl,
    })),
  );
}

export async function teardown(inv: Inventory, o: OpOptions): Promise<void> {
  await Promise.all(
    groupByHost(inv).map(async (g) => {
      const files = g.members.map((m) => memberFiles(inv, m, false));
      const r = await o.remote.run(g.target, teardownScript(inv.cluster, files, backupUnitName(inv.plan.stackName)), `tear down ${g.members.map((m) => m.name).join(", ")} on ${destination(g.target)}`, { sudo: inv.cluster.sudo });
      for (const line of r.stdout.split("\n").filter(Boolean)) o.log(`${destination(g.target)}: ${line}`);
    }),
  );
}

export { unitFileName };
