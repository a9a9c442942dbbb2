/**
 * `etcdkit restore --docker-stack etcd-N --from FILE`: a deployed Docker stack's members restored
 * in place from a snapshot, as etcd's disaster-recovery guide does it and as `etcdkit ssh restore`
 * does on hosts:
 * 1. the snapshot is checked here (a trial restore: sha256, format); a bad file changes nothing;
 * 2. every member container is stopped;
 * 3. per member, a one-shot container from the members' own image, with only the member's volume
 *    mounted and no network, is created; the snapshot is copied into the volume with `docker cp` (so
 *    a remote Docker engine works too, and no host folder is exposed); the container runs
 *    `etcd-ts snapshot restore` with the member's name and peer URL and a new token (a new cluster
 *    ID) into `<data dir>.restoring`, moves the old data dir aside to `<data dir>.pre-restore-<time>`
 *    (kept in the volume), puts the new one in its place, gives it to the image's runtime user and
 *    removes the copied snapshot; then the one-shot container is removed;
 * 4. every member container is started and the command waits for every member's /health.
 * The one-shot runs as root: `docker cp` leaves the copied file root's, and the new data dir must be
 * given to the runtime user.
 */
import { dirname, resolve } from "node:path";
import { execa } from "execa";
import { checkSnapshot, restoreArgs } from "../../ansible-free-scripts/backup/restore-data.js";
import { isHealthy } from "../../ansible-free-scripts/common/health.js";
import { planTopology, type TopologyPlan } from "../../topology/index.js";
import { packageRoot } from "../../server/util/package-root.js";
import { dockerTopology, readStackOptions } from "../options.js";
import { CONTAINER_UID } from "../constructs/docker-tls.js";

