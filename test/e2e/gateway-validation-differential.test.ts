import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayRaw, withoutIds, type RawAnswer } from "../support/gateway.js";
import { malformedBodies } from "../support/gateway-malformed.js";
import { etcdctl } from "../support/etcdctl.js";

/**
 * Differential: malformed JSON gateway bodies, generated from every field of every route's request
 * type, against Debian's etcd 3.4.23 and etcd-ts: the same status and body (cluster/member IDs
 * aside), and a refused body writes nothing (the revision does not move; at the end both stores and
 * lease lists are the same). Then 64-bit integers round-trip exactly, as JSON strings and numbers.
 */

interface Route {
  readonly path: string;
  readonly type: string;
  /** Bodies etcd accepts are sent too (false where a valid body would block or pick a random ID). */
  readonly sendAccepted: boolean;
}

const ROUTES: Route[] = [
  { path: "/v3/kv/range", type: "etcdserverpb.RangeRequest", sendAccepted: true },
  { path: "/v3/kv/put", type: "etcdserverpb.PutRequest", sendAccepted: true },
  { path: "/v3/kv/deleterange", type: "etcdserverpb.DeleteRangeRequest", sendAccepted: true },
  { path: "/v3/kv/txn", type: "etcdserverpb.TxnRequest", sendAccepted: true },
  { path: "/v3/kv/compaction", type: "etcdserverpb.CompactionRequest", sendAccepted: false },
  { path: "/v3/lease/grant", type: "etcdserverpb.LeaseGrantRequest", sendAccepted: false },
  { path: "/v3/lease/revoke", type: "etcdserverpb.LeaseRevokeRequest", sendAccepted: true },
  { path: "/v3/kv/lease/revoke", type: "etcdserverpb.LeaseRevokeRequest", sendAccepted: true },
  { path: "/v3/lease/timetolive", type: "etcdserverpb.LeaseTimeToLiveRequest", sendAccepted: false },
  { path: "/v3/lock/lock", type: "v3lockpb.LockRequest", sendAccepted: false },
  { path: "/v3/lock/unlock", type: "v3lockpb.UnlockRequest", sendAccepted: true },
  { path: "/v3/election/campaign", type: "v3electionpb.CampaignRequest", sendAccepted: false },
  { path: "/v3/election/proclaim", type: "v3electionpb.ProclaimRequest", sendAccepted: false },
  { path: "/v3/election/leader", type: "v3electionpb.LeaderRequest", sendAccepted: true },
  { path: "/v3/election/resign", type: "v3electionpb.ResignRequest", sendAccepted: false },
  { path: "/v3/election/observe", type: "v3electionpb.LeaderRequest", sendAccepted: false },
];

const ALL_KEYS = JSON.stringify({ key: "AA==", range_end: "AA==" });

async function revision(m: MemberProcess): Promise<string> {
  const a = await gatewayRaw(m.clientUrl, "/v3/kv/range", JSON.stringify({ key: "AA==", count_only: true }));
  assert.ok(!("dropped" in a));
  return (JSON.parse(a.body) as { header: { revision: string } }).header.revision;
}

const show = (a: RawAnswer) => ("dropped" in a ? "dropped connection" : `${a.status} ${a.body}`);

