/**
 * Fuzzing the Auth raft-entry payload (server/pb/auth-entry.ts) and the stamped entry kind (the 0x80
 * bit of pb/raft-entry.ts): any bytes decode to a request or a MalformedAuthPayload, never another
 * exception; decodeEntry never throws; a stamp round-trips; and applying any decodable auth payload
 * is total and deterministic: two members' auth stores given the same entries reach the same
 * answers (a value or an AuthError, nothing else) and the same state.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AuthOp, MalformedAuthPayload, decodeAuthPayload, encodeAuthPayload, type AuthRequest } from "../../server/pb/auth-entry.js";
import { ProposalKind, decodeEntry, encodeProposal } from "../../server/pb/raft-entry.js";
import { decodeNormalEntry } from "../../server/etcdserver/entry-decode.js";
import { applyAuth } from "../../server/etcdserver/auth-apply.js";
import { AUTH_BUCKET, AUTH_ROLES_BUCKET, AUTH_USERS_BUCKET, AuthStore } from "../../server/auth/auth-store.js";
import { AuthError } from "../../server/auth/errors.js";
import { openTempStore, type TempStore } from "../mvcc/helpers.js";
import { fuzzParams } from "./settings.js";

const TIMEOUT_MS = Number(process.env.FUZZ_SECONDS ?? 20) * 4000 + 60_000;
const OPS = Object.values(AuthOp).filter((v): v is AuthOp => typeof v === "number");

/** Bytes after a valid op byte most of the time, so the protobuf decoders see them. */
const payloadBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.tuple(fc.constantFrom(...OPS), fc.uint8Array({ maxLength: 64 })).map(([op, rest]) => Uint8Array.from([op, ...rest])),
);

const name = fc.oneof(fc.constantFrom("", "root", "alice", "r1", "root"), fc.string({ maxLength: 6 }));
const bytes = fc.oneof(fc.constantFrom("", "a", "foo", "z", "\0"), fc.string({ maxLength: 4 })).map((s) => Buffer.from(s));

/** Well-formed auth requests of every op, with hostile field values. */
const authRequest: fc.Arbitrary<AuthRequest> = fc.oneof(
  fc.constant({ op: AuthOp.Enable, req: {} } as AuthRequest),
  fc.constant({ op: AuthOp.Disable, req: {} } as AuthRequest),
  fc.record({ name, simple_token: fc.string({ maxLength: 16 }) }).map((req) => ({ op: AuthOp.Authenticate, req }) as AuthRequest),
  fc.record({ name, hashedPassword: fc.string({ maxLength: 8 }), no: fc.boolean() }).map(({ name, hashedPassword, no }) => ({ op: AuthOp.UserAdd, req: { name, hashedPassword, options: { no_password: no } } }) as AuthRequest),
  name.map((n) => ({ op: AuthOp.UserDelete, req: { name: n } }) as AuthRequest),
  fc.record({ name, hashedPassword: fc.string({ maxLength: 8 }) }).map((req) => ({ op: AuthOp.UserChangePassword, req }) as AuthRequest),
  fc.record({ user: name, role: name }).map((req) => ({ op: AuthOp.UserGrantRole, req }) as AuthRequest),
  fc.record({ name, role: name }).map((req) => ({ op: AuthOp.UserRevokeRole, req }) as AuthRequest),
  name.map((n) => ({ op: AuthOp.RoleAdd, req: { name: n } }) as AuthRequest),
  name.map((n) => ({ op: AuthOp.RoleDelete, req: { role: n } }) as AuthRequest),
  fc
    .record({ name, perm: fc.option(fc.record({ permType: fc.integer({ min: 0, max: 5 }), key: bytes, range_end: bytes }), { nil: null }) })
    .map((req) => ({ op: AuthOp.RoleGrantPermission, req }) as AuthRequest),
  fc.record({ role: name, key: bytes, range_end: bytes }).map((req) => ({ op: AuthOp.RoleRevokePermission, req }) as AuthRequest),
);

/** One entry: a well-formed auth request (stamped or not) or raw bytes under the Auth kind. */
const authEntry = fc.oneof(
  { weight: 3, arbitrary: authRequest.map((r) => encodeAuthPayload(r)) },
  { weight: 1, arbitrary: payloadBytes.map((b) => Buffer.from(b)) },
);

