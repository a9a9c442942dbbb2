/**
 * Leases are state: after kill -9 and a restart an etcd-ts member has the same leases (with their
 * keys attached again), a revoked lease stays revoked, and the restarted leader's expiry clock
 * starts over (full TTL + election timeout), as etcd's.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";

describe("leases across kill -9 and restart (etcd-ts)", () => {
  const members: MemberProcess[] = [];
  after(async () => {
    for (const m of members) await m.dispose();
  });

  test("leases, attached keys and revokes survive; expiry restarts from the full TTL", async () => {
    const m1 = await startMember("etcd-ts");
    members.push(m1);
    const ctl = (m: MemberProcess, ...args: string[]) => etcdctl(m.endpoint, args);
    const idOf = (s: string) => /lease ([0-9a-f]{16}) granted/.exec(s)![1]!;
    const keep = idOf((await ctl(m1, "lease", "grant", "100")).stdout);
    const gone = idOf((await ctl(m1, "lease", "grant", "100")).stdout);
    const short = idOf((await ctl(m1, "lease", "grant", "4")).stdout);
    await ctl(m1, "put", "--lease=" + keep, "a", "1");
    await ctl(m1, "put", "--lease=" + keep, "b", "1");
    await ctl(m1, "put", "--lease=" + gone, "c", "1");
    await ctl(m1, "put", "--lease=" + short, "s", "1");
    await ctl(m1, "put", "b", "2"); // overwritten without a lease: detached
    await ctl(m1, "lease", "revoke", gone);
    await new Promise((r) => setTimeout(r, 2500)); // the short lease is 2.5 s into its 4 s

    await m1.kill("SIGKILL");
    const m2 = await startMember("etcd-ts", { dataDir: m1.dataDir, clientPort: Number(m1.endpoint.split(":")[1]) });
    members.push(m2);
    const list = (await ctl(m2, "lease", "list")).stdout;
    assert.match(list, /found 2 leases/);
    assert.ok(list.includes(keep) && list.includes(short) && !list.includes(gone), list);
    assert.match((await ctl(m2, "lease", "timetolive", "--keys", keep)).stdout, /granted with TTL\(100s\), remaining\((9\d|100)s\), attached keys\(\[a\]\)/);
    // restarted leader: the 4 s lease got a fresh 4 s + 1 s election timeout, not the 1.5 s it had left
    const t = Number(/remaining\((-?\d+)s\)/.exec((await ctl(m2, "lease", "timetolive", short)).stdout)?.[1]);
    assert.ok(t >= 3, `short lease remaining ${t}s after restart`);
    assert.equal((await ctl(m2, "get", "s", "--print-value-only")).stdout.trim(), "1");
    assert.match((await ctl(m2, "lease", "revoke", gone)).stderr, /requested lease not found/);
    // and it still expires under the restarted leader
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await ctl(m2, "get", "s", "--print-value-only")).stdout.trim() !== "") await new Promise((r) => setTimeout(r, 200));
    assert.equal((await ctl(m2, "get", "s", "--print-value-only")).stdout.trim(), "");
    assert.equal((await ctl(m2, "lease", "revoke", keep)).code, 0);
    assert.equal((await ctl(m2, "get", "", "--prefix", "--keys-only")).stdout.trim(), "b");
  });
});
