import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { GatewayRequestDecoder, type GatewayRequest } from "../../server/api/http/gateway-request.js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";

/**
 * The gateway's request decoding (jsonpb over the .proto types) in process: etcd's error for each
 * malformed field (texts checked against etcd 3.4.23; the live comparison is in
 * test/e2e/gateway-validation-differential.test.ts), and the exact request for each valid one.
 */

const LIMIT = 2 * 1024 * 1024;
const decoders = new Map<string, GatewayRequestDecoder>();
function decode(type: string, json: string, limit = LIMIT): GatewayRequest {
  const key = `${type}/${limit}`;
  if (!decoders.has(key)) decoders.set(key, new GatewayRequestDecoder(type, limit));
  return decoders.get(key)!.decodeJson(Buffer.from(json));
}

/** The request the gRPC method's decoder makes of the gateway's bytes (what the handlers get). */
function request(service: string, method: string, type: string, json: string): Record<string, unknown> {
  const r = decode(type, json);
  assert.ok(r.ok, `expected a request for ${json}, got ${JSON.stringify(r)}`);
  const [pkg, svc] = service.split(".");
  return serviceDefinition(pkg!, svc!)[method]!.requestDeserialize(r.raw) as Record<string, unknown>;
}

function error(type: string, json: string): string {
  const r = decode(type, json);
  assert.ok(!r.ok && r.kind === "invalid", `expected an error for ${json}, got ${JSON.stringify(r)}`);
  return r.message;
}

const put = (json: string) => request("etcdserverpb.KV", "Put", "etcdserverpb.PutRequest", json);
const putError = (json: string) => error("etcdserverpb.PutRequest", json);

describe("gateway request decoding: the issue's cases get etcd's 400 instead of a wrong write", () => {
  test("invalid base64 is refused (it wrote the key 'fo')", () => {
    assert.equal(putError('{"key":"Zm9","value":"eA=="}'), "illegal base64 data at input byte 0");
  });
  test("an object where bytes belong is refused (it wrote an empty value)", () => {
    assert.equal(putError('{"key":"Zm9v","value":{}}'), "json: cannot unmarshal object into Go value of type []uint8");
  });
  test("a non-number or out-of-range lease is refused (it put with no lease)", () => {
    assert.equal(putError('{"key":"Zm9v","lease":"abc"}'), "invalid character 'a' looking for beginning of value");
    assert.equal(putError('{"key":"Zm9v","lease":99999999999999999999}'), "json: cannot unmarshal number 99999999999999999999 into Go value of type int64");
  });
  test("an int64 lease ID past 2^63-1 is refused (it became -1)", () => {
    assert.equal(
      error("etcdserverpb.LeaseGrantRequest", '{"TTL":"10","ID":"18446744073709551615"}'),
      "json: cannot unmarshal number 18446744073709551615 into Go value of type int64",
    );
  });
  test("a fractional TTL, an exponent revision and an unknown enum name are refused", () => {
    assert.equal(error("etcdserverpb.LeaseGrantRequest", '{"TTL":5.5}'), "json: cannot unmarshal number 5.5 into Go value of type int64");
    assert.equal(error("etcdserverpb.CompactionRequest", '{"revision":"1e3"}'), "json: cannot unmarshal number 1e3 into Go value of type int64");
    assert.equal(
      error("etcdserverpb.RangeRequest", '{"key":"Zm9v","sort_order":"ascend"}'),
      'unknown value "ascend" for enum etcdserverpb.RangeRequest_SortOrder',
    );
  });
});