export interface DockerCommand {
  run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** The docker CLI (with `-H host` when the stacks name a Docker host). */
export function dockerCli(host?: string, bin = "docker"): DockerCommand {
  return {
    run: async (args) => {
      const r = await execa(bin, [...(host ? ["-H", host] : []), ...args], { reject: false, timeout: 600_000 });
      return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}

export interface DockerRestoreOptions {
  readonly plan: TopologyPlan;
  readonly from: string;
  readonly docker: DockerCommand;
  readonly log: (line: string) => void;
  /** Initial cluster token of the restored cluster (default `<token>-restored-<time>`). */
  readonly token?: string;
  readonly now?: () => Date;
  readonly healthTimeoutMs?: number;
}

/** The snapshot's name in the member's volume while it is restored (removed after). */
const SNAPSHOT_NAME = ".etcdkit-restore.db";

/**
 * Run by node in the one-shot container (CommonJS, `node -e`): argv = data dir, time stamp, uid, the
 * copied snapshot, then the `etcd-ts snapshot restore` arguments (--data-dir `<data dir>.restoring`).
 */
const ONE_SHOT = `
const fs = require("fs"), cp = require("child_process"), path = require("path");
const [data, stamp, uid, snapshot, ...args] = process.argv.slice(1);
const next = data + ".restoring";
fs.rmSync(next, { recursive: true, force: true });
const r = cp.spawnSync(process.execPath, ["/app/bin/etcd-ts.js", ...args], { stdio: "inherit", env: { PATH: process.env.PATH, ETCD_LOG_LEVEL: "error" } });
fs.rmSync(snapshot, { force: true });
if (r.status !== 0) { fs.rmSync(next, { recursive: true, force: true }); process.exit(r.status === null ? 1 : r.status); }
if (fs.existsSync(data)) { fs.renameSync(data, data + ".pre-restore-" + stamp); console.log("old data dir kept at " + data + ".pre-restore-" + stamp); }
fs.renameSync(next, data);
const own = (p) => { fs.lchownSync(p, +uid, +uid); if (fs.lstatSync(p).isDirectory()) for (const e of fs.readdirSync(p)) own(path.join(p, e)); };
own(data);
fs.chmodSync(data, 0o700);
console.log("data dir " + data + " restored");
`;

const stampOf = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

async function must(docker: DockerCommand, args: readonly string[], what: string): Promise<string> {
  const r = await docker.run(args);
  if (r.code !== 0) throw new Error(`${what}: docker ${args[0]} exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-5).join("\n")}`);
  return r.stdout;
}

export async function dockerRestore(o: DockerRestoreOptions): Promise<void> {
  const { plan, docker, log } = o;
  if (plan.target !== "docker") throw new Error(`${plan.stackName} is not a Docker stack`);
  const from = resolve(o.from);
  await checkSnapshot(from);
  log(`snapshot ${from}: checked (sha256 and format, by a trial restore here)`);
  const members = plan.members.map((m) => ({ plan: m, container: m.containerName!, volume: m.volumeName!, dataDir: m.config.dataDir }));
  // The members' own image: the one their containers run (refuses a stack that is not deployed).
  const image = (await must(docker, ["inspect", "--format", "{{.Image}}", members[0]!.container], `${plan.stackName} is not deployed here (no container ${members[0]!.container})`)).trim();
  const stamp = stampOf((o.now ?? (() => new Date()))());
  const token = o.token ?? `${plan.members[0]!.config.initialClusterToken}-restored-${stamp}`;
  const inVolume = (m: (typeof members)[number]) => `${dirname(m.dataDir)}/${SNAPSHOT_NAME}`;
  const args = members.map(
    (m, i) => restoreArgs(inVolume(m), members.map((x) => ({ name: x.plan.name, peerUrl: x.plan.peerUrl, dataDir: `${x.dataDir}.restoring` })), token)[i]!,
  );

  log(`stopping ${members.map((m) => m.container).join(", ")}`);
  for (const m of members) await must(docker, ["stop", m.container], `stop ${m.container}`);
  for (const [i, m] of members.entries()) {
    const oneShot = `${m.container}-restore-${stamp.toLowerCase()}`;
    await must(
      docker,
      [
        "create",
        "--name",
        oneShot,
        "--user",
        "0:0",
        "--network",
        "none",
        "--entrypoint",
        "node",
        "--mount",
        `type=volume,source=${m.volume},target=${dirname(m.dataDir)}`,
        image,
        "-e",
        ONE_SHOT,
        m.dataDir,
        stamp,
        String(CONTAINER_UID),
        inVolume(m),
        ...args[i]!,
      ],
      `restore ${m.plan.name}: create the one-shot container`,
    );
    try {
      await must(docker, ["cp", from, `${oneShot}:${inVolume(m)}`], `restore ${m.plan.name}: copy the snapshot into volume ${m.volume}`);
      const out = await must(docker, ["start", "-a", oneShot], `restore ${m.plan.name} into volume ${m.volume}`);
      for (const line of out.split("\n").filter(Boolean)) log(`${m.plan.name}: ${line}`);
    } finally {
      await docker.run(["rm", "--force", oneShot]);
    }
  }
  log(`starting ${members.map((m) => m.container).join(", ")} (new cluster token ${token})`);
  for (const m of members) await must(docker, ["start", m.container], `start ${m.container}`);
  const deadline = Date.now() + (o.healthTimeoutMs ?? 60_000);
  for (const m of members) {
    while (!(await isHealthy(m.plan.clientUrl, 1000, plan.clientTls))) {
      if (Date.now() > deadline) throw new Error(`${m.plan.name} (${m.plan.clientUrl}/health) not healthy after the restore`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  log(`restored and healthy: ${plan.endpoints.join(",")}`);
}

/** `etcdkit restore --docker-stack NAME`: the stack as the stacks' options (ETCDKIT_*) declare it. */
export async function restoreDockerStack(stack: string, from: string, token: string | undefined, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const options = readStackOptions(packageRoot(), env);
  const size = options.sizes.find((n) => `etcd-${n}` === stack);
  if (size === undefined) throw new Error(`--docker-stack ${stack}: not one of the declared Docker stacks (${options.sizes.map((n) => `etcd-${n}`).join(", ")})`);
  const plan = planTopology(dockerTopology(size, options));
  await dockerRestore({ plan, from, docker: dockerCli(options.dockerHost), log, ...(token !== undefined ? { token } : {}) });
}
