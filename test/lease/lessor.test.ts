/** The lessor with an injected clock: grant/revoke rules, primary-only expiry, renew, persistence, key attachment. */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Lessor, LEASE_BUCKET, MAX_LEASE_TTL, NotPrimaryError, decodeLease, encodeLease, leaseIdOfKey, leaseKey, minLeaseTtl } from "../../server/lease/index.js";
import { ErrLeaseExists as ErrLeaseExist, ErrLeaseNotFound, ErrLeaseTTLTooLarge } from "../../server/lease/errors.js";
import { B, NONE, S, openTempStore, type TempStore } from "../mvcc/helpers.js";
import { settle } from "../support/manual-clock.js";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const stores: TempStore[] = [];
function fresh(): TempStore {
  const t = openTempStore();
  stores.push(t);
  return t;
}
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

describe("minimum TTL", () => {
  it("is etcd's ceil((3 * electionTicks / 2) heartbeats) with Go's integer divisions", () => {
    assert.equal(minLeaseTtl(100, 1000), 2); // 15 heartbeats = 1.5 s
    assert.equal(minLeaseTtl(50, 500), 1); // 15 * 50 ms = 0.75 s
    assert.equal(minLeaseTtl(100, 1500), 3); // 22 * 100 ms = 2.2 s
    assert.equal(minLeaseTtl(300, 1000), 2); // 3 ticks -> 4 * 300 ms = 1.2 s
  });
});

describe("lease records", () => {
  it("encode as leasepb.Lease and key by the 8-byte big-endian ID", () => {
    const rec = { id: 0x694d77aa9e38260fn, ttl: 60, remainingTtl: 0 };
    const enc = encodeLease(rec);
    assert.deepEqual(decodeLease(enc), rec);
    assert.equal(enc[0], 0x08);
    assert.deepEqual(encodeLease({ id: 1n, ttl: 5, remainingTtl: 3 }), Buffer.from([0x08, 1, 0x10, 5, 0x18, 3]));
    assert.equal(leaseKey(0x0102n).toString("hex"), "0000000000000102");
    assert.equal(leaseIdOfKey(leaseKey(-2n)), -2n);
  });
});

describe("grant", () => {
  it("rejects ID 0, a TTL above etcd's maximum, and an ID in use; raises short and negative TTLs to the minimum", () => {
    const l = new Lessor(undefined, { minTtl: 2 });
    assert.throws(() => l.grant(0n, 10), (e) => e === ErrLeaseNotFound);
    assert.throws(() => l.grant(1n, MAX_LEASE_TTL + 1), (e) => e === ErrLeaseTTLTooLarge);
    assert.equal(l.grant(1n, MAX_LEASE_TTL).ttl, MAX_LEASE_TTL);
    assert.throws(() => l.grant(1n, 10), (e) => e === ErrLeaseExist);
    assert.equal(l.grant(2n, 0).ttl, 2);
    assert.equal(l.grant(3n, -5).ttl, 2);
    assert.equal(l.grant(4n, 1).ttl, 2);
    assert.equal(l.grant(5n, 30).ttl, 30);
    assert.equal(l.size(), 5);
  });

  it("a follower keeps no expiry; the primary starts the clock at grant", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 2, now: c.now });
    const a = l.grant(1n, 10);
    assert.equal(l.remainingMs(a), Infinity);
    l.promote(0);
    const b = l.grant(2n, 10);
    assert.equal(l.remainingMs(b), 10_000);
    assert.equal(l.remainingSeconds(b), 10);
    c.advance(1500);
    assert.equal(l.remainingSeconds(b), 8); // 8.5 s truncated, as etcd's int64(Seconds())
  });
});