describe("gateway request decoding: 64-bit integers are exact, as strings and as numbers", () => {
  const grant = (json: string) => request("etcdserverpb.Lease", "LeaseGrant", "etcdserverpb.LeaseGrantRequest", json);
  for (const id of ["3606754672059709111", "9223372036854775807", "-9223372036854775808", "1", "-1"]) {
    test(`lease ID ${id}`, () => {
      assert.equal(grant(`{"TTL":"60","ID":"${id}"}`).ID, id);
      assert.equal(grant(`{"TTL":60,"ID":${id}}`).ID, id);
    });
  }
  test("uint64 member IDs: the full range, no sign", () => {
    const remove = (json: string) => request("etcdserverpb.Cluster", "MemberRemove", "etcdserverpb.MemberRemoveRequest", json);
    assert.equal(remove('{"ID":"18446744073709551615"}').ID, "18446744073709551615");
    assert.equal(remove('{"ID":18446744073709551615}').ID, "18446744073709551615");
    assert.equal(error("etcdserverpb.MemberRemoveRequest", '{"ID":-1}'), "json: cannot unmarshal number -1 into Go value of type uint64");
    assert.equal(error("etcdserverpb.MemberRemoveRequest", '{"ID":"-0"}'), "json: cannot unmarshal number -0 into Go value of type uint64");
    assert.equal(error("etcdserverpb.MemberRemoveRequest", '{"ID":18446744073709551616}'), "json: cannot unmarshal number 18446744073709551616 into Go value of type uint64");
  });
  test("revisions and other int64 fields", () => {
    const r = request("etcdserverpb.KV", "Range", "etcdserverpb.RangeRequest", '{"key":"YQ==","revision":"9007199254740993","limit":-0,"min_mod_revision":" 7 "}');
    assert.equal(r.revision, "9007199254740993");
    assert.equal(r.limit, "0");
    assert.equal(r.min_mod_revision, "7");
    assert.equal(error("etcdserverpb.RangeRequest", '{"limit":1.0}'), "json: cannot unmarshal number 1.0 into Go value of type int64");
    assert.equal(error("etcdserverpb.RangeRequest", '{"limit":""}'), "unexpected end of JSON input");
    assert.equal(error("etcdserverpb.RangeRequest", '{"limit":"0 1"}'), "invalid character '1' after top-level value");
    assert.equal(error("etcdserverpb.RangeRequest", '{"limit":"true"}'), "json: cannot unmarshal bool into Go value of type int64");
    assert.equal(error("etcdserverpb.RangeRequest", '{"limit":[1]}'), "json: cannot unmarshal array into Go value of type int64");
    // "null" in quotes is json.Unmarshal of null: the field keeps its zero value
    assert.equal(request("etcdserverpb.KV", "Range", "etcdserverpb.RangeRequest", '{"limit":"null"}').limit, "0");
  });
});

