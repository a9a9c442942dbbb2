/**
 * A simple token's life on an in-process member (test/support/inproc/), through the real request
 * layer (embed's clientServices: Auth, KV, one Access): Authenticate goes through raft, the token it
 * answers is accepted while it is used, each use renews it, and --auth-token-ttl after its last use
 * it is refused with etcd's "etcdserver: invalid auth token". Time is the member's manual clock (the
 * token provider's clock seam), so nothing sleeps and load on the machine cannot change the outcome.
 * (Was a process test with sleep(4000) in test/e2e/auth-tokens.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { clientServices } from "../../server/embed/etcd.js";
import { requestContext } from "../../server/etcdserver/requests/context.js";
import { toApiError } from "../../server/etcdserver/requests/api-errors.js";
import type { ClientServices } from "../../server/etcdserver/requests/services.js";
import type { LeaseRequests } from "../../server/etcdserver/requests/lease.js";
import * as api from "../../server/pb/errors.js";
import { rangeRequest } from "../../server/api/concurrency/client.js";
import { InprocCluster } from "../support/inproc/cluster.js";

const TTL_S = 2;
/** Ticks in `ms` (a tick is one 100 ms heartbeat). */
const ticks = (ms: number) => Math.round(ms / 100);

describe("in-process member: a simple token ends --auth-token-ttl after its last use, on the member's clock", { timeout: 120_000 }, () => {
  let c: InprocCluster;
  let s: ClientServices;
  let leases: LeaseRequests;
  const ctx = (token?: string) => requestContext(undefined, token ? { token } : {});

  /** Runs a request to its end, ticking (bounded); its value, or its error as the API answers it. */
  async function run<T>(p: Promise<T>): Promise<{ ok: T } | { err: api.EtcdError }> {
    const o = await c.outcome(p, 50);
    if (o.state === "pending") throw new Error("the request did not settle within 50 ticks");
    return o.state === "fulfilled" ? { ok: o.value } : { err: toApiError(o.error) };
  }
  async function must<T>(p: Promise<T>): Promise<T> {
    const r = await run(p);
    if ("err" in r) throw r.err;
    return r.ok;
  }

  before(async () => {
    c = await InprocCluster.start({ size: 1, flags: [`--auth-token-ttl=${TTL_S}`, "--bcrypt-cost=4"] });
    const m = c.members[0]!;
    ({ services: s, leases } = clientServices(m.config, m.server));
    await must(s.auth.roleAdd(ctx(), { name: "root" }));
    await must(s.auth.userAdd(ctx(), { name: "root", password: "rootpw", options: null }));
    await must(s.auth.userGrantRole(ctx(), { user: "root", role: "root" }));
    await must(s.auth.userAdd(ctx(), { name: "alice", password: "apw", options: null }));
    await must(s.auth.roleAdd(ctx(), { name: "r1" }));
    await must(s.auth.roleGrantPermission(ctx(), { name: "r1", perm: { permType: 2, key: Buffer.from("foo"), range_end: Buffer.alloc(0) } }));
    await must(s.auth.userGrantRole(ctx(), { user: "alice", role: "r1" }));
    await must(s.auth.authEnable(ctx(), {}));
  });
  after(async () => {
    leases?.close();
    await c?.stop();
  });

  test("accepted while used (each use renews it), refused a TTL after the last use", async () => {
    const { token } = await must(s.auth.authenticate(ctx(), { name: "alice", password: "apw" }));
    assert.match(token, /^[a-zA-Z]{16}\.[0-9]+$/, "etcd's simple token: 16 letters, '.', the raft index");
    assert.ok("ok" in (await run(s.kv.range(ctx(token), rangeRequest({ key: Buffer.from("foo") })))));
    // used every 1.5 s for 6 s: three times past the TTL since it was issued, never a TTL unused
    for (let i = 0; i < 4; i++) {
      await c.tick(ticks(1500));
      const r = await run(s.kv.range(ctx(token), rangeRequest({ key: Buffer.from("foo") })));
      assert.ok("ok" in r, `use ${i + 1}, ${(i + 1) * 1.5} s after issue: ${JSON.stringify(r)}`);
    }
    // then unused for the TTL and a sweep (every second) past it
    await c.tick(ticks(TTL_S * 1000 + 1100));
    assert.deepEqual(await run(s.kv.range(ctx(token), rangeRequest({ key: Buffer.from("foo") }))), { err: api.ErrInvalidAuthToken });
    // a fresh Authenticate works again: only that token ended
    const fresh = await must(s.auth.authenticate(ctx(), { name: "alice", password: "apw" }));
    assert.ok("ok" in (await run(s.kv.range(ctx(fresh.token), rangeRequest({ key: Buffer.from("foo") })))));
  });

  test("a token unused for just under the TTL is still accepted", async () => {
    const { token } = await must(s.auth.authenticate(ctx(), { name: "alice", password: "apw" }));
    await c.tick(ticks(TTL_S * 1000) - 1);
    assert.ok("ok" in (await run(s.kv.range(ctx(token), rangeRequest({ key: Buffer.from("foo") })))));
  });
});
