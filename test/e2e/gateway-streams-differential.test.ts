import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayChunked, gatewayRaw, withoutIds, type RawAnswer } from "../support/gateway.js";

/**
 * Differential, with --max-request-bytes=1024 (gRPC takes 1024 + 512 KiB): oversized gateway bodies
 * and the streaming routes' request side (/v3/watch, /v3/lease/keepalive) against Debian's etcd
 * 3.4.23: the same status and body; an oversized request gets etcd's error (not a TCP reset) and
 * writes nothing; a streamed body is framed the same whatever its chunking.
 *
 * Streamed bodies go to etcd in one write: its HTTP/1.1 server (Go's net/http) discards request
 * bytes that arrive after the first response line is flushed, racing the gateway's decoder for
 * them, so a body trickled in loses requests at random there. etcd-ts reads them all; a trickled
 * body is compared with the same body sent whole.
 */

const LIMIT = 1024 + 512 * 1024;
const b64 = (n: number, c = "v") => Buffer.from(c.repeat(n)).toString("base64");
const show = (a: RawAnswer) => ("dropped" in a ? "dropped connection" : `${a.status} ${a.body}`);
const norm = (s: string) => s.replace(/"(cluster_id|member_id)":"\d+",?/g, "");

describe("JSON gateway: oversized bodies and streamed requests, as etcd", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]), { flags: ["--max-request-bytes=1024"] });

  const both = async (path: string, body: string) => {
    const want = show(withoutIds(await gatewayRaw(etcd.clientUrl, path, body)));
    assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, path, body))), want, `${path} ${body.slice(0, 80)}`);
    return want;
  };
  /** The body in one write to etcd; to etcd-ts in one write, then in `chunks` `gapMs` apart: the same answers. */
  const stream = async (path: string, chunks: string[], gapMs: number, readMs: number) => {
    const whole = [chunks.join("")];
    const [want, got] = await Promise.all([etcd, ours].map((m) => gatewayChunked(m.clientUrl, path, whole, 0, readMs)));
    assert.equal(`${got!.status} ${norm(got!.body)}`, `${want!.status} ${norm(want!.body)}`, `${path} ${whole[0]!.slice(0, 100)}`);
    if (chunks.length > 1) {
      const trickled = await gatewayChunked(ours.clientUrl, path, chunks, gapMs, readMs);
      assert.equal(`${trickled.status} ${norm(trickled.body)}`, `${want!.status} ${norm(want!.body)}`, `${path} trickled in ${chunks.length} chunks`);
    }
    return want!;
  };

  test("an oversized unary request gets etcd's error, not a reset, and writes nothing", async () => {
    // over --max-request-bytes: the server's "request is too large"
    assert.match(await both("/v3/kv/put", JSON.stringify({ key: b64(1, "k"), value: b64(2000) })), /^400 .*request is too large/);
    // over the gRPC limit: gRPC's ResourceExhausted with the message's protobuf size
    assert.match(await both("/v3/kv/put", JSON.stringify({ key: b64(1, "k"), value: b64(600000) })), /^429 .*received message larger than max \(600007 vs\. 525312\)/);
    // unknown fields do not count: only the message does (3 MB of padding, twice the JSON etcd-ts would hold)
    assert.match(await both("/v3/lease/grant", JSON.stringify({ TTL: 60, ID: 7, pad: "x".repeat(3_000_000), more: [{ a: "y".repeat(100_000) }] })), /^200 /);
    assert.match(await both("/v3/kv/txn", JSON.stringify({ success: [{ request_put: { key: b64(1, "k"), value: b64(LIMIT) } }] })), /^429 /);
    // a syntax error late in an oversized body still wins, as etcd reads the whole value first
    assert.match(await both("/v3/kv/put", `{"key":"${b64(1, "k")}","value":"${b64(600000)}" x}`), /^400 .*after object key:value pair/);
    assert.match(await both("/v3/kv/range", JSON.stringify({ key: b64(1, "k") })), /^200 \{"header":\{"revision":"1"/);
  });

  test("watch: an oversized request ends the stream with ResourceExhausted (HTTP 429 if it came first)", async () => {
    const big = JSON.stringify({ create_request: { key: b64(600000, "w") } });
    const first = await stream("/v3/watch", [big], 0, 10_000);
    assert.equal(first.status, 429);
    assert.ok(first.ended);
    // After a first answer etcd's answer depends on the race described above (with the whole body in
    // its buffer, curl gets this same answer from it): created, then the error, and the end.
    const later = await gatewayChunked(ours.clientUrl, "/v3/watch", [JSON.stringify({ create_request: { key: b64(1, "a") } }), big, JSON.stringify({ create_request: { key: b64(1, "b") } })], 50, 10_000);
    assert.equal(later.status, 200);
    assert.deepEqual(
      norm(later.body).split("\n"),
      [
        '{"result":{"header":{"revision":"1","raft_term":"2"},"created":true}}',
        '{"error":{"grpc_code":8,"http_code":429,"message":"grpc: received message larger than max (600008 vs. 525312)","http_status":"Too Many Requests"}}',
      ],
    );
    assert.ok(later.ended);
  });

  test("watch: a bad first request fails the call (500); a bad later one only stops the requests", async () => {
    assert.equal((await stream("/v3/watch", ['{"create_request":{"key":"Zm9"}}'], 0, 3000)).status, 500);
    assert.equal((await stream("/v3/watch", ["[]"], 0, 3000)).status, 500);
    assert.equal((await stream("/v3/watch", ['{"create_request":{"key":"YQ=="}} x {"create_request":{"key":"Yg=="}}'], 0, 1500)).status, 200);
    await stream("/v3/watch", ['{"create_request":{"key":"YQ=="}}', '{"create_request":{"start_revision":1.5}}', '{"create_request":{"key":"Yg=="}}'], 100, 1500);
  });

  test("watch: a body dripped a byte at a time is framed as a whole one", async () => {
    const body = ' {"create_request" : {"key":"YQ==", "range_end":"Yg==", "filters":["NODELETE"]}}\n{"progress_request":{}}\t{"cancel_request":{"watch_id":"0"}}';
    const r = await stream("/v3/watch", [...body], 2, 4000);
    assert.match(r.body, /"created":true/);
    assert.match(r.body, /"canceled":true/);
  });

  test("keepalive: results, then the end of the body ends the answer; bad requests as etcd", async () => {
    await both("/v3/lease/grant", '{"TTL":60,"ID":"4242"}');
    const r = await stream("/v3/lease/keepalive", ['{"ID":"4242"}{"ID":4242}', ' {"ID":"424', '2"}'], 30, 5000);
    assert.equal(r.status, 200);
    assert.equal(r.body.split("\n").filter((l) => l.includes('"TTL":"60"')).length, 3);
    assert.ok(r.ended);
    await stream("/v3/lease/keepalive", ['{"ID":"4242"}', '{"ID":"x"}', '{"ID":"4242"}'], 30, 5000);
    await stream("/v3/lease/keepalive", ['{"ID":"4242"}', "{"], 30, 5000);
    await stream("/v3/lease/keepalive", ['{"ID":"1e3"}'], 0, 5000);
    await stream("/v3/lease/keepalive", [""], 0, 5000);
    await stream("/v3/lease/keepalive", ['{"ID":"4242"}', JSON.stringify({ ID: "4242", pad: "x".repeat(3_000_000) }), '{"ID":"4242"}'], 30, 5000);
    // a later duplicate key wins: the 800 kB array is the ID, a bad later request
    await stream("/v3/lease/keepalive", ['{"ID":"4242"}', `{"ID":"4242","ID":["${b64(600000)}"]}`], 30, 5000);
  });

  test("the member is up and nothing was written by the refused requests", async () => {
    const all = JSON.stringify({ key: "AA==", range_end: "AA==" });
    assert.equal(show(withoutIds(await gatewayRaw(ours.clientUrl, "/v3/kv/range", all))), show(withoutIds(await gatewayRaw(etcd.clientUrl, "/v3/kv/range", all))));
  });
});
