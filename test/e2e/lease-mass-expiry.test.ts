/**
 * A mass expiry drains at etcd's rate: 2,000 leases of the minimum TTL (2 s), a key attached to each,
 * expiring as fast as they were granted (a few hundred per second). etcd revokes up to 1000 expired
 * leases per second (500 per 500 ms expiry loop, 16 LeaseRevoke proposals in flight), so it keeps up
 * and needs about 2 s for all 2,000 at worst. The bound is generous, not a speed target: every lease
 * and key gone within 30 s of the last nominal expiry (15 times what etcd's rate needs; a server
 * revoking 32 per second still has about 800 left). Run against etcd too, as the oracle of the bound.
 * The exact rate (500 per loop, 16 in flight) is checked with mocked timers in test/lease/revoke-loop.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { grpcClient } from "../support/grpc-client.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const LEASES = 2000;
const TTL_S = 2;
const BOUND_MS = 30_000;
const PREFIX = "mass-expiry/";

/** Grants every lease and puts its key, `concurrency` at a time; resolves when the last put is acknowledged. */
async function grantAll(endpoint: string, concurrency: number): Promise<void> {
  const lease = grpcClient(endpoint, "Lease");
  const kv = grpcClient(endpoint, "KV");
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < LEASES) {
          const i = next++;
          const g = await lease.call<{ ID: string }>("LeaseGrant", { TTL: TTL_S, ID: 0 });
          await kv.call("Put", { key: Buffer.from(`${PREFIX}${i}`), value: Buffer.from("v"), lease: g.ID });
        }
      }),
    );
  } finally {
    lease.close();
    kv.close();
  }
}

/** Leases and attached keys still there. */
async function left(endpoint: string): Promise<{ leases: number; keys: number }> {
  const lease = grpcClient(endpoint, "Lease");
  const kv = grpcClient(endpoint, "KV");
  try {
    const ls = await lease.call<{ leases: unknown[] }>("LeaseLeases", {});
    const r = await kv.call<{ count: string }>("Range", { key: Buffer.from(PREFIX), range_end: Buffer.from("mass-expiry0"), count_only: true });
    return { leases: ls.leases.length, keys: Number(r.count) };
  } finally {
    lease.close();
    kv.close();
  }
}

describe("mass lease expiry", { timeout: 180_000 }, () => {
  const members: MemberProcess[] = [];
  after(async () => {
    for (const m of members) await m.dispose();
  });

  for (const flavor of ["etcd-ts", "etcd"] as Flavor[]) {
    test(`${flavor}: ${LEASES} leases of ${TTL_S} s and their keys are all gone within ${BOUND_MS / 1000} s of the last expiry`, async (t) => {
      const m = await startMember(flavor);
      members.push(m);
      const t0 = Date.now();
      await grantAll(m.endpoint, 32);
      const lastExpiry = Date.now() + TTL_S * 1000;
      let now = await left(m.endpoint);
      while (Date.now() < lastExpiry + BOUND_MS && (now.leases > 0 || now.keys > 0)) {
        await new Promise((r) => setTimeout(r, 250));
        now = await left(m.endpoint);
      }
      t.diagnostic(`granted in ${lastExpiry - TTL_S * 1000 - t0} ms; all gone ${Date.now() - lastExpiry} ms after the last nominal expiry`);
      assert.deepEqual(now, { leases: 0, keys: 0 }, `left ${BOUND_MS / 1000} s after the last nominal expiry`);
      await m.dispose();
    });
  }
});
