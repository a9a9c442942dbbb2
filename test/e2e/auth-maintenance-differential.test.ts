/**
 * Differential, the root-only Maintenance calls with auth on: Hash, HashKV, Defragment and Snapshot
 * over gRPC (and Hash, Defragment, Snapshot through the JSON gateway), with no token, a token no
 * member issued, a token of a user without the root role, and root's token, against Debian's etcd
 * 3.4.23 and etcd-ts. etcd's authMaintenanceServer returns the auth store's error as it is (no
 * togRPCError): code Unknown, "auth: user name is empty" / "auth: invalid auth token" /
 * "auth: permission denied", and the gateway answers those with HTTP 500. Also a bad token while auth
 * is still off (etcd reads the token whatever the auth state).
 * Regression: etcd-ts answered these through the table ("etcdserver: …", InvalidArgument,
 * Unauthenticated, PermissionDenied).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { tokenFor } from "../../ansible-free-scripts/auth/auth-client.js";
import { parseEndpoints } from "../../ansible-free-scripts/backup/snapshot-client.js";
import { etcdctl } from "../support/etcdctl.js";
import type { Flavor, MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

type Answer = "ok" | { code: number; details: string };

/** One Maintenance call with `token` (if any) as gRPC metadata `token`, as clientv3 sends it. */
function maintenanceCall(endpoint: string, method: string, req: object, token?: string): Promise<Answer> {
  const Ctor = clientConstructor("etcdserverpb", "Maintenance");
  const client = new Ctor(endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("token", token);
  const opts: grpc.CallOptions = { deadline: Date.now() + 15_000 };
  return new Promise<Answer>((resolve) => {
    const done = (a: Answer) => {
      client.close();
      resolve(a);
    };
    if (method === "Snapshot") {
      const call = (client[method] as (r: object, m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientReadableStream<{ blob: Buffer }>).call(client, req, md, opts);
      let chunks = 0;
      call.on("data", () => chunks++);
      call.on("error", () => undefined); // the status says it
      call.on("status", (st: grpc.StatusObject) => done(st.code !== grpc.status.OK ? { code: st.code, details: st.details } : chunks > 0 ? "ok" : { code: -1, details: "no chunk" }));
      return;
    }
    (client[method] as (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void).call(client, req, md, opts, (e) =>
      done(e ? { code: e.code, details: e.details } : "ok"),
    );
  });
}

/** The caller's token, as the kit's own auth client gets it. */
function authenticate(endpoint: string, name: string, password: string): Promise<string> {
  return tokenFor(parseEndpoints([endpoint], {})[0]!, {}, { user: name, password }, 15_000);
}

/** A gateway answer: the status and, for an error, its JSON body (a stream's first line). */
async function gatewayCall(m: MemberProcess, path: string, token?: string): Promise<{ status: number; body?: unknown }> {
  const res = await fetch(`${m.clientUrl}${path}`, { method: "POST", headers: token !== undefined ? { authorization: token } : {}, body: "{}", signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  const first = JSON.parse(text.split("\n")[0]!) as Record<string, unknown>;
  if (res.status === 200 && !("error" in first)) return { status: 200 };
  return { status: res.status, body: first };
}

const RPCS: readonly (readonly [string, object])[] = [
  ["Hash", {}],
  ["HashKV", { revision: 0 }],
  ["Defragment", {}],
  ["Snapshot", {}],
];
const ROUTES = ["/v3/maintenance/hash", "/v3/maintenance/defragment", "/v3/maintenance/snapshot"];
const BAD_TOKEN = "notatoken";

describe("Hash, HashKV, Defragment and Snapshot with auth on answer etcd 3.4's auth errors", { timeout: 180_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  sideBySide((etcd, ours) => {
    members.set("etcd", etcd);
    members.set("etcd-ts", ours);
  });

  async function answers(m: MemberProcess): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [method, req] of RPCS) out[`auth off, bad token: ${method}`] = await maintenanceCall(m.endpoint, method, req, BAD_TOKEN);
    for (const args of [["user", "add", "root:rootpw"], ["user", "grant-role", "root", "root"], ["user", "add", "alice:apw"], ["auth", "enable"]]) {
      const r = await etcdctl(m.endpoint, args);
      assert.equal(r.code, 0, `${m.flavor} ${args.join(" ")}: ${r.stderr}`);
    }
    const who: Record<string, string | undefined> = {
      "no token": undefined,
      "bad token": BAD_TOKEN,
      alice: await authenticate(m.endpoint, "alice", "apw"),
      root: await authenticate(m.endpoint, "root", "rootpw"),
    };
    for (const [name, token] of Object.entries(who)) {
      for (const [method, req] of RPCS) out[`${name}: ${method}`] = await maintenanceCall(m.endpoint, method, req, token);
      for (const path of ROUTES) out[`${name}: POST ${path}`] = await gatewayCall(m, path, token);
    }
    return out;
  }

  test("no token, a bad token, a user without the root role, root: gRPC and gateway", async () => {
    const got = new Map<Flavor, Record<string, unknown>>();
    for (const [f, m] of members) got.set(f, await answers(m));
    assert.deepEqual(got.get("etcd-ts"), got.get("etcd"));
    // the comparison means something: etcd refused alice with its store's text, served root
    const etcd = got.get("etcd")!;
    assert.deepEqual(etcd["alice: Hash"], { code: grpc.status.UNKNOWN, details: "auth: permission denied" });
    assert.deepEqual(etcd["no token: POST /v3/maintenance/hash"], { status: 500, body: { error: "auth: user name is empty", message: "auth: user name is empty", code: 2 } });
    assert.equal(etcd["root: Snapshot"], "ok");
  });
});
