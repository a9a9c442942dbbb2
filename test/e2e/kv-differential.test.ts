import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MemberProcess } from "../support/launcher.js";
import { etcdctl, normalize } from "../support/etcdctl.js";
import { grpcClient } from "../support/grpc-client.js";
import { KV_SCRIPT, SCRIPT_SERVER_FLAGS } from "./kv-script.js";
import { sideBySide } from "../support/side-by-side.js";

/**
 * Differential: the same etcdctl session against Debian's etcd 3.4.23 and against etcd-ts; every
 * output (JSON with IDs removed, plain text, error text, exit code) must be the same.
 */
describe("KV API matches etcd 3.4 (etcdctl session)", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]), { flags: SCRIPT_SERVER_FLAGS });

  test("every step prints what etcd prints", async () => {
    for (const [args, stdin] of KV_SCRIPT) {
      const want = normalize(await etcdctl(etcd.endpoint, args, stdin));
      const got = normalize(await etcdctl(ours.endpoint, args, stdin));
      assert.deepEqual(got, want, `etcdctl ${args.join(" ")}${stdin ? ` <<< ${JSON.stringify(stdin)}` : ""}`);
    }
  });
});

/** What etcdctl 3.4 cannot express (count_only, revision filters, nested txns, empty ops), compared at the gRPC level. */
describe("KV API matches etcd 3.4 (gRPC requests)", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  const b = (s: string) => Buffer.from(s);
  const steps: Array<[string, object]> = [
    ["Put", { key: b("k1"), value: b("a") }],
    ["Put", { key: b("k2"), value: b("b") }],
    ["Put", { key: b("k1"), value: b("c") }],
    ["Put", { key: b("k3"), value: b("d") }],
    ["Range", { key: b("k"), range_end: b("l"), count_only: true }],
    ["Range", { key: b("k"), range_end: b("l"), limit: 1 }],
    ["Range", { key: b("k"), range_end: b("l"), min_mod_revision: 3 }],
    ["Range", { key: b("k"), range_end: b("l"), max_mod_revision: 3, min_create_revision: 3 }],
    ["Range", { key: b("k"), range_end: b("l"), max_create_revision: 2, limit: 5, sort_order: 2, sort_target: 3 }],
    ["Range", { key: b("k"), range_end: b("l"), sort_order: 0, sort_target: 4 }],
    ["Range", { key: b("k"), range_end: b("l"), sort_order: 1, sort_target: 1, limit: 2 }],
    ["Range", { key: b("k"), range_end: Buffer.from([0]), keys_only: true, revision: 3 }],
    ["Range", { key: b("k1"), serializable: true }],
    ["Range", { key: b("k"), range_end: b("a") }],
    [
      "Txn",
      {
        compare: [{ key: b("k1"), target: 3, result: 0, value: b("c") }],
        success: [
          { request_put: { key: b("k4"), value: b("e"), prev_kv: true } },
          { request_range: { key: b("k"), range_end: b("l") } },
          { request_txn: { compare: [{ key: b("k9"), target: 0, result: 0, version: 0 }], success: [{ request_put: { key: b("k5"), value: b("n") } }], failure: [] } },
          { request_delete_range: { key: b("k2"), prev_kv: true } },
        ],
        failure: [{ request_range: { key: b("k1") } }],
      },
    ],
    ["Txn", { compare: [{ key: b("k"), range_end: b("l"), target: 0, result: 1, version: 0 }], success: [{ request_range: { key: b("k"), range_end: b("l"), count_only: true } }], failure: [] }],
    ["Txn", { compare: [{ key: b("k"), range_end: b("l"), target: 2, result: 2, mod_revision: 6 }], success: [], failure: [{ request_range: { key: b("k1") } }] }],
    ["Txn", { compare: [{ key: b("absent"), target: 3, result: 0, value: b("") }], success: [{ request_range: { key: b("k1") } }], failure: [{ request_range: { key: b("k3") } }] }],
    ["Txn", { compare: [{ key: b("absent"), target: 4, result: 0, lease: 0 }], success: [{ request_put: { key: b("k6"), value: b("x") } }], failure: [] }],
    ["Txn", { compare: [], success: [{}], failure: [] }],
    ["Txn", { compare: [], success: [{ request_put: { key: b("k7"), value: b("1") } }, { request_delete_range: { key: b("k"), range_end: b("l") } }], failure: [] }],
    ["Txn", { compare: [], success: [{ request_delete_range: { key: b("k1") } }, { request_txn: { compare: [], success: [{ request_put: { key: b("k1"), value: b("1") } }], failure: [] } }], failure: [] }],
    ["DeleteRange", { key: b("k"), range_end: b("k3"), prev_kv: true }],
    ["DeleteRange", { key: b("zz"), range_end: b("aa") }],
    ["Put", { key: b("k3"), value: b(""), ignore_value: true, prev_kv: true }],
    ["Put", { key: b("k3"), value: b("v"), ignore_value: true }],
    ["Compact", { revision: 4 }],
    ["Range", { key: b("k"), range_end: b("l"), revision: 3 }],
    ["Range", { key: b("k"), range_end: b("l"), revision: 4 }],
    ["Compact", { revision: 0 }],
    ["Compact", { revision: -1 }],
  ];

  test("the same requests give the same responses and errors", async () => {
    const a = grpcClient(etcd.endpoint, "KV");
    const o = grpcClient(ours.endpoint, "KV");
    try {
      for (const [method, req] of steps) {
        const run = async (c: typeof a) => {
          try {
            return stripHeaderIds(await c.call(method, req));
          } catch (e) {
            const err = e as { code: number; details: string };
            return { code: err.code, details: err.details };
          }
        };
        assert.deepEqual(await run(o), await run(a), `${method} ${JSON.stringify(req)}`);
      }
    } finally {
      a.close();
      o.close();
    }
  });
});

function stripHeaderIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripHeaderIds);
  if (v && typeof v === "object" && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "cluster_id" && k !== "member_id") out[k] = stripHeaderIds(x);
    return out;
  }
  return v;
}