describe("JSON gateway: malformed bodies get etcd's answer and write nothing", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("every field of every route, wrong kinds and bad values", async () => {
    // a lease and a key for the bodies that name them
    for (const m of [etcd, ours]) {
      await gatewayRaw(m.clientUrl, "/v3/lease/grant", '{"TTL":"600","ID":"4242"}');
      await gatewayRaw(m.clientUrl, "/v3/kv/put", '{"key":"Z2s=","value":"dg=="}');
    }
    let sent = 0;
    for (const route of ROUTES) {
      for (const c of malformedBodies(route.type)) {
        if (c.accepted && !route.sendAccepted) continue;
        const before = await revision(ours);
        const want = withoutIds(await gatewayRaw(etcd.clientUrl, route.path, c.body));
        const got = withoutIds(await gatewayRaw(ours.clientUrl, route.path, c.body));
        assert.equal(show(got), show(want), `${route.path} ${c.label}\nbody: ${c.body}`);
        if ("dropped" in want || want.status !== 200) assert.equal(await revision(ours), before, `${route.path} ${c.label} wrote`);
        sent++;
      }
    }
    assert.ok(sent > 500, `only ${sent} bodies`);
    assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, "/v3/kv/range", ALL_KEYS))), show(withoutIds(await gatewayRaw(etcd.clientUrl, "/v3/kv/range", ALL_KEYS))));
    assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, "/v3/lease/leases", "{}"))), show(withoutIds(await gatewayRaw(etcd.clientUrl, "/v3/lease/leases", "{}"))));
  });

  test("bodies that are not one JSON object, and unknown or lowerCamel field names", async () => {
    const bodies = [
      "", " ", "null", "[]", '"x"', "5", "true", "{", '{"key":', "é", "\u0001", "[".repeat(10001), '{"a":'.repeat(9999) + "1" + "}".repeat(9999),
      '{"key":"Z2s="} trailing', '{"key":"Z2s="}{"key":', '{"key":"Z2s=","nope":{"deep":[1,{"x":null}]},"Key":5,"":1}',
      '{"key":"Z2s=","rangeEnd":"AA==","range_end":"eA=="}', '{"k\\u0065y":"Z2s="}', '{"key":"Z2s=","limit":"x","limit":"1"}',
      '{"key":"Z2s=","sortOrder":"DESCEND","sortTarget":"MOD","keysOnly":true}',
    ];
    for (const body of bodies) {
      const want = withoutIds(await gatewayRaw(etcd.clientUrl, "/v3/kv/range", body));
      assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, "/v3/kv/range", body))), show(want), `body ${JSON.stringify(body.slice(0, 60))}`);
    }
  });

  test("a txn's checks in etcd's order: an op with nothing set is 'key not found' only where etcd meets it first", async () => {
    const bodies = [
      '{"success":[{"request_delete_range":{}}],"failure":[{}]}',
      '{"success":[{"request_put":{"key":"AA==","lease":1,"ignore_lease":true}}],"failure":[{}]}',
      '{"success":[{"request_txn":{"success":[{}]}}],"failure":[{"request_put":{}}]}',
      '{"compare":[{}],"success":[{}]}',
      '{"success":[{"request_txn":{"compare":[{}]}},{}]}',
      '{"success":[{"request_range":null}]}',
    ];
    for (const body of bodies) {
      const want = withoutIds(await gatewayRaw(etcd.clientUrl, "/v3/kv/txn", body));
      assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, "/v3/kv/txn", body))), show(want), body);
    }
  });

  test("a txn with a null compare or op: etcd's gateway panics and drops the connection; nothing is written", async () => {
    const before = await revision(ours);
    for (const body of ['{"compare":[null]}', '{"success":[null]}', '{"success":[{"request_txn":{"failure":[null]}}]}']) {
      assert.equal(show(await gatewayRaw(etcd.clientUrl, "/v3/kv/txn", body)), "dropped connection");
      assert.equal(show(await gatewayRaw(ours.clientUrl, "/v3/kv/txn", body)), "dropped connection", body);
    }
    assert.equal(await revision(ours), before);
    // the member is still up
    assert.equal(((await gatewayRaw(ours.clientUrl, "/v3/kv/range", ALL_KEYS)) as { status: number }).status, 200);
  });
});

describe("JSON gateway: 64-bit integers are exact, as JSON strings and as numbers", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  const both = async (path: string, body: string) => {
    const want = withoutIds(await gatewayRaw(etcd.clientUrl, path, body));
    const got = withoutIds(await gatewayRaw(ours.clientUrl, path, body));
    assert.equal(show(got), show(want), `${path} ${body}`);
    return "dropped" in got ? "" : got.body;
  };

  test("lease IDs up to 2^63-1: grant, put with the lease, time-to-live, list, revoke", async () => {
    for (const [id, asNumber] of [
      ["3606754672059709111", false],
      ["3606754672059709112", true],
      ["9223372036854775807", true],
      ["9007199254740993", true],
    ] as const) {
      const idJson = asNumber ? id : `"${id}"`;
      assert.match(await both("/v3/lease/grant", `{"TTL":600,"ID":${idJson}}`), new RegExp(`"ID":"${id}"`));
      await both("/v3/kv/put", `{"key":"${Buffer.from(`l${id}`).toString("base64")}","value":"dg==","lease":${idJson}}`);
      assert.match(await both("/v3/kv/range", `{"key":"${Buffer.from(`l${id}`).toString("base64")}"}`), new RegExp(`"lease":"${id}"`));
      assert.match(await both("/v3/lease/timetolive", `{"ID":${idJson},"keys":true}`), new RegExp(`"ID":"${id}"`));
    }
    const list = await both("/v3/lease/leases", "{}");
    for (const id of ["3606754672059709111", "3606754672059709112", "9223372036854775807", "9007199254740993"]) assert.ok(list.includes(`"ID":"${id}"`), list);
    await both("/v3/lease/revoke", '{"ID":9223372036854775807}');
    await both("/v3/lease/timetolive", '{"ID":"9223372036854775807"}');
  });

  test("revisions as strings and numbers, past 2^53 too", async () => {
    for (const rev of ['"2"', "2", '"9007199254740993"', "9223372036854775807", '"-1"']) await both("/v3/kv/range", `{"key":"AA==","range_end":"AA==","revision":${rev}}`);
    for (const rev of ["9223372036854775807", '"2"', "2"]) await both("/v3/kv/compaction", `{"revision":${rev}}`);
    await both("/v3/kv/txn", '{"compare":[{"key":"AA==","range_end":"AA==","target":"MOD","result":"LESS","mod_revision":9223372036854775807}],"success":[]}');
  });

  test("the member and cluster IDs in every header are the uint64 etcdctl reports", async () => {
    const ctl = await etcdctl(ours.endpoint, ["member", "list", "-w", "json"]);
    const header = /"header":\{"cluster_id":(\d+),"member_id":(\d+)/.exec(ctl.stdout)!;
    const body = ((await gatewayRaw(ours.clientUrl, "/v3/kv/range", ALL_KEYS)) as { body: string }).body;
    assert.match(body, new RegExp(`"cluster_id":"${header[1]}","member_id":"${header[2]}"`));
    assert.ok(BigInt(header[2]!) > 0n);
  });
});