describe("gateway request decoding: jsonpb's field rules", () => {
  test("bytes: Go's base64 (newlines skipped), or an array of byte values", () => {
    assert.deepEqual(put('{"key":"Zm9v\\n","value":[104,105]}').value, Buffer.from("hi"));
    assert.equal(putError('{"key":[102,300]}'), "json: cannot unmarshal number 300 into Go value of type uint8");
    assert.equal(putError('{"key":"Zm9v_-"}'), "illegal base64 data at input byte 4");
    assert.equal(putError('{"key":"Zm9vYg"}'), "illegal base64 data at input byte 4");
    assert.equal(putError('{"key":5}'), "json: cannot unmarshal number into Go value of type []uint8");
  });
  test("bool: only true/false", () => {
    assert.equal(putError('{"prev_kv":"true"}'), "json: cannot unmarshal string into Go value of type bool");
    assert.equal(putError('{"prev_kv":1}'), "json: cannot unmarshal number into Go value of type bool");
    assert.equal(put('{"key":"YQ==","prev_kv":null}').prev_kv, false);
  });
  test("enums: by name or number (any int32), names are raw bytes", () => {
    const range = (json: string) => request("etcdserverpb.KV", "Range", "etcdserverpb.RangeRequest", json);
    assert.equal(range('{"sort_order":"DESCEND"}').sort_order, 2);
    assert.equal(range('{"sort_order":7}').sort_order, 7);
    assert.equal(error("etcdserverpb.RangeRequest", '{"sort_order":"1"}'), 'unknown value "1" for enum etcdserverpb.RangeRequest_SortOrder');
    assert.equal(error("etcdserverpb.RangeRequest", '{"sort_order":"V\\u0041"}'), 'unknown value "V\\\\u0041" for enum etcdserverpb.RangeRequest_SortOrder');
    assert.equal(
      error("etcdserverpb.RangeRequest", '{"sort_order":2147483648}'),
      "json: cannot unmarshal number 2147483648 into Go value of type etcdserverpb.RangeRequest_SortOrder",
    );
    const watch = (json: string) => request("etcdserverpb.Watch", "Watch", "etcdserverpb.WatchRequest", json);
    assert.deepEqual((watch('{"create_request":{"key":"YQ==","filters":["NODELETE",0]}}').create_request as Record<string, unknown>).filters, [1, 0]);
    assert.equal(
      error("etcdserverpb.WatchRequest", '{"create_request":{"filters":"NOPUT"}}'),
      'invalid target "slice" for enum etcdserverpb.WatchCreateRequest_FilterType',
    );
  });
  test("names: .proto or lowerCamel (lowerCamel wins), last duplicate wins, unknown ignored, keys unescaped", () => {
    const range = (json: string) => request("etcdserverpb.KV", "Range", "etcdserverpb.RangeRequest", json);
    assert.deepEqual(range('{"rangeEnd":"AA==","range_end":"eA=="}').range_end, Buffer.from([0]));
    assert.equal(range('{"limit":"x","limit":"3"}').limit, "3");
    assert.equal(String(range('{"k\\u0065y":"YQ==","nope":{"a":[1,{}]},"Key":5}').key), "a");
  });
  test("wrong shapes for messages and lists", () => {
    const txn = (json: string) => error("etcdserverpb.TxnRequest", json);
    assert.equal(txn('{"compare":{}}'), "json: cannot unmarshal object into Go value of type []json.RawMessage");
    assert.equal(txn('{"compare":[1]}'), "json: cannot unmarshal number into Go value of type map[string]json.RawMessage");
    assert.equal(txn('{"success":[{"request_put":"x"}]}'), "json: cannot unmarshal string into Go value of type map[string]json.RawMessage");
    assert.equal(error("etcdserverpb.PutRequest", "[]"), "json: cannot unmarshal array into Go value of type map[string]json.RawMessage");
    assert.equal(txn('{"success":[{"request_txn":{"success":[{"request_put":{"key":"Zm9"}}]}}]}'), "illegal base64 data at input byte 0");
  });
  test("fields are checked in Go struct order, not JSON order", () => {
    assert.equal(error("etcdserverpb.TxnRequest", '{"compare":[{"key":"Zm9","target":"NOPE"}]}'), 'unknown value "NOPE" for enum etcdserverpb.Compare_CompareTarget');
  });
  test("oneofs: the interface field takes only null; a null member is still chosen", () => {
    const txn = (json: string) => request("etcdserverpb.KV", "Txn", "etcdserverpb.TxnRequest", json);
    assert.equal(error("etcdserverpb.TxnRequest", '{"compare":[{"target_union":5}]}'), "json: cannot unmarshal number into Go value of type etcdserverpb.isCompare_TargetUnion");
    assert.equal(error("etcdserverpb.TxnRequest", '{"success":[{"request":{}}]}'), "json: cannot unmarshal object into Go value of type etcdserverpb.isRequestOp_Request");
    const c = (txn('{"compare":[{"key":"YQ==","version":null}]}').compare as Array<Record<string, unknown>>)[0]!;
    assert.equal(c.target_union, "version");
    assert.equal(c.version, "0");
    const op = (txn('{"success":[{"request_range":null}]}').success as Array<Record<string, unknown>>)[0]!;
    assert.equal(op.request, undefined);
  });
  test("a null element of a repeated message is where etcd's gateway panics: the connection is dropped", () => {
    assert.deepEqual(decode("etcdserverpb.TxnRequest", '{"compare":[null]}'), { ok: false, kind: "dropped" });
    // ...but only once everything decoded: an error elsewhere is answered first
    assert.equal(error("etcdserverpb.TxnRequest", '{"compare":[null],"success":5}'), "json: cannot unmarshal number into Go value of type []json.RawMessage");
  });
  test("an empty body and null are an empty request", () => {
    assert.deepEqual(decode("etcdserverpb.PutRequest", "null"), { ok: true, raw: Buffer.alloc(0) });
  });
});

describe("gateway request decoding: size and depth limits", () => {
  test("a message over the gRPC limit gets gRPC's ResourceExhausted text with its protobuf size", () => {
    const r = decode("etcdserverpb.PutRequest", `{"key":"${Buffer.alloc(2000).toString("base64")}"}`, 1000);
    assert.deepEqual(r, { ok: false, kind: "too-large", message: "grpc: received message larger than max (2003 vs. 1000)" });
  });
  test("unknown fields do not count: only the message's size does", () => {
    assert.ok(decode("etcdserverpb.PutRequest", `{"key":"YQ==","x":"${"a".repeat(5000)}"}`, 1000).ok);
  });
  test("nesting past what the gRPC decoder takes is its deserialization error, not a crash", () => {
    let op = '{"request_put":{"key":"YQ=="}}';
    for (let i = 0; i < 600; i++) op = `{"request_txn":{"success":[${op}]}}`;
    assert.deepEqual(decode("etcdserverpb.TxnRequest", `{"success":[${op}]}`), { ok: false, kind: "undecodable", message: "Error deserializing request" });
  });
});