describe("expiry (primary only)", () => {
  it("promote gives every lease its TTL plus the extension; expired leases are reported once per retry interval", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now, expiredRetryMs: 3000 });
    l.grant(1n, 5);
    l.grant(2n, 10);
    assert.deepEqual(l.findExpired(10), [], "a follower reports nothing");
    c.advance(60_000);
    assert.deepEqual(l.findExpired(10), []);
    l.promote(1000);
    assert.equal(l.remainingMs(l.lookup(1n)!), 6000);
    c.advance(5999);
    assert.deepEqual(l.findExpired(10), []);
    c.advance(1);
    assert.deepEqual(l.findExpired(10).map((x) => x.id), [1n]);
    assert.deepEqual(l.findExpired(10), [], "not again before the retry interval");
    c.advance(3000);
    assert.deepEqual(l.findExpired(10).map((x) => x.id), [1n], "still there after the retry interval: reported again");
    c.advance(5000);
    assert.deepEqual(l.findExpired(10).map((x) => x.id).sort(), [1n, 2n]);
    assert.deepEqual(l.leases().map((x) => x.id), [1n, 2n], "soonest expiry first");
  });

  it("findExpired honours its limit; revoked and renewed leases are not reported", async () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now });
    l.promote(0);
    for (let i = 1n; i <= 5n; i++) l.grant(i, 1);
    c.advance(500);
    await l.renew(3n);
    l.revoke(4n, () => undefined);
    c.advance(600);
    const first = l.findExpired(2).map((x) => x.id);
    assert.equal(first.length, 2);
    const rest = l.findExpired(10).map((x) => x.id);
    assert.deepEqual([...first, ...rest].sort(), [1n, 2n, 5n]);
  });

  it("demote forgets expiries and stops reporting; promote again restarts them", () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now });
    l.promote(0);
    l.grant(1n, 2);
    l.demote();
    assert.equal(l.isPrimary(), false);
    assert.equal(l.remainingMs(l.lookup(1n)!), Infinity);
    c.advance(10_000);
    assert.deepEqual(l.findExpired(10), []);
    l.promote(500);
    assert.equal(l.remainingMs(l.lookup(1n)!), 2500);
  });
});

describe("renew", () => {
  it("only the primary renews; it resets the expiry to a full TTL and returns the TTL", async () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now });
    l.grant(1n, 10);
    await assert.rejects(l.renew(1n), (e) => e instanceof NotPrimaryError);
    l.promote(0);
    c.advance(7000);
    assert.equal(await l.renew(1n), 10);
    assert.equal(l.remainingMs(l.lookup(1n)!), 10_000);
    await assert.rejects(l.renew(99n), (e) => e === ErrLeaseNotFound);
  });

  it("renewing an expired lease waits for its revoke (then not found) or a demotion (then not primary)", async () => {
    const c = clock();
    const l = new Lessor(undefined, { minTtl: 1, now: c.now });
    l.promote(0);
    l.grant(1n, 1);
    l.grant(2n, 1);
    c.advance(1001);
    let settled = false;
    const p1 = l.renew(1n).finally(() => (settled = true));
    for (let i = 0; i < 10; i++) await settle(); // what the renew would do by itself, it has done
    assert.equal(settled, false, "waits while the revoke goes through raft");
    l.revoke(1n, () => undefined);
    await assert.rejects(p1, (e) => e === ErrLeaseNotFound);
    const p2 = l.renew(2n);
    l.demote();
    await assert.rejects(p2, (e) => e instanceof NotPrimaryError);
  });
});

