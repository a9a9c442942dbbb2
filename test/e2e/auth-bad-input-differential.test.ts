/**
 * Differential, bad input to the Auth service (raw gRPC, so that what etcdctl would refuse on its own
 * reaches the server): empty user and role names, unknown users and roles, granting a missing role,
 * revoking what was never granted, permissions with malformed ranges or types, auth enable without
 * root. Each call must get the same answer (gRPC code and text, or the same reply) from Debian's
 * etcd 3.4.23 and from etcd-ts; and whenever it is refused, the users and roles (read back through
 * UserList, RoleList, UserGet and RoleGet) must be exactly what they were before it.
 * (auth-differential.test.ts covers the etcdctl-level errors: duplicates, a missing role or user
 * through etcdctl, revoking an absent permission.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FLAVORS: Flavor[] = ["etcd", "etcd-ts"];
type Answer = { ok: true; reply: unknown } | { ok: false; code: number; details: string };
type Call = readonly [method: string, request: object];

const buf = (s: string) => Buffer.from(s);

/** The reply without its header (IDs and revisions differ between servers), buffers as strings. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "header").map(([k, x]) => [k, plain(x)]));
  return v;
}

function authClient(endpoint: string) {
  const Ctor = clientConstructor("etcdserverpb", "Auth");
  const client = new Ctor(endpoint, grpc.credentials.createInsecure());
  const call = (method: string, req: object) =>
    new Promise<Answer>((resolve) =>
      (client[method] as (r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void).call(
        client,
        req,
        { deadline: Date.now() + 10_000 },
        (e, r) => resolve(e ? { ok: false, code: e.code, details: e.details } : { ok: true, reply: plain(r) }),
      ),
    );
  return { call, close: () => client.close() };
}

type AuthClient = ReturnType<typeof authClient>;

/** Everything the bad calls could have touched. */
async function authState(c: AuthClient): Promise<unknown> {
  return {
    users: await c.call("UserList", {}),
    roles: await c.call("RoleList", {}),
    alice: await c.call("UserGet", { name: "alice" }),
    r1: await c.call("RoleGet", { role: "r1" }),
    r2: await c.call("RoleGet", { role: "r2" }),
  };
}

const SETUP: Call[] = [
  ["UserAdd", { name: "alice", password: "apw" }],
  ["RoleAdd", { name: "r1" }],
  ["RoleAdd", { name: "r2" }],
  ["RoleGrantPermission", { name: "r1", perm: { permType: 2, key: buf("foo"), range_end: buf("") } }],
  ["RoleGrantPermission", { name: "r1", perm: { permType: 0, key: buf("a"), range_end: buf("m") } }],
  ["UserGrantRole", { user: "alice", role: "r1" }],
];

const BAD: Call[] = [
  ["UserAdd", { name: "", password: "x" }],
  ["UserAdd", { name: "" }],
  ["RoleAdd", { name: "" }],
  ["UserGet", { name: "" }],
  ["UserGet", { name: "nobody" }],
  ["UserDelete", { name: "" }],
  ["UserDelete", { name: "nobody" }],
  ["UserChangePassword", { name: "", password: "x" }],
  ["UserChangePassword", { name: "nobody", password: "x" }],
  ["UserGrantRole", { user: "", role: "r1" }],
  ["UserGrantRole", { user: "alice", role: "" }],
  ["UserGrantRole", { user: "alice", role: "nope" }],
  ["UserGrantRole", { user: "nobody", role: "r1" }],
  ["UserGrantRole", { user: "nobody", role: "nope" }],
  ["UserRevokeRole", { name: "", role: "r1" }],
  ["UserRevokeRole", { name: "alice", role: "" }],
  ["UserRevokeRole", { name: "alice", role: "r2" }],
  ["UserRevokeRole", { name: "alice", role: "nope" }],
  ["UserRevokeRole", { name: "nobody", role: "r1" }],
  ["RoleGet", { role: "" }],
  ["RoleGet", { role: "nope" }],
  ["RoleDelete", { role: "" }],
  ["RoleDelete", { role: "nope" }],
  ["RoleGrantPermission", { name: "", perm: { permType: 0, key: buf("a") } }],
  ["RoleGrantPermission", { name: "nope", perm: { permType: 0, key: buf("a") } }],
  ["RoleRevokePermission", { role: "", key: buf("foo") }],
  ["RoleRevokePermission", { role: "nope", key: buf("foo") }],
  ["RoleRevokePermission", { role: "r1", key: buf("foo"), range_end: buf("fop") }],
  ["RoleRevokePermission", { role: "r1", key: buf("a"), range_end: buf("") }],
  ["RoleRevokePermission", { role: "r1", key: buf("m"), range_end: buf("a") }],
  ["RoleRevokePermission", { role: "r1", key: buf("") }],
  ["RoleRevokePermission", { role: "r2", key: buf("foo") }],
  ["AuthEnable", {}],
  ["Authenticate", { name: "", password: "" }],
  ["Authenticate", { name: "nobody", password: "x" }],
];

/** A permission of an unknown type: etcd 3.4 stores it as given; so must etcd-ts. */
const ODD_TYPE: Call[] = [["RoleGrantPermission", { name: "r2", perm: { permType: 7, key: buf("q") } }]];

