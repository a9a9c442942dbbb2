/**
 * Status.errors as etcd's maintenanceServer.Status fills it: "etcdserver: no leader" while the
 * member has no leader (here: a 3-member etcd-ts cluster that lost two members), before any alarm.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startExtraMember, type ExtraMember } from "../support/launcher.js";
import { rpc, waitConverged, waitUntil } from "../support/cluster-client.js";
import { freePort } from "../support/ports.js";

const dir = mkdtempSync(join(tmpdir(), "etcd-ts-status-no-leader-"));
const members: ExtraMember[] = [];
after(async () => {
  for (const m of members) await m.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a member without a leader lists 'etcdserver: no leader' in Status.errors", { timeout: 120_000 }, async () => {
  const urls = [];
  for (let i = 0; i < 3; i++) urls.push({ name: `m${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` });
  const initialCluster = urls.map((u) => `${u.name}=${u.peer}`).join(",");
  for (const u of urls) {
    members.push(startExtraMember("etcd-ts", { name: u.name, clientUrl: u.client, peerUrl: u.peer, dataDir: join(dir, u.name), logFile: join(dir, `${u.name}.log`), initialCluster, state: "new" }));
  }
  const survivor = new URL(urls[0]!.client).host;
  await waitConverged(urls.map((u) => new URL(u.client).host), 60_000);
  const errorsOf = async () => {
    const c = rpc(survivor, "Maintenance");
    try {
      return (await c.call<{ errors: string[] }>("Status", {})).errors;
    } finally {
      c.close();
    }
  };
  assert.deepEqual(await errorsOf(), []);
  await members[1]!.stop();
  await members[2]!.stop();
  const errors = await waitUntil(async () => {
    const e = await errorsOf();
    return e.length > 0 ? e : undefined;
  }, 30_000, "the survivor to lose its leader");
  assert.deepEqual(errors, ["etcdserver: no leader"]);
});
