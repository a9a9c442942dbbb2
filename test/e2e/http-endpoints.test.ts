import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";
import { sideBySide } from "../support/side-by-side.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The client port's HTTP side: health, version, metrics and the JSON gateway, against real etcd's. */
describe("HTTP endpoints and JSON gateway", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  const post = async (m: MemberProcess, path: string, body: unknown) => {
    const r = await fetch(`${m.clientUrl}${path}`, { method: "POST", body: JSON.stringify(body) });
    return { status: r.status, body: stripIds(await r.json()) };
  };

  test("gateway requests give etcd's JSON (base64 bytes, int64 as strings, errors with code)", async () => {
    const calls: Array<[string, unknown]> = [
      ["/v3/kv/put", { key: b64("g1"), value: b64("v1") }],
      ["/v3/kv/put", { key: b64("g1"), value: b64("v2"), prev_kv: true }],
      ["/v3/kv/put", { key: b64("g2"), value: b64("x") }],
      ["/v3/kv/range", { key: b64("g1") }],
      ["/v3/kv/range", { key: b64("g"), range_end: b64("h"), limit: 1 }],
      ["/v3/kv/range", { key: b64("g"), range_end: b64("h"), count_only: true }],
      ["/v3/kv/range", { key: b64("nope") }],
      ["/v3/kv/range", { key: "" }],
      ["/v3/kv/txn", { compare: [{ key: b64("g1"), target: "VALUE", result: "EQUAL", value: b64("v2") }], success: [{ request_put: { key: b64("g3"), value: b64("t") } }], failure: [] }],
      ["/v3/kv/txn", { compare: [{ key: b64("g1"), target: "VERSION", result: "GREATER", version: "5" }], success: [], failure: [{ request_range: { key: b64("g1") } }] }],
      ["/v3/kv/deleterange", { key: b64("g2"), prev_kv: true }],
      ["/v3/kv/compaction", { revision: "3" }],
      ["/v3/kv/range", { key: b64("g1"), revision: "2" }],
      ["/v3/kv/compaction", { revision: "1000" }],
    ];
    for (const [path, body] of calls) {
      assert.deepEqual(await post(ours, path, body), await post(etcd, path, body), `${path} ${JSON.stringify(body)}`);
    }
  });

  test("malformed gateway bodies get Go's encoding/json errors (and only the first JSON value counts)", async () => {
    const bodies = [
      "{nope", "[1,", "[]", '"x"', "5", "null", "", "x", "tru", "-", "1.x", '"\\q"', '"\\u12G4"', '{"a":1e+}',
      '{"key":"YQ==",}', '{"key" "x"}', '{"key":"YQ==" , "value": [1 2]}', '{"key":"YQ=="} trailing', '{"key":"YQ=="}{',
    ];
    const raw = async (m: MemberProcess, body: string) => {
      const r = await fetch(`${m.clientUrl}/v3/kv/range`, { method: "POST", body });
      const j = (await r.json()) as Record<string, unknown>;
      return { status: r.status, body: stripIds({ ...j, header: undefined }) };
    };
    for (const body of bodies) assert.deepEqual(await raw(ours, body), await raw(etcd, body), `body ${JSON.stringify(body)}`);
  });

  test("/health and /version answer like etcd's", async () => {
    const h = (await (await fetch(`${ours.clientUrl}/health`)).json()) as Record<string, string>;
    assert.equal(h.health, "true");
    const v = (await (await fetch(`${ours.clientUrl}/version`)).json()) as Record<string, string>;
    const ev = (await (await fetch(`${etcd.clientUrl}/version`)).json()) as Record<string, string>;
    assert.deepEqual(Object.keys(ev).sort(), ["etcdcluster", "etcdserver"]);
    assert.equal(v.etcdcluster, ev.etcdcluster);
    assert.match(v.etcdserver!, /^3\.4\.\d+$/);
    assert.equal((await fetch(`${ours.clientUrl}/livez`)).status, 200);
    assert.equal((await fetch(`${ours.clientUrl}/readyz`)).status, 200);
  });

  test("/metrics serves etcd's series names in Prometheus format", async () => {
    await Promise.all([etcdctl(ours.endpoint, ["put", "m", "1"]), etcdctl(etcd.endpoint, ["put", "m", "1"])]);
    const text = await (await fetch(`${ours.clientUrl}/metrics`)).text();
    for (const name of ["etcd_server_has_leader 1", "etcd_server_is_leader 1", "etcd_server_leader_changes_seen_total 1", "etcd_mvcc_db_total_size_in_bytes"]) {
      assert.ok(text.includes(name), `missing ${name}`);
    }
    assert.match(text, /etcd_disk_wal_fsync_duration_seconds_count [1-9]/);
    assert.match(text, /etcd_server_proposals_committed_total [1-9]/);
    assert.match(text, /grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK"\} [1-9]/);
  });

  test("etcdctl endpoint status, endpoint health and member list print etcd's tables", async () => {
    const shape = (s: string) =>
      s
        // etcdctl prints member IDs with %x: fewer than 16 digits when an ID is below 2^60
        .replace(/\b[0-9a-f]{8,16}\b/g, "ID")
        .replace(/127\.0\.0\.1:\d+/g, "ADDR")
        .replace(/\d+(\.\d+)? ?[kM]?B/g, "SIZE")
        .replace(/3\.4\.\d+/g, "VERSION")
        .replace(/\d+(\.\d+)?(µs|ms|s)/g, "TOOK")
        .replace(/ +/g, " ")
        .replace(/-+/g, "-")
        // etcd 3.4's /health is a v2 quorum read through raft: its raft index depends on how often it was polled.
        .replace(/\| (\d+) \| (\d+) \| \|/g, (_m, a: string, b: string) => `| INDEX | ${a === b ? "INDEX" : b} | |`);
    for (const args of [["endpoint", "status", "-w", "table"], ["endpoint", "health", "-w", "table"], ["member", "list", "-w", "table"], ["endpoint", "status", "-w", "json"]]) {
      const want = await etcdctl(etcd.endpoint, args);
      const got = await etcdctl(ours.endpoint, args);
      assert.equal(got.code, 0, got.stderr);
      if (args.includes("json")) {
        const [w] = JSON.parse(want.stdout.replace(/:(\d{16,})/g, ':"$1"')) as Array<{ Status: Record<string, unknown> }>;
        const [g] = JSON.parse(got.stdout.replace(/:(\d{16,})/g, ':"$1"')) as Array<{ Status: Record<string, unknown> }>;
        assert.equal(g!.Status.raftTerm, w!.Status.raftTerm);
        assert.equal(g!.Status.raftAppliedIndex, g!.Status.raftIndex);
        assert.equal(g!.Status.leader, (g!.Status.header as Record<string, unknown>).member_id);
      } else {
        assert.equal(shape(got.stdout), shape(want.stdout), args.join(" "));
      }
    }
  });
});

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "cluster_id" && k !== "member_id") out[k] = stripIds(x);
    return out;
  }
  return v;
}
