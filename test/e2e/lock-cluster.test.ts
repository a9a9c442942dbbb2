/**
 * The Lock and Election services on 3 etcd-ts members: a waiter on a follower gets the lock when the
 * holder's lease expires although the leader that granted it was killed with -9 (the new leader
 * takes over the lease, extended as etcd does, and expires it); an observer on another member sees
 * the election move on.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { downCluster, upCluster, type LocalCluster } from "../support/launcher.js";
import { waitLeader } from "../support/cluster-client.js";
import { grpcClient } from "../support/grpc-client.js";

type Obj = Record<string, any>;

function call(endpoint: string, pkg: string, service: string, method: string, req: object, timeoutMs = 5000): Promise<Obj> {
  const Ctor = clientConstructor(pkg, service);
  const c = new Ctor(endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    (c[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Obj) => void) => void).call(c, req, { deadline: Date.now() + timeoutMs }, (e, r) => {
      c.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

describe("Lock and Election on 3 etcd-ts members", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  const ep = (name: string) => new URL(cluster.members.find((m) => m.name === name)!.clientUrl).host;

  before(async () => {
    cluster = await upCluster("lock", { members: 3, server: "etcd-ts" });
  });
  after(() => downCluster(cluster, "lock"));

  test("a waiter on a follower gets the lock once the holder's lease expires, across a leader kill", async (t) => {
    const leader = await waitLeader(cluster, 15_000);
    const [f1, f2] = cluster.members.map((m) => m.name).filter((n) => n !== leader) as [string, string];
    const lease = grpcClient(ep(leader), "Lease");
    const holderLease = (await lease.call<{ ID: string }>("LeaseGrant", { TTL: 3 })).ID;
    lease.close();
    const held = await call(ep(leader), "v3lockpb", "Lock", "Lock", { name: Buffer.from("job"), lease: holderLease });
    assert.equal(held.key.toString(), `job/${BigInt(holderLease).toString(16)}`);

    const waiterLease = (await grpcClient(ep(f2), "Lease").call<{ ID: string }>("LeaseGrant", { TTL: 60 })).ID;
    const waiting = call(ep(f2), "v3lockpb", "Lock", "Lock", { name: Buffer.from("job"), lease: waiterLease }, 30_000);
    let done = false;
    void waiting.then(() => (done = true), () => (done = true));

    // an observer of an election on f1, with a candidate whose lease is the holder's
    const Ctor = clientConstructor("v3electionpb", "Election");
    const ec = new Ctor(ep(f1), grpc.credentials.createInsecure());
    const seen: string[] = [];
    const obs = (ec.Observe as (r: object) => grpc.ClientReadableStream<Obj>).call(ec, { name: Buffer.from("el") });
    obs.on("data", (r: Obj) => seen.push(r.kv.value.toString()));
    obs.on("error", () => undefined);
    await call(ep(f1), "v3electionpb", "Election", "Campaign", { name: Buffer.from("el"), lease: holderLease, value: Buffer.from("holder") });
    const second = call(ep(f2), "v3electionpb", "Election", "Campaign", { name: Buffer.from("el"), lease: waiterLease, value: Buffer.from("waiter") }, 30_000);

    await new Promise((r) => setTimeout(r, 500));
    assert.equal(done, false, "the waiter waits while the holder's lease lives");
    const killedAt = Date.now();
    await cluster.kill(leader, "SIGKILL");
    const got = await waiting;
    const tookMs = Date.now() - killedAt;
    t.diagnostic(`waiter got the lock ${tookMs} ms after the leader (and the holder's keep-alives) died`);
    assert.equal(got.key.toString(), `job/${BigInt(waiterLease).toString(16)}`);
    // 3 s TTL, extended by the new leader by an election timeout: well under 10 s
    assert.ok(tookMs < 10_000, `took ${tookMs} ms`);
    const elected = await second;
    assert.equal(elected.leader.key.toString(), `el/${BigInt(waiterLease).toString(16)}`);
    const until = Date.now() + 5000;
    while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    t.diagnostic(`observer saw the new leader ${Date.now() - killedAt - tookMs} ms after the waiter was elected`);
    obs.cancel();
    ec.close();
    assert.deepEqual(seen, ["holder", "waiter"]);
  });
});