test("decodeAuthPayload: any bytes give an auth request or a MalformedAuthPayload", { timeout: TIMEOUT_MS }, () => {
  fc.assert(
    fc.property(payloadBytes, (b) => {
      try {
        const r = decodeAuthPayload(b);
        assert.ok(OPS.includes(r.op), `op ${r.op}`);
        assert.equal(typeof r.req, "object");
      } catch (e) {
        assert.ok(e instanceof MalformedAuthPayload, `threw ${(e as Error)?.constructor?.name}: ${String(e)}`);
      }
    }),
    fuzzParams(2000),
  );
});

test("decodeEntry: any bytes under the Auth kind, stamped or not, decode without throwing", { timeout: TIMEOUT_MS }, () => {
  const entry = fc.oneof(
    fc.uint8Array({ maxLength: 96 }),
    fc
      .tuple(fc.constantFrom(ProposalKind.Auth, ProposalKind.Auth | 0x80, 0x80, 0xff), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ maxLength: 96 }))
      .map(([k, id, rest]) => Uint8Array.from([k, ...id, ...rest])),
  );
  fc.assert(
    fc.property(entry, (data) => {
      const d = decodeEntry(data);
      assert.ok(["noop", "request", "invalid"].includes(d.type));
      if (d.type === "request" && (data[0]! & 0x80) !== 0) assert.ok(d.stamp, "a stamped entry decodes with its stamp");
      // and the apply-time checks do not throw either
      assert.ok(["noop", "request", "invalid"].includes(decodeNormalEntry(data).type));
    }),
    fuzzParams(2000),
  );
});

test("a stamped auth entry round-trips: the same request, id and stamp", { timeout: TIMEOUT_MS }, () => {
  const stamp = fc.record({ user: fc.string({ maxLength: 40 }), revision: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) });
  fc.assert(
    fc.property(authRequest, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.option(stamp, { nil: undefined }), (r, id, s) => {
      const data = encodeProposal({ kind: ProposalKind.Auth, id, payload: encodeAuthPayload(r), ...(s && s.user !== "" ? { stamp: s } : {}) });
      const d = decodeEntry(data);
      assert.equal(d.type, "request");
      if (d.type !== "request" || d.request.kind !== ProposalKind.Auth) return;
      assert.equal(d.id, id);
      assert.deepEqual(d.stamp, s && s.user !== "" ? { user: s.user, revision: s.revision } : undefined);
      assert.equal(d.request.auth.op, r.op);
      const got = d.request.auth.req as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(r.req)) assert.deepEqual(plain(got[k]), plain(v), `field ${k}`);
    }),
    fuzzParams(1000),
  );
});

/** Buffers as byte lists, objects without their prototypes (fast-check's records have none). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v ?? null)) as unknown;

const stores: TempStore[] = [];
after(async () => {
  for (const t of stores) await t.destroy().catch(() => undefined);
});

function authState(s: AuthStore): unknown {
  const users = s.userList().map((n) => s.user(n));
  const roles = s.roleList().map((n) => s.role(n));
  return { enabled: s.enabled, revision: s.revision, users, roles };
}

test("applying any sequence of auth entries is total and the same on two members", { timeout: TIMEOUT_MS }, async () => {
  const a = openTempStore();
  const b = openTempStore();
  stores.push(a, b);
  // the rows are written in held backend batches: reads see them once committed
  const empty = async (t: TempStore) => {
    for (const n of [AUTH_BUCKET, AUTH_USERS_BUCKET, AUTH_ROLES_BUCKET]) for (const k of t.backend.bucket(n).keys()) t.backend.bucket(n).remove(k);
    await t.backend.flush();
    return new AuthStore(t.backend);
  };
  await fc.assert(
    fc.asyncProperty(fc.array(authEntry, { maxLength: 12 }), async (payloads) => {
      // each run starts both members from the same (empty) auth state
      const members = [await empty(a), await empty(b)];
      const answers = members.map((store) =>
        payloads.map((payload, i) => {
          const d = decodeNormalEntry(encodeProposal({ kind: ProposalKind.Auth, id: BigInt(i + 1), payload }));
          if (d.type !== "request" || d.request.kind !== ProposalKind.Auth) return `no-op: ${d.type}`;
          try {
            return applyAuth(store, d.request.auth, i + 1, undefined);
          } catch (e) {
            assert.ok(e instanceof AuthError, `apply threw ${(e as Error)?.constructor?.name}: ${String(e)}`);
            return e.message;
          }
        }),
      );
      assert.deepEqual(answers[1], answers[0]);
      assert.deepEqual(authState(members[1]!), authState(members[0]!));
      // what the rows hold is what the store said: a restart reloads the same state
      await a.backend.flush();
      assert.deepEqual(authState(new AuthStore(a.backend)), authState(members[0]!));
    }),
    fuzzParams(200),
  );
});
