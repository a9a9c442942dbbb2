/**
 * etcd's disaster-recovery runbook with --force-new-cluster, walked on 3 etcd-ts members that lose
 * two: writes fail (no quorum); the survivor is restarted with --force-new-cluster and comes back
 * alone with its data (every key, the same revision), takes writes, and `member list` shows it
 * alone; the flag is then taken off (a later restart with it would remove members again, as etcd
 * warns); a new member is added with `etcdctl member add`, started with
 * --initial-cluster-state existing, and replicates.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort } from "../support/ports.js";
import { downCluster, memberOf, readLog, setEnv, startExtraMember, tailLog, upCluster, type ExtraMember, type LocalCluster } from "../support/launcher.js";
import { etcdctl, hostPort, isHealthy, Kv, memberList, status, waitConverged, waitLeader, waitUntil } from "../support/cluster-client.js";

const KEYS = 40;

describe("--force-new-cluster: the runbook after losing two of three members", { timeout: 180_000 }, () => {
  const label = "force-new-cluster";
  let cluster: LocalCluster;
  let joiner: ExtraMember | undefined;
  const kvs: Kv[] = [];
  const kvAt = (endpoint: string) => {
    const k = new Kv(endpoint);
    kvs.push(k);
    return k;
  };
  let survivor = "";
  let revisionBefore = 0;

  before(async () => {
    cluster = await upCluster(label, { members: 3, server: "etcd-ts" });
  });
  after(async () => {
    kvs.forEach((k) => k.close());
    await joiner?.stop("SIGKILL");
    await downCluster(cluster, label, joiner ? [joiner.logFile] : []);
  });

  const ep = (name: string) => hostPort(memberOf(cluster, name).clientUrl);

  test("two members lost: the survivor has no quorum and refuses writes", async () => {
    const eps = cluster.endpoints().map(hostPort);
    const kv = kvAt(eps[0]!);
    for (let i = 0; i < KEYS; i++) await kv.put(`dr/k${String(i).padStart(2, "0")}`, `v${i}`, 5000);
    await waitConverged(eps, 20_000);
    const leader = await waitLeader(cluster, 10_000);
    survivor = cluster.members.map((m) => m.name).find((n) => n !== leader)!;
    revisionBefore = (await status(ep(survivor))).revision;
    for (const m of cluster.members) if (m.name !== survivor) await cluster.kill(m.name);
    const put = await etcdctl(ep(survivor), ["--command-timeout=3s", "put", "dr/lost", "x"]);
    assert.notEqual(put.code, 0, "a write without quorum fails");
  });

  test("restarted with --force-new-cluster: alone, with every key at the same revision, and writes work", async () => {
    assert.ok(survivor, "needs the previous test");
    const m = memberOf(cluster, survivor);
    const idBefore = (await status(ep(survivor))).memberId;
    await cluster.stop(survivor);
    setEnv(m.envFile, { ETCD_FORCE_NEW_CLUSTER: "true" });
    const logFrom = readLog(m.logFile).length;
    await cluster.start(survivor);
    await waitUntil(async () => {
      if (!memberOf(cluster, survivor).running) throw new Error(`${survivor} exited:\n${tailLog(m.logFile)}`);
      return isHealthy(m.clientUrl);
    }, 30_000, `${survivor} /health`);
    assert.match(readLog(m.logFile).slice(logFrom), /"msg":"forcing restart member"/);
    const kv = kvAt(ep(survivor));
    const { kvs: got, revision } = await kv.prefix("dr/");
    assert.equal(got.size, KEYS, "every key survived");
    for (let i = 0; i < KEYS; i++) assert.equal(got.get(`dr/k${String(i).padStart(2, "0")}`), `v${i}`);
    assert.equal(revision, revisionBefore, "the same revision");
    assert.ok((await kv.put("dr/after", "works", 5000)) > revisionBefore, "a write is acknowledged");
    const list = await memberList(ep(survivor));
    assert.equal(list.length, 1, `one member: ${JSON.stringify(list)}`);
    assert.equal(list[0]!.ID, idBefore, "the survivor keeps its member ID");
    assert.equal((await status(ep(survivor))).leader, idBefore, "it leads itself");
    // the runbook: take the flag off before the cluster grows again; the new membership is durable
    setEnv(m.envFile, { ETCD_FORCE_NEW_CLUSTER: "false" });
    await cluster.kill(survivor);
    await cluster.start(survivor);
    await waitUntil(async () => isHealthy(m.clientUrl), 30_000, `${survivor} /health after a kill -9 and restart`);
    assert.equal((await memberList(ep(survivor))).length, 1, "still one member after a restart");
    assert.equal((await kv.get("dr/after")).value, "works");
  });

  test("a member added back with member add + --initial-cluster-state existing replicates", async () => {
    assert.ok(survivor, "needs the previous tests");
    const peerUrl = `http://127.0.0.1:${await freePort()}`;
    const clientUrl = `http://127.0.0.1:${await freePort()}`;
    const r = await etcdctl(ep(survivor), ["member", "add", "joiner", `--peer-urls=${peerUrl}`]);
    assert.equal(r.code, 0, r.stderr);
    const env = Object.fromEntries([...r.stdout.matchAll(/^(ETCD_[A-Z_]+)="(.*)"$/gm)].map((x) => [x[1]!, x[2]!]));
    const expected = [`${survivor}=${memberOf(cluster, survivor).peerUrl}`, `joiner=${peerUrl}`].sort();
    assert.deepEqual((env.ETCD_INITIAL_CLUSTER ?? "").split(",").sort(), expected, "the new cluster: the survivor and the joiner");
    const j = startExtraMember("etcd-ts", {
      name: "joiner",
      clientUrl,
      peerUrl,
      dataDir: join(cluster.dir, "joiner-data"),
      logFile: join(cluster.dir, "joiner.log"),
      initialCluster: env.ETCD_INITIAL_CLUSTER!,
      state: "existing",
    });
    joiner = j;
    await waitUntil(async () => {
      if (!j.running()) throw new Error(`joiner exited:\n${tailLog(j.logFile)}`);
      return isHealthy(clientUrl);
    }, 30_000, "joiner /health");
    const jkv = kvAt(hostPort(clientUrl));
    await waitUntil(async () => (await jkv.prefix("dr/", { serializable: true })).kvs.size === KEYS + 1, 15_000, "the joiner to hold every key");
    const all = [ep(survivor), hostPort(clientUrl)];
    await waitConverged(all, 20_000);
    assert.equal((await memberList(all[0]!)).length, 2);
    // the two-member cluster takes writes (both must acknowledge: quorum of 2)
    await kvAt(all[0]!).put("dr/two", "members", 5000);
    await waitUntil(async () => (await jkv.get("dr/two", { serializable: true })).value === "members", 10_000, "the joiner to replicate a new write");
  });
});