describe("revoke and attached keys", () => {
  it("hands the attached keys, sorted bytewise, to the deleter, then forgets the lease", () => {
    const l = new Lessor(undefined, { minTtl: 1 });
    l.grant(7n, 10);
    l.hooks.attach(7n, B("zeta"));
    l.hooks.attach(7n, B("alpha"));
    l.hooks.attach(7n, Buffer.from([0xff, 0x01]));
    l.hooks.attach(7n, B("mid"));
    l.hooks.detach(7n, B("mid"));
    assert.equal(l.leaseOf(B("alpha")), 7n);
    assert.deepEqual(l.lookup(7n)!.keys().map(S), ["alpha", "zeta", "\xff\x01"]);
    let got: string[] = [];
    l.revoke(7n, (keys) => (got = keys.map(S)));
    assert.deepEqual(got, ["alpha", "zeta", "\xff\x01"]);
    assert.equal(l.lookup(7n), undefined);
    assert.equal(l.leaseOf(B("alpha")), 0n);
    assert.equal(l.hooks.exists(7n), false);
    assert.throws(() => l.revoke(7n, () => assert.fail("no deleter call for a missing lease")), (e) => e === ErrLeaseNotFound);
    l.hooks.detach(7n, B("alpha")); // detaching from a revoked lease is ignored, as etcd
  });

  it("the KV store attaches on put, detaches on overwrite and delete, and re-attaches at open", async () => {
    const t = fresh();
    const mk = () => new Lessor(t.backend.bucket(LEASE_BUCKET), { minTtl: 1 });
    let l = mk();
    t.store.setLeaseHooks(l.hooks);
    l.grant(1n, 60);
    l.grant(2n, 60);
    t.store.write(1, (txn) => {
      txn.put(B("a"), B("1"), 1n);
      txn.put(B("b"), B("1"), 1n);
      txn.put(B("c"), B("1"), 2n);
    });
    t.store.write(2, (txn) => txn.put(B("b"), B("2"), 0n)); // overwrite without a lease: detached
    t.store.write(3, (txn) => txn.put(B("c"), B("2"), 1n)); // moved to lease 1
    t.store.write(4, (txn) => txn.deleteRange(B("a"), NONE)); // deleted: detached
    t.store.write(5, (txn) => txn.put(B("d"), B("1"), 1n));
    assert.deepEqual(l.lookup(1n)!.keys().map(S), ["c", "d"]);
    assert.deepEqual(l.lookup(2n)!.keys().map(S), []);

    // revoke deletes the keys in one revision (as the applier does it)
    const before = t.store.currentRevision();
    l.revoke(1n, (keys) => t.store.write(6, (txn) => keys.forEach((k) => txn.deleteRange(k, NONE))));
    assert.equal(t.store.currentRevision(), before + 1);
    assert.deepEqual(t.store.range(B("a"), Buffer.from([0])).kvs.map((kv) => S(kv.key)), ["b"]);

    // restart: leases come back from the bucket (no expiry), keys re-attach through the store
    t.store.write(7, (txn) => txn.put(B("e"), B("1"), 2n));
    await t.backend.committed();
    await t.reopen();
    l = mk();
    t.store.setLeaseHooks(l.hooks);
    assert.equal(l.lookup(1n), undefined);
    assert.equal(l.lookup(2n)!.ttl, 60);
    assert.equal(l.remainingMs(l.lookup(2n)!), Infinity);
    assert.deepEqual(l.lookup(2n)!.keys().map(S), ["e"]);
  });

  it("after the backend is replaced by a leader's snapshot, recover + re-attach give the snapshot's leases and keys", async () => {
    const a = fresh();
    const la = new Lessor(a.backend.bucket(LEASE_BUCKET), { minTtl: 1 });
    a.store.setLeaseHooks(la.hooks);
    la.grant(1n, 30);
    a.store.write(1, (txn) => txn.put(B("k"), B("v"), 1n));
    const file = join(a.dir, "snap.db");
    await a.backend.backup(file);

    const b = fresh();
    const lb = new Lessor(b.backend.bucket(LEASE_BUCKET), { minTtl: 1 });
    b.store.setLeaseHooks(lb.hooks);
    lb.grant(2n, 30);
    b.store.write(1, (txn) => txn.put(B("x"), B("v"), 2n));
    await b.store.restoreFrom(file);
    lb.recover();
    b.store.setLeaseHooks(lb.hooks);
    assert.equal(lb.lookup(2n), undefined);
    assert.deepEqual(lb.lookup(1n)!.keys().map(S), ["k"]);
    assert.equal(lb.leaseOf(B("x")), 0n);
  });

  it("recover raises persisted TTLs below the minimum (a member restarted with a shorter election timeout)", async () => {
    const t = fresh();
    new Lessor(t.backend.bucket(LEASE_BUCKET), { minTtl: 1 }).grant(9n, 1);
    await t.backend.committed();
    const l = new Lessor(t.backend.bucket(LEASE_BUCKET), { minTtl: 3 });
    assert.equal(l.lookup(9n)!.ttl, 3);
  });
});
