/**
 * The restore drill of etcd's disaster-recovery guide, on etcd-ts: a 3-member cluster takes writes
 * (with overwrites, deletes and a lease), `etcdctl snapshot save` from one member, the cluster is
 * destroyed (killed, data dirs removed), `etcd-ts snapshot restore` builds 3 new data dirs with a
 * new token, the new cluster starts from them, and every key comes back with its create/mod
 * revision, version and value, at the same revision; the members agree (HashKV) and take writes.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { packageRoot } from "../../server/util/package-root.js";
import { startExtraMember, type ExtraMember } from "../support/launcher.js";
import { etcdctl, hashKV, memberList, parseCtlJson, waitConverged } from "../support/cluster-client.js";
import { freePort } from "../support/ports.js";

const run = promisify(execFile);

interface Node {
  name: string;
  clientUrl: string;
  peerUrl: string;
  endpoint: string;
}

async function nodes(n: number): Promise<Node[]> {
  const out: Node[] = [];
  for (let i = 0; i < n; i++) {
    const [c, p] = [await freePort(), await freePort()];
    out.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${c}`, peerUrl: `http://127.0.0.1:${p}`, endpoint: `127.0.0.1:${c}` });
  }
  return out;
}

interface Kv {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
}

async function clusterId(endpoint: string): Promise<string> {
  const r = await etcdctl(endpoint, ["get", "x", "-w", "json"]);
  return String(parseCtlJson<{ header: { cluster_id: string } }>(r.stdout).header.cluster_id);
}

async function everything(endpoint: string): Promise<{ revision: number; kvs: Kv[] }> {
  const r = await etcdctl(endpoint, ["get", "", "--from-key", "-w", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = parseCtlJson<{ header: { revision: number }; kvs?: (Kv & { lease?: string })[] }>(r.stdout);
  return { revision: Number(j.header.revision), kvs: (j.kvs ?? []).map(({ key, value, create_revision, mod_revision, version }) => ({ key, value, create_revision, mod_revision, version })) };
}

describe("restore drill: 3 members, snapshot, destroy, restore, every key and revision back", { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-restore-drill-"));
  const running: ExtraMember[] = [];
  after(async () => {
    for (const m of running) await m.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startCluster(ns: Node[], token: string, sub: string, dataDirs?: string[]): Promise<ExtraMember[]> {
    const initialCluster = ns.map((n) => `${n.name}=${n.peerUrl}`).join(",");
    const ms = ns.map((n, i) =>
      startExtraMember("etcd-ts", {
        name: n.name,
        clientUrl: n.clientUrl,
        peerUrl: n.peerUrl,
        dataDir: dataDirs?.[i] ?? join(dir, sub, n.name),
        logFile: join(dir, `${sub}-${n.name}.log`),
        initialCluster,
        state: "new",
        token,
      }),
    );
    running.push(...ms);
    await waitConverged(
      ns.map((n) => n.endpoint),
      60_000,
    );
    return ms;
  }

  test("drill", async () => {
    const old = await nodes(3);
    const first = await startCluster(old, "drill-old", "old");
    const ep = old[0]!.endpoint;
    const ops: string[][] = [];
    for (let i = 0; i < 300; i++) ops.push(["put", `k/${String(i % 120).padStart(3, "0")}`, `v${i}`]);
    for (let i = 0; i < 20; i++) ops.push(["del", `k/${String(i * 5).padStart(3, "0")}`]);
    for (const op of ops) assert.equal((await etcdctl(ep, op)).code, 0);
    const lease = await etcdctl(ep, ["lease", "grant", "600"]);
    const leaseId = /lease ([0-9a-f]+) granted/.exec(lease.stdout)![1]!;
    assert.equal((await etcdctl(ep, ["put", "leased", "x", `--lease=${leaseId}`])).code, 0);
    await waitConverged(
      old.map((n) => n.endpoint),
      30_000,
    );
    const want = await everything(ep);
    const oldCluster = await clusterId(ep);
    assert.ok(want.kvs.length > 90);

    const file = join(dir, "backup.db");
    const saved = await etcdctl(old[1]!.endpoint, ["snapshot", "save", file]);
    assert.equal(saved.code, 0, saved.stderr);
    const st = await run(process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), "snapshot", "status", file, "-w", "json"]);
    assert.equal((JSON.parse(st.stdout) as { revision: number }).revision, want.revision);

    // destroy: every member killed, every data dir gone
    for (const m of first) await m.stop();
    rmSync(join(dir, "old"), { recursive: true, force: true });

    const fresh = await nodes(3);
    const initialCluster = fresh.map((n) => `${n.name}=${n.peerUrl}`).join(",");
    const dataDirs = fresh.map((n) => join(dir, "new", n.name));
    for (const [i, n] of fresh.entries()) {
      const r = await run(process.execPath, [
        join(packageRoot(), "bin", "etcd-ts.js"),
        "snapshot",
        "restore",
        file,
        `--name=${n.name}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-token=drill-new",
        `--initial-advertise-peer-urls=${n.peerUrl}`,
        `--data-dir=${dataDirs[i]}`,
      ]);
      assert.match(r.stderr, /restored snapshot/);
    }
    await startCluster(fresh, "drill-new", "new", dataDirs);

    for (const n of fresh) {
      const got = await everything(n.endpoint);
      assert.deepEqual(got, want, `member ${n.name}`);
    }
    const members = await memberList(fresh[0]!.endpoint);
    assert.deepEqual(members.map((m) => m.name).sort(), ["m0", "m1", "m2"]);
    assert.deepEqual(members.map((m) => m.peerURLs[0]).sort(), fresh.map((n) => n.peerUrl).sort());
    const leases = await etcdctl(fresh[0]!.endpoint, ["lease", "list"]);
    assert.match(leases.stdout, new RegExp(leaseId));
    // a new cluster (not the old one's ID), whose members agree and take writes
    assert.notEqual(await clusterId(fresh[0]!.endpoint), oldCluster);
    const put = await etcdctl(fresh[2]!.endpoint, ["put", "after-restore", "1"]);
    assert.equal(put.code, 0, put.stderr);
    await waitConverged(
      fresh.map((n) => n.endpoint),
      30_000,
    );
    const hashes = await Promise.all(fresh.map((n) => hashKV(n.endpoint)));
    assert.equal(new Set(hashes.map((h) => h.hash)).size, 1, JSON.stringify(hashes));
    assert.equal(hashes[0]!.revision, want.revision + 1);
  });
});
