/**
 * The peer HashKV wire format (etcdserver/peer-hashkv.ts), as etcd's hashKVHandler and
 * getPeerHashKVHTTP: what Go's json.Unmarshal takes as a HashKVRequest and refuses, and what an
 * answer means.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeHashKVAnswer, decodeHashKVRequest, encodeHashKVRequest, encodeHashKVResponse } from "../../server/etcdserver/peer-hashkv.js";
import { ErrCompacted, ErrFutureRev } from "../../server/mvcc/index.js";

test("a request body: etcd's encoding, and what Go's json.Unmarshal accepts or refuses", () => {
  assert.equal(encodeHashKVRequest(0), "{}");
  assert.equal(encodeHashKVRequest(7), '{"revision":7}');
  for (const [body, rev] of [["{}", 0], ['{"revision":7}', 7], ['{"Revision":7}', 7], ["null", 0], ['{"revision":null}', 0], ['{"other":"x","revision":3}', 3]] as const) {
    assert.equal(decodeHashKVRequest(body), rev, body);
  }
  for (const body of ["", "{", "[]", '"x"', '{"revision":"7"}', '{"revision":7.5}', '{"revision":1e300}', '{"revision":true}']) {
    assert.equal(decodeHashKVRequest(body), undefined, body);
  }
});

test("an answer: the hash, or etcd's errors from a 400's text, or an unknown error", () => {
  const r = { hash: 123, compactRevision: -1, revision: 9 };
  assert.deepEqual(decodeHashKVAnswer(200, encodeHashKVResponse(r)), r);
  assert.equal(encodeHashKVResponse({ hash: 0, compactRevision: 0, revision: 0 }), '{"header":{}}');
  assert.throws(() => decodeHashKVAnswer(400, `${ErrCompacted.message}\n`), (e) => e === ErrCompacted);
  assert.throws(() => decodeHashKVAnswer(400, `${ErrFutureRev.message}\n`), (e) => e === ErrFutureRev);
  assert.throws(() => decodeHashKVAnswer(400, "error unmarshalling request\n"), /unknown error: error unmarshalling request/);
  assert.throws(() => decodeHashKVAnswer(200, '{"hash":"x"}'), /malformed/);
});