/**
 * Malformed permissions, where etcd-ts follows etcd 3.5 on purpose (README, "Authentication"): 3.4
 * stores a range whose end is not after its key, and crashes on a grant without a permission, so
 * these are not sent to etcd. etcd-ts refuses them with 3.5's errors and changes nothing.
 */
const MALFORMED: readonly [Call, string][] = [
  [["RoleGrantPermission", { name: "r2", perm: { permType: 0, key: buf("z"), range_end: buf("a") } }], "etcdserver: invalid auth management"],
  [["RoleGrantPermission", { name: "r2", perm: { permType: 1, key: buf("k"), range_end: buf("k") } }], "etcdserver: invalid auth management"],
  [["RoleGrantPermission", { name: "r2", perm: { permType: 0, key: buf("") } }], "etcdserver: invalid auth management"],
  [["RoleGrantPermission", { name: "r2", perm: { permType: 2, key: buf(""), range_end: buf("a") } }], "etcdserver: invalid auth management"],
  [["RoleGrantPermission", { name: "r2" }], "etcdserver: permission not given"],
];

describe("bad input to the Auth service: etcd 3.4's answers, nothing changed", { timeout: 180_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  const clients = new Map<Flavor, AuthClient>();
  before(async () => {
    for (const f of FLAVORS) {
      const m = await startMember(f);
      members.set(f, m);
      clients.set(f, authClient(m.endpoint));
    }
  });
  after(async () => {
    for (const c of clients.values()) c.close();
    for (const m of members.values()) await m.dispose();
  });

  /** Runs `calls` on both servers; answers must match, and a refused call leaves the state as it was. */
  async function same(calls: readonly Call[], { requireRefusal }: { requireRefusal: boolean }): Promise<void> {
    for (const [method, req] of calls) {
      const what = `${method} ${JSON.stringify(plain(req))}`;
      const got = new Map<Flavor, { answer: Answer; before: unknown; after: unknown }>();
      for (const f of FLAVORS) {
        const c = clients.get(f)!;
        const before = await authState(c);
        const answer = await c.call(method, req);
        got.set(f, { answer, before, after: await authState(c) });
      }
      const [etcd, ts] = [got.get("etcd")!, got.get("etcd-ts")!];
      assert.deepEqual(ts.answer, etcd.answer, `${what}\n  etcd:    ${JSON.stringify(etcd.answer)}\n  etcd-ts: ${JSON.stringify(ts.answer)}`);
      assert.deepEqual(ts.after, etcd.after, `state after ${what}`);
      if (requireRefusal) assert.equal(etcd.answer.ok, false, `etcd refuses ${what}`);
      for (const f of FLAVORS) if (!got.get(f)!.answer.ok) assert.deepEqual(got.get(f)!.after, got.get(f)!.before, `${f}: ${what} was refused but changed the auth state`);
    }
  }

  test("setup is answered alike", async () => {
    await same(SETUP, { requireRefusal: false });
  });

  test("empty names, unknown users and roles, missing grants, auth enable without root: refused alike, nothing changed", async () => {
    await same(BAD, { requireRefusal: true });
  });

  test("a permission of an unknown type: taken alike", async () => {
    await same(ODD_TYPE, { requireRefusal: false });
  });

  test("malformed permission ranges, a grant without a permission: etcd 3.5's errors on etcd-ts, nothing changed", async () => {
    const c = clients.get("etcd-ts")!;
    for (const [[method, req], details] of MALFORMED) {
      const before = await authState(c);
      assert.deepEqual(await c.call(method, req), { ok: false, code: grpc.status.INVALID_ARGUMENT, details }, `${method} ${JSON.stringify(plain(req))}`);
      assert.deepEqual(await authState(c), before, `${method} ${JSON.stringify(plain(req))} changed nothing`);
    }
  });

  test("the same bad calls with auth on, as root", async () => {
    await same([["UserAdd", { name: "root", password: "rootpw" }], ["UserGrantRole", { user: "root", role: "root" }]], { requireRefusal: false });
    // as root with auth on: the calls need root's token
    for (const f of FLAVORS) clients.get(f)!.close();
    const setToken = async (f: Flavor) => {
      const c = authClient(members.get(f)!.endpoint);
      assert.equal((await c.call("AuthEnable", {})).ok, true, `${f}: auth enable`);
      const auth = (await c.call("Authenticate", { name: "root", password: "rootpw" })) as { ok: true; reply: { token: string } };
      c.close();
      const Ctor = clientConstructor("etcdserverpb", "Auth");
      const md = new grpc.Metadata();
      md.set("token", auth.reply.token);
      const client = new Ctor(members.get(f)!.endpoint, grpc.credentials.createInsecure());
      clients.set(f, {
        call: (method, req) =>
          new Promise<Answer>((resolve) =>
            (client[method] as (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void).call(
              client,
              req,
              md,
              { deadline: Date.now() + 10_000 },
              (e, r) => resolve(e ? { ok: false, code: e.code, details: e.details } : { ok: true, reply: plain(r) }),
            ),
          ),
        close: () => client.close(),
      });
    };
    for (const f of FLAVORS) await setToken(f);
    await same(
      BAD.filter(([m]) => m !== "AuthEnable" && m !== "Authenticate"),
      { requireRefusal: true },
    );
    await same(
      [
        ["UserRevokeRole", { name: "root", role: "root" }],
        ["UserDelete", { name: "root" }],
        ["RoleDelete", { role: "root" }],
      ],
      { requireRefusal: false },
    );
  });
});
