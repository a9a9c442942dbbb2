/**
 * The kit's restore drill (issue 14): a local 3-member etcd-ts cluster takes writes (overwrites and
 * deletes), `etcdkit backup` saves it three times with --keep 2 (two backups and their sidecars
 * remain), the cluster is destroyed (`etcdkit local down`), `etcdkit restore --from` builds a new
 * cluster from the newest backup, and every key comes back with its value, create/mod revision
 * and version, at the same revision, under a new cluster ID; the new cluster takes writes. A
 * snapshot with one flipped byte is refused by the restore and leaves nothing running. Everything
 * goes through the CLI in its own processes, as a user runs it.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";
import { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { etcdctl, hostPort, parseCtlJson } from "../support/cluster-client.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-backup-drill-"));
const kit = join(packageRoot(), "bin", "etcdkit.js");
const first = join(tmp, "first");
const second = join(tmp, "second");
const rejected = join(tmp, "rejected");
const real = join(tmp, "real-etcd");
const backups = join(tmp, "backups");

after(async () => {
  for (const d of [first, second, rejected, real]) if (existsSync(join(d, "state.json"))) await (await LocalCluster.attach(d)).down();
  rmSync(tmp, { recursive: true, force: true });
});

function cli(args: string[]) {
  return execa(process.execPath, [kit, ...args], { cwd: tmp, reject: false, timeout: 120_000, env: { NODE_TEST_CONTEXT: "" } });
}

interface Kv {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
}

/** A local cluster's client endpoints and the etcdctl flags of its TLS (the kit deploys TLS by default). */
interface Reach {
  readonly eps: string;
  readonly tls: string[];
}

async function reachOf(dir: string): Promise<Reach> {
  const c = await LocalCluster.attach(dir);
  const t = c.tls;
  return { eps: c.endpoints().map(hostPort).join(","), tls: t ? [`--cacert=${t.ca}`, `--cert=${t.cert}`, `--key=${t.key}`] : [] };
}

const ctl = (r: Reach, args: string[]) => etcdctl(r.eps, [...r.tls, ...args]);

