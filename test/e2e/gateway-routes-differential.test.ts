import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayRaw, type RawAnswer } from "../support/gateway.js";

/**
 * Differential: the gateway routes of etcd 3.4's rpc.proto HTTP annotations beyond KV, Lease,
 * Watch, Lock and Election (Cluster and Maintenance), the /v3beta prefix, and the access control
 * (--host-whitelist, --cors) in front of them, against Debian's etcd 3.4.23: same status and
 * JSON body once what differs by itself (IDs, URLs, sizes, indexes, versions) is normalized.
 */

/** IDs, URLs, ports and the figures two servers never share, replaced by placeholders. */
function normalized(a: RawAnswer): string {
  if ("dropped" in a) return "dropped connection";
  const body = a.body
    .replace(/"(cluster_id|member_id|ID|leader|memberID)":"\d+"/g, '"$1":"<id>"')
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, "<url>")
    .replace(/"(version|dbSize|dbSizeInUse|raftIndex|raftAppliedIndex|raft_term|raftTerm|revision|hash)":"?[\w.-]+"?/g, '"$1":"<n>"')
    .replace(/member [0-9a-f]+/g, "member <id>");
  return `${a.status} ${sortedMembers(body)}`;
}

/** Members in a stable order (each server lists them by its own IDs, which differ). */
function sortedMembers(body: string): string {
  if (!body.includes('"members":[')) return body;
  const o = JSON.parse(body) as { members: unknown[] };
  o.members = o.members.map((m) => JSON.stringify(m)).sort().map((s) => JSON.parse(s) as unknown);
  return JSON.stringify(o);
}

const post = (m: MemberProcess, path: string, body: string) => gatewayRaw(m.clientUrl, path, body);

describe("JSON gateway: Cluster and Maintenance routes as etcd 3.4 serves them", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  const both = async (path: string, body: string): Promise<[string, string]> => {
    const want = normalized(await post(etcd, path, body));
    const got = normalized(await post(ours, path, body));
    assert.equal(got, want, `${path} ${body}`);
    return [want, got];
  };

  test("/v3/cluster/member/{list,add,update,promote,remove}, a learner's life, and unknown IDs as uint64 numbers", async () => {
    await both("/v3/cluster/member/list", "{}");
    const added: Record<string, string> = {};
    for (const m of [etcd, ours]) {
      const a = await post(m, "/v3/cluster/member/add", '{"peerURLs":["http://127.0.0.1:1"],"isLearner":true}');
      assert.ok(!("dropped" in a) && a.status === 200, JSON.stringify(a));
      added[m.flavor] = (JSON.parse(a.body) as { member: { ID: string } }).member.ID;
      assert.match(normalized(a), /"isLearner":true/);
    }
    // a learner that never started does not stop linearizable reads
    await both("/v3/kv/range", '{"key":"bm9uZQ=="}');
    assert.equal(normalized(await post(ours, "/v3/cluster/member/list", "{}")), normalized(await post(etcd, "/v3/cluster/member/list", "{}")));
    const each = async (path: string, body: (id: string) => string) => {
      const want = normalized(await post(etcd, path, body(added.etcd!)));
      assert.equal(normalized(await post(ours, path, body(added["etcd-ts"]!))), want, path);
    };
    // (no update of the learner: etcd 3.4 drops isLearner from the updated member, a bug 3.5 fixed and etcd-ts does not copy)
    await each("/v3/cluster/member/promote", (id) => `{"ID":${id}}`);
    await each("/v3/cluster/member/remove", (id) => `{"ID":"${id}"}`);
    for (const path of ["/v3/cluster/member/remove", "/v3/cluster/member/promote"]) {
      await both(path, '{"ID":18446744073709551615}');
      await both(path, '{"ID":"18446744073709551616"}');
    }
    await both("/v3/cluster/member/update", '{"ID":"12345","peerURLs":["http://127.0.0.1:3"]}');
    await both("/v3/cluster/member/add", '{"peerURLs":["not a url"]}');
  });

  test("/v3/maintenance/{status,alarm,hash,transfer-leadership}", async () => {
    for (const m of [etcd, ours]) await post(m, "/v3/kv/put", '{"key":"aw==","value":"dg=="}');
    const [status] = await both("/v3/maintenance/status", "{}");
    assert.match(status, /^200 \{"header":.*"leader":"<id>"/);
    await both("/v3/maintenance/alarm", '{"action":"GET"}');
    await both("/v3/maintenance/alarm", '{"action":1,"memberID":9223372036854775807,"alarm":"NONE"}');
    await both("/v3/maintenance/alarm", '{"action":"NOPE"}');
    await both("/v3/maintenance/transfer-leadership", '{"targetID":"18446744073709551615"}');
    await both("/v3/maintenance/transfer-leadership", "{}");
  });

  test("/v3/maintenance/hash, /defragment and /snapshot: etcd's answers", async () => {
    // Hash and HashKV share a path: etcd 3.4's gateway answers with Hash (no compact_revision)
    const hash = normalized(await post(ours, "/v3/maintenance/hash", '{"revision":"99"}'));
    assert.equal(hash, normalized(await post(etcd, "/v3/maintenance/hash", '{"revision":"99"}')));
    assert.doesNotMatch(normalized(await post(etcd, "/v3/maintenance/hash", "{}")), /compact_revision/);
    const defrag = normalized(await post(ours, "/v3/maintenance/defragment", "{}"));
    assert.equal(defrag, normalized(await post(etcd, "/v3/maintenance/defragment", "{}")));
    for (const m of [etcd, ours]) {
      const s = await post(m, "/v3/maintenance/snapshot", "{}");
      assert.ok(!("dropped" in s) && s.status === 200, `${m.flavor} ${JSON.stringify(s)}`);
      const lines = s.body.trim().split("\n").map((l) => JSON.parse(l) as { result: { blob?: string; remaining_bytes?: string } });
      assert.ok(lines.length > 0 && lines.every((l) => typeof l.result.blob === "string"), m.flavor);
      assert.equal(lines.at(-1)!.result.remaining_bytes, undefined, `${m.flavor}: the last chunk has remaining_bytes 0 (left out)`);
    }
  });

  test("/v3beta/... is /v3/...; /v3alpha and unknown routes are 404 in both", async () => {
    for (const m of [etcd, ours]) await post(m, "/v3beta/kv/put", '{"key":"YmV0YQ==","value":"dg=="}');
    await both("/v3beta/kv/range", '{"key":"YmV0YQ=="}');
    await both("/v3beta/cluster/member/list", "{}");
    await both("/v3beta/maintenance/status", "{}");
    await both("/v3beta/lease/leases", "{}");
    await both("/v3alpha/kv/range", '{"key":"YmV0YQ=="}');
    await both("/v3/cluster/member/nope", "{}");
  });
});

