/**
 * Differential: etcd's Lock and Election services (v3lockpb, v3electionpb) and the JSON gateway's
 * /v3/lock/* and /v3/election/* routes, driven the same way against Debian's etcd 3.4.23 and
 * etcd-ts. Lease IDs (chosen by each server, also inside the keys as hex) become L1, L2… in order
 * of appearance; cluster and member IDs are dropped; revisions and everything else must match.
 */
import { describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { grpcClient } from "../support/grpc-client.js";
import { leaseNormalizer } from "../support/lease-normalizer.js";
import { gatewayPost } from "../support/gateway.js";
import { assertSameTranscripts, type Transcript } from "../support/transcript.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b = (s: string) => Buffer.from(s);
type Obj = Record<string, unknown>;
const isDeadline = (e: grpc.ServiceError) =>
  e.code === grpc.status.DEADLINE_EXCEEDED || (e.code === grpc.status.UNKNOWN && e.details === "context deadline exceeded");

function recipeClient(endpoint: string, pkg: "v3lockpb" | "v3electionpb", service: "Lock" | "Election") {
  const Ctor = clientConstructor(pkg, service);
  const client = new Ctor(endpoint, grpc.credentials.createInsecure());
  /** A unary call's answer, or its error as {code, details}; `deadlineMs` bounds the wait. */
  const call = (method: string, req: object, deadlineMs = 5000): Promise<unknown> =>
    new Promise((resolve) => {
      (client[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void).call(
        client,
        req,
        { deadline: Date.now() + deadlineMs },
        // A passed deadline is one outcome whichever timer fires first: the client's own (DEADLINE_EXCEEDED,
        // its text carries the address and timings) or the server's answer to it (Unknown "context deadline
        // exceeded", etcd's and etcd-ts's). Which wins is a race of two timers in both servers.
        (e, r) => resolve(e ? (isDeadline(e) ? { deadline: "passed" } : { code: e.code, details: e.details }) : r),
      );
    });
  return { client, call, close: () => client.close() };
}

async function grpcSession(m: MemberProcess): Promise<Transcript> {
  const n = leaseNormalizer();
  const out: Transcript = [];
  const lk = recipeClient(m.endpoint, "v3lockpb", "Lock");
  const el = recipeClient(m.endpoint, "v3electionpb", "Election");
  const kv = grpcClient(m.endpoint, "KV");
  const lease = grpcClient(m.endpoint, "Lease");
  const rec = (label: string, v: unknown) => out.push([label, n.deep(v)]);
  const keys = async (prefix: string) =>
    ((await kv.call("Range", { key: b(prefix), range_end: b(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)) })) as { kvs: Obj[] }).kvs.map((x) => n.str(String(x.key)));
  const grant = async (ttl: number) => (await lease.call<{ ID: string }>("LeaseGrant", { TTL: ttl })).ID;
  try {
    // ---- Lock
    rec("Lock without a lease (gets a 60 s session lease)", await lk.call("Lock", { name: b("L") }));
    rec("the session lease", await lease.call("LeaseLeases", {}));
    rec("a second Lock waits; its deadline passes", await lk.call("Lock", { name: b("L") }, 800));
    await sleep(300);
    rec("the waiter's key is gone again", await keys("L/"));
    const l1 = await grant(30);
    const first = (await lk.call("Lock", { name: b("L2"), lease: l1 })) as { key: Buffer };
    rec("Lock with a lease", first);
    rec("Lock again with the same lease reuses the key", await lk.call("Lock", { name: b("L2"), lease: l1 }));
    const l2 = await grant(30);
    const waiting = lk.call("Lock", { name: b("L2"), lease: l2 }, 10_000);
    await sleep(400);
    rec("the waiter queued behind the holder", (await keys("L2/")).sort());
    rec("Unlock the holder", await lk.call("Unlock", { key: first.key }));
    rec("the waiter gets the lock", await waiting);
    rec("Unlock a key that does not exist", await lk.call("Unlock", { key: b("nope") }));
    rec("Unlock an empty key", await lk.call("Unlock", {}));
    rec("Lock with an unknown lease", await lk.call("Lock", { name: b("L3"), lease: 123456 }));
    rec("Lock with an empty name", await lk.call("Lock", { name: b(""), lease: l1 }));
    await lease.call("LeaseRevoke", { ID: l2 });
    rec("revoking the holder's lease released it", await keys("L2/"));

    // ---- Election
    const observed: unknown[] = [];
    const obs = (el.client.Observe as (r: object) => grpc.ClientReadableStream<Obj>).call(el.client, { name: b("E") });
    obs.on("data", (r: Obj) => observed.push(n.deep(r)));
    obs.on("error", () => undefined);
    rec("Leader with no candidate", await el.call("Leader", { name: b("E") }));
    const e1 = await grant(30);
    const c1 = (await el.call("Campaign", { name: b("E"), lease: e1, value: b("v1") })) as { leader: Obj };
    rec("Campaign", c1);
    await sleep(300); // Observe has moved on to watching the leader key (else etcd's revisions in its headers are timing)
    rec("Leader", await el.call("Leader", { name: b("E") }));
    rec("Proclaim", await el.call("Proclaim", { leader: c1.leader, value: b("v2") }));
    await sleep(300);
    rec("Proclaim with a wrong rev", await el.call("Proclaim", { leader: { ...c1.leader, rev: 1 }, value: b("x") }));
    rec("Proclaim without a leader", await el.call("Proclaim", { value: b("x") }));
    rec("Resign without a leader", await el.call("Resign", {}));
    rec("Campaign again with the same lease and a new value (proclaims it)", await el.call("Campaign", { name: b("E"), lease: e1, value: b("v3") }));
    const e2 = await grant(30);
    const second = el.call("Campaign", { name: b("E"), lease: e2, value: b("w1") }, 10_000);
    await sleep(400);
    rec("Resign with a wrong rev changes nothing", await el.call("Resign", { leader: { ...c1.leader, rev: 1 } }));
    rec("the candidates", (await keys("E/")).sort());
    rec("Resign", await el.call("Resign", { leader: c1.leader }));
    const c2 = (await second) as { leader: Obj };
    rec("the second candidate is elected", c2);
    rec("Proclaim by the old leader", await el.call("Proclaim", { leader: c1.leader, value: b("late") }));
    rec("a Campaign with an unknown lease", await el.call("Campaign", { name: b("E"), lease: 777777, value: b("x") }));
    const third = el.call("Campaign", { name: b("E"), lease: await grant(30), value: b("z") }, 700);
    rec("a Campaign whose deadline passes", await third);
    await sleep(300);
    rec("the withdrawn candidate's key is gone", await keys("E/"));
    await lease.call("LeaseRevoke", { ID: e2 });
    await sleep(500);
    obs.cancel();
    rec("Observe saw every leader and proclamation", observed);
    rec("Leader after the leader's lease is revoked", await el.call("Leader", { name: b("E") }));
  } finally {
    for (const c of [lk, el, kv, lease]) c.close();
  }
  return out;
}

async function gatewaySession(m: MemberProcess): Promise<Transcript> {
  const n = leaseNormalizer();
  const out: Transcript = [];
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const unb64 = (s: string) => s.replace(/"(key|name|value)":"([A-Za-z0-9+/=]*)"/g, (_m, k: string, v: string) => `"${k}":"${n.str(Buffer.from(v, "base64").toString())}"`);
  const norm = (s: string) =>
    unb64(s)
      .replace(/"(cluster_id|member_id)":"\d+",?/g, "")
      .replace(/"(lease|ID)":"(\d{9,})"/g, (_m, k: string, id: string) => `"${k}":"${n.byHex(BigInt(id).toString(16))}"`);
  const step = async (label: string, path: string, body: string, streamMs = 0) => {
    const r = await gatewayPost(m, path, body, streamMs);
    out.push([label, { status: r.status, body: norm(r.body) }]);
    return r.body;
  };
  const grant = JSON.parse(await step("grant", "/v3/lease/grant", '{"TTL": 30}')) as { ID: string };
  const locked = JSON.parse(await step("lock", "/v3/lock/lock", JSON.stringify({ name: b64("G"), lease: grant.ID }))) as { key: string };
  await step("lock: bad JSON", "/v3/lock/lock", "{nope");
  await step("lock: unknown lease", "/v3/lock/lock", JSON.stringify({ name: b64("G"), lease: "99999" }));
  await step("unlock", "/v3/lock/unlock", JSON.stringify({ key: locked.key }));
  await step("leader: none", "/v3/election/leader", JSON.stringify({ name: b64("GE") }));
  const observe = step("observe (1.5 s)", "/v3/election/observe", JSON.stringify({ name: b64("GE") }), 1500);
  await sleep(200);
  const camp = JSON.parse(await step("campaign", "/v3/election/campaign", JSON.stringify({ name: b64("GE"), lease: grant.ID, value: b64("one") }))) as { leader: Obj };
  await sleep(300);
  await step("proclaim", "/v3/election/proclaim", JSON.stringify({ leader: camp.leader, value: b64("two") }));
  await step("proclaim: no leader", "/v3/election/proclaim", JSON.stringify({ value: b64("two") }));
  await step("leader", "/v3/election/leader", JSON.stringify({ name: b64("GE") }));
  await step("resign", "/v3/election/resign", JSON.stringify({ leader: camp.leader }));
  await observe;
  await step("observe: bad JSON", "/v3/election/observe", "[1,");
  return out;
}

describe("Lock and Election services match etcd 3.4", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("v3lockpb.Lock and v3electionpb.Election over gRPC answer as etcd's", async () => {
    await assertSameTranscripts("recipes", etcd, ours, grpcSession);
  });

  test("/v3/lock/* and /v3/election/* on the JSON gateway answer as etcd's", async () => {
    await assertSameTranscripts("recipes-gw", etcd, ours, gatewaySession);
  });
});