async function everything(reach: Reach): Promise<{ revision: number; clusterId: string; kvs: Kv[] }> {
  const r = await ctl(reach, ["get", "", "--from-key", "-w", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = parseCtlJson<{ header: { revision: number; cluster_id: string }; kvs?: Kv[] }>(r.stdout);
  const kvs = (j.kvs ?? []).map(({ key, value, create_revision, mod_revision, version }) => ({ key, value, create_revision, mod_revision, version }));
  return { revision: Number(j.header.revision), clusterId: String(j.header.cluster_id), kvs };
}


describe("restore drill through the kit: backup, destroy, restore, every key and revision back", { timeout: 300_000 }, () => {
  let before: Awaited<ReturnType<typeof everything>>;
  let newest: string;

  test("a cluster with data, backed up three times with --keep 2", async () => {
    const up = await cli(["local", "up", "--members", "3", "--name", "drill", "--dir", first]);
    assert.equal(up.exitCode, 0, up.stderr + up.stdout);
    const eps = await reachOf(first);
    assert.ok(eps.tls.length > 0, "the local cluster runs TLS, as the kit deploys");
    for (let i = 0; i < 20; i++) assert.equal((await ctl(eps, ["put", `k/${i % 7}`, `v${i}`])).code, 0);
    assert.equal((await ctl(eps, ["del", "k/3"])).code, 0);
    assert.equal((await ctl(eps, ["put", "z", "last"])).code, 0);
    before = await everything(eps);
    assert.equal(before.kvs.length, 7);

    const leader = await (await LocalCluster.attach(first)).leader();
    const nonLeader = (await LocalCluster.attach(first)).members.find((m) => m.name !== leader)!;
    const refused = await cli(["backup", "--endpoints", nonLeader.clientUrl, ...eps.tls, "--backup-dir", backups, "--cluster", "drill"]);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /no leader among the endpoints .* \(they name leader \d+: add its endpoint\)/);

    for (let i = 0; i < 3; i++) {
      const r = await cli(["backup", "--dir", first, "--backup-dir", backups, "--keep", "2", "--max-age", "7d", "--json"]);
      assert.equal(r.exitCode, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /backup: leader \d+ at https:\/\/127\.0\.0\.1:\d+/);
      assert.match(r.stdout, /sha256 [0-9a-f]{64} verified/);
      const sidecar = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { file: string; revision: number; size: number; sha256: string; members: unknown[]; cluster: string };
      assert.equal(sidecar.cluster, "drill");
      assert.equal(sidecar.revision, before.revision);
      assert.equal(sidecar.members.length, 3);
      const db = readFileSync(join(backups, sidecar.file));
      assert.equal(db.length, sidecar.size);
      assert.equal(db.subarray(db.length - 32).toString("hex"), sidecar.sha256);
      newest = join(backups, sidecar.file);
      if (i === 0) assert.equal(r.stdout.includes("(retention)"), false);
      if (i === 2) assert.match(r.stdout, /removed .*drill-\d{8}T\d{9}Z\.db \(retention\)/);
    }
    // For hosts: the restore line of each backed-up member, from the sidecar.
    const plan = await cli(["restore", "--from", newest, "--print-commands", "--token", "new-token", "--data-dir-root", "/var/lib/x"]);
    assert.equal(plan.exitCode, 0, plan.stderr);
    const lines = plan.stdout.split("\n").filter((l) => l.startsWith("etcd-ts "));
    const old = (await LocalCluster.attach(first)).members;
    const initial = old.map((m) => `${m.name}=${m.peerUrl}`).join(",");
    assert.deepEqual(
      lines,
      old.map((m) => `etcd-ts snapshot restore ${newest} --name=${m.name} --initial-cluster=${initial} --initial-cluster-token=new-token --initial-advertise-peer-urls=${m.peerUrl} --data-dir=/var/lib/x/${m.name}`),
    );
    const left = readdirSync(backups).sort();
    assert.equal(left.length, 4, left.join(" "));
    assert.equal(left.filter((f) => f.endsWith(".db")).length, 2);
    assert.equal(left.filter((f) => f.endsWith(".json")).length, 2);
    assert.ok(left.every((f) => /^drill-\d{8}T\d{9}Z\.(db|json)$/.test(f)), left.join(" "));
  });

  test("the cluster destroyed, a new one restored from the newest backup: same keys, revisions, versions", async () => {
    const down = await cli(["local", "down", "--dir", first]);
    assert.equal(down.exitCode, 0, down.stderr);
    assert.equal(existsSync(first), false);

    const r = await cli(["restore", "--from", newest, "--dir", second]);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /restore: .*cluster drill, revision \d+/);
    assert.equal((r.stdout.match(/data dir .* restored from /g) ?? []).length, 3);
    const eps = await reachOf(second);
    const after = await everything(eps);
    assert.equal(after.revision, before.revision);
    assert.deepEqual(after.kvs, before.kvs);
    assert.notEqual(after.clusterId, before.clusterId, "a restore makes a new cluster");
    for (const m of (await LocalCluster.attach(second)).members) assert.deepEqual((await everything({ ...eps, eps: hostPort(m.clientUrl) })).kvs, before.kvs, m.name);
    assert.equal((await ctl(eps, ["put", "after", "restore"])).code, 0);
    assert.equal((await everything(eps)).revision, before.revision + 1);
  });

  test("a snapshot with a flipped byte is refused by the restore, and nothing is left running", async () => {
    const bad = join(tmp, "bad.db");
    copyFileSync(newest, bad);
    const bytes = readFileSync(bad);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(bad, bytes);
    const r = await cli(["restore", "--from", bad, "--dir", rejected, "--members", "1", "--name", "rejected"]);
    assert.equal(r.exitCode, 1, r.stdout);
    assert.match(r.stderr, /expected sha256/);
    assert.equal((await LocalCluster.attach(rejected)).members.filter((m) => m.running).length, 0);
  });

  test("against a real etcd (3.4 on PATH) the backup is etcd's bbolt file, which etcdctl reads; etcdkit restore refuses it", { skip: which("etcd") ? false : "no etcd on PATH" }, async () => {
    const up = await cli(["local", "up", "--members", "1", "--name", "real", "--dir", real, "--server", "etcd"]);
    assert.equal(up.exitCode, 0, up.stderr + up.stdout);
    const eps = await reachOf(real);
    for (let i = 0; i < 5; i++) assert.equal((await ctl(eps, ["put", `r/${i}`, "x"])).code, 0);
    const r = await cli(["backup", "--dir", real, "--backup-dir", join(tmp, "real-backups"), "--json"]);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const sidecar = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { file: string; format: string; revision: number | null };
    assert.equal(sidecar.format, "etcd");
    assert.equal(sidecar.revision, null);
    const file = join(tmp, "real-backups", sidecar.file);
    const st = await etcdctl(eps.eps, ["snapshot", "status", file, "-w", "json"]);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(parseCtlJson<{ revision: number }>(st.stdout).revision, 6);
    const refused = await cli(["restore", "--from", file, "--dir", join(tmp, "never")]);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.stderr, /real etcd's snapshot \(bbolt\): restore it with etcdctl snapshot restore/);
    assert.equal(existsSync(join(tmp, "never")), false);
  });
});