/** GET/OPTIONS with a chosen Host and Origin: status, the CORS headers, and the body. */
function access(clientUrl: string, method: string, host: string, origin?: string): Promise<string> {
  const url = new URL("/version", clientUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { host, ...(origin ? { origin } : {}) } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        const cors = ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers"].map((h) => `${h}=${res.headers[h] ?? ""}`);
        resolve(`${res.statusCode} ${cors.join(" ")} ${res.statusCode === 200 ? "" : body}`);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("--host-whitelist and --cors, as etcd 3.4's access controller applies them", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]), { flags: ["--host-whitelist=127.0.0.1,good.example", "--cors=http://app.example:8080"] });

  test("an unlisted Host gets 421 with etcd's text; a listed one is served; CORS headers only for a listed origin; OPTIONS is 200", async () => {
    const cases: Array<[string, string, string | undefined]> = [
      ["GET", "evil.example", undefined],
      ["GET", "evil.example:2379", "http://app.example:8080"],
      ["GET", "good.example:2379", undefined],
      ["GET", "good.example", "http://app.example:8080"],
      ["GET", "good.example", "http://other.example:8080"],
      ["OPTIONS", "good.example", "http://app.example:8080"],
      ["OPTIONS", "evil.example", "http://app.example:8080"],
      ["GET", "[::1]:2379", undefined],
    ];
    for (const [method, host, origin] of cases) {
      assert.equal(await access(ours.clientUrl, method, host, origin), await access(etcd.clientUrl, method, host, origin), `${method} Host: ${host} Origin: ${origin}`);
    }
  });
});

describe("default --cors (*): every answer allows every origin, as etcd's", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("CORS headers with origin *, OPTIONS answered 200", async () => {
    for (const [method, origin] of [["GET", undefined], ["GET", "http://x.example:1"], ["OPTIONS", undefined]] as const) {
      assert.equal(await access(ours.clientUrl, method, "127.0.0.1", origin), await access(etcd.clientUrl, method, "127.0.0.1", origin));
    }
  });
});
