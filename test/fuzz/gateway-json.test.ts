import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzParams } from "./settings.js";
import { GatewayRequestDecoder, type GatewayRequest } from "../../server/api/http/gateway-request.js";
import { GoJsonDecoder, type FrameEvent } from "../../server/api/http/go-json-stream.js";
import { checkValid } from "../../server/api/http/go-json-scanner.js";
import { goBase64Decode } from "../../server/api/http/go-base64.js";
import { goUnquote } from "../../server/api/http/go-strings.js";
import { schemaOf, type FieldSchema } from "../../server/api/http/jsonpb-schema.js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { canonical, requestArbitrary } from "../support/proto-arbitrary.js";
import { renderGatewayJson } from "../support/gateway-render.js";

/**
 * Fuzzing the JSON gateway's request decoding in process (the decoder functions every route uses):
 * any bytes and any JSON shape give a typed outcome, never an exception; valid requests written
 * any way etcd's gateway takes them decode exactly; a corrupted field is always refused; the
 * framing does not depend on how the body is chunked; the Go ports agree with independent oracles.
 */

/** Each route's request type, and the gRPC method whose decoder takes the gateway's bytes. */
const ROUTES: Array<[type: string, pkg: string, service: string, method: string]> = [
  ["etcdserverpb.RangeRequest", "etcdserverpb", "KV", "Range"],
  ["etcdserverpb.PutRequest", "etcdserverpb", "KV", "Put"],
  ["etcdserverpb.DeleteRangeRequest", "etcdserverpb", "KV", "DeleteRange"],
  ["etcdserverpb.TxnRequest", "etcdserverpb", "KV", "Txn"],
  ["etcdserverpb.CompactionRequest", "etcdserverpb", "KV", "Compact"],
  ["etcdserverpb.WatchRequest", "etcdserverpb", "Watch", "Watch"],
  ["etcdserverpb.LeaseGrantRequest", "etcdserverpb", "Lease", "LeaseGrant"],
  ["etcdserverpb.LeaseRevokeRequest", "etcdserverpb", "Lease", "LeaseRevoke"],
  ["etcdserverpb.LeaseKeepAliveRequest", "etcdserverpb", "Lease", "LeaseKeepAlive"],
  ["etcdserverpb.LeaseTimeToLiveRequest", "etcdserverpb", "Lease", "LeaseTimeToLive"],
  ["etcdserverpb.LeaseLeasesRequest", "etcdserverpb", "Lease", "LeaseLeases"],
  ["etcdserverpb.MemberAddRequest", "etcdserverpb", "Cluster", "MemberAdd"],
  ["etcdserverpb.MemberUpdateRequest", "etcdserverpb", "Cluster", "MemberUpdate"],
  ["etcdserverpb.AlarmRequest", "etcdserverpb", "Maintenance", "Alarm"],
  ["v3lockpb.LockRequest", "v3lockpb", "Lock", "Lock"],
  ["v3lockpb.UnlockRequest", "v3lockpb", "Lock", "Unlock"],
  ["v3electionpb.CampaignRequest", "v3electionpb", "Election", "Campaign"],
  ["v3electionpb.ProclaimRequest", "v3electionpb", "Election", "Proclaim"],
  ["v3electionpb.LeaderRequest", "v3electionpb", "Election", "Leader"],
  ["v3electionpb.ResignRequest", "v3electionpb", "Election", "Resign"],
];

const LIMIT = 1024 * 1024;
const decoders = new Map(ROUTES.map(([t]) => [t, new GatewayRequestDecoder(t, LIMIT)]));
const deserialize = (pkg: string, service: string, method: string) => serviceDefinition(pkg, service)[method]!.requestDeserialize;

/** A body as a unary route reads it: the first framed value (unknown top-level fields dropped), decoded. */
function decodeBody(type: string, body: Buffer, chunk = body.length || 1, dropUnknown = true): GatewayRequest {
  const decoder = decoders.get(type)!;
  const framer = new GoJsonDecoder(2 * LIMIT, dropUnknown ? decoder.isKnownKey : undefined);
  for (let i = 0; i < body.length; i += chunk) {
    const [first] = framer.push(body.subarray(i, i + chunk));
    if (first) return decoder.decode(first);
  }
  return decoder.decode(framer.end()[0]!);
}

/** What any outcome must look like: a request the gRPC decoder takes, or a typed refusal. */
function assertTyped(r: GatewayRequest, pkg: string, service: string, method: string): void {
  if (r.ok) {
    assert.ok(r.raw.length <= LIMIT);
    deserialize(pkg, service, method)(r.raw);
    return;
  }
  assert.ok(["invalid", "too-large", "dropped", "undecodable"].includes(r.kind), JSON.stringify(r));
  if (r.kind === "invalid") assert.match(r.message, GO_ERROR);
}

const GO_ERROR =
  /^(json: cannot unmarshal (string|number( \S+)?|bool|array|object) into Go value of type \S+|invalid character '.+' .+|unexpected end of JSON input|unexpected EOF|illegal base64 data at input byte \d+|unknown value ".*" for enum \S+|invalid target "slice" for enum \S+)$/s;

const route = fc.constantFrom(...ROUTES);

describe("fuzz: gateway JSON decoding", () => {
  test("any bytes: a typed outcome, never an exception", () => {
    fc.assert(
      fc.property(route, fc.uint8Array({ maxLength: 200 }), ([type, pkg, service, method], bytes) => {
        assertTyped(decodeBody(type, Buffer.from(bytes)), pkg, service, method);
      }),
      fuzzParams(),
    );
  });

  test("any JSON value shape, field names included: a typed outcome, never an exception; dropping unknown fields while framing changes nothing", () => {
    const names = [...new Set(ROUTES.flatMap(([t]) => allNames(t)))];
    const key = fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 6 }));
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.jsonValue({ maxDepth: 1 }),
        fc.constantFrom("Zm9v", "Zm9", "1e3", "-1", "18446744073709551615", "9223372036854775808", " 1 ", "PUT", "VALUE", "NOPE", ""),
        fc.array(tie("v"), { maxLength: 3 }),
        fc.dictionary(key, tie("v"), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(route, fc.dictionary(key, value, { maxKeys: 5 }), fc.integer({ min: 1, max: 9 }), ([type, pkg, service, method], o, chunk) => {
        const body = Buffer.from(JSON.stringify(o));
        const r = decodeBody(type, body, chunk);
        assertTyped(r, pkg, service, method);
        assert.deepEqual(r, decodeBody(type, body, body.length, false));
      }),
      fuzzParams(),
    );
  });

  test("valid requests, written any way the gateway takes them, decode exactly (64-bit values included)", () => {
    const c = route.chain(([type, pkg, service, method]) => fc.tuple(fc.constant({ type, pkg, service, method }), requestArbitrary(type, 2), fc.integer()));
    fc.assert(
      fc.property(c, ([r, o, seed]) => {
        const json = renderGatewayJson(r.type, o, seed);
        const d = decodeBody(r.type, Buffer.from(json));
        assert.ok(d.ok, `${json} -> ${JSON.stringify(d)}`);
        const got = deserialize(r.pkg, r.service, r.method)(d.raw);
        assert.deepEqual(canonical(r.type, got), canonical(r.type, o), json);
      }),
      fuzzParams(),
    );
  });

  test("a valid request with one field corrupted is refused with etcd's error: nothing wrong gets through", () => {
    const c = route.chain(([type]) => fc.tuple(fc.constant(type), requestArbitrary(type, 2), fc.integer(), fc.nat(), fc.nat()));
    fc.assert(
      fc.property(c, ([type, o, seed, which, bad]) => {
        const fields = schemaOf(type).byNumber.filter((f) => f.oneof === undefined || o[f.origName] !== undefined);
        if (fields.length === 0) return;
        const f = fields[which % fields.length]!;
        const values = badValues(f);
        const json = splice(renderGatewayJson(type, { ...o, [f.origName]: undefined }, seed), f.origName, values[bad % values.length]!);
        const d = decodeBody(type, Buffer.from(json));
        assert.ok(!d.ok && d.kind === "invalid", `${json} -> ${JSON.stringify(d)}`);
        assert.match(d.message, GO_ERROR);
      }),
      fuzzParams(),
    );
  });

  test("framing does not depend on chunking", () => {
    const values = fc.array(fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), { minLength: 1, maxLength: 5 });
    const body = fc.tuple(values, fc.constantFrom(" ", "\n", "", "\t ")).map(([vs, sep]) => Buffer.from(vs.join(sep) + sep));
    const cut = fc.tuple(body, fc.array(fc.nat(), { maxLength: 8 }), fc.option(fc.constantFrom("x", "{", '"', "]"), { nil: "" }));
    fc.assert(
      fc.property(cut, ([b, cuts, tail]) => {
        const whole = Buffer.concat([b, Buffer.from(tail)]);
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((x, y) => x - y);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of [...points, whole.length]) {
          chunks.push(whole.subarray(at, p));
          at = p;
        }
        assert.deepEqual(frames([whole]), frames(chunks));
      }),
      fuzzParams(),
    );
  });

  test("Go's scanner accepts exactly what JSON.parse accepts", () => {
    const mutated = fc
      .tuple(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.constantFrom(..."{}[]\":,.-+eE01a\\u \t\n\u00e9\u0001")), { maxLength: 3 }))
      .map(([s, edits]) => {
        let t = s;
        for (const [at, op, ch] of edits) {
          const i = at % (t.length + 1);
          t = op === 0 ? t.slice(0, i) + t.slice(i + 1) : op === 1 ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + ch + t.slice(i + 1);
        }
        return t;
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ maxLength: 12 })), (s) => {
        let parsed = true;
        try {
          JSON.parse(s);
        } catch {
          parsed = false;
        }
        assert.equal(checkValid(Buffer.from(s)) === undefined, parsed, JSON.stringify(s));
      }),
      fuzzParams(),
    );
  });

  test("Go's unquote agrees with JSON.parse; Go's base64 with Node's on what Go accepts", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 16 }), (s) => {
        const lit = Buffer.from(JSON.stringify(s));
        assert.deepEqual(goUnquote(lit, 0, lit.length), Buffer.from(JSON.parse(lit.toString()) as string));
      }),
      fuzzParams(),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.string({ unit: fc.constantFrom(..."AZaz09+/=\r\n -_"), maxLength: 12 }), (bytes, s) => {
        const good = goBase64Decode(Buffer.from(Buffer.from(bytes).toString("base64")));
        assert.ok(good.ok && good.bytes.equals(Buffer.from(bytes)));
        const r = goBase64Decode(Buffer.from(s));
        const stripped = s.replace(/[\r\n]/g, "");
        if (r.ok) {
          assert.equal(stripped.length % 4, 0, s);
          assert.ok(r.bytes.equals(Buffer.from(stripped, "base64")), s);
        } else assert.match(r.message, /^illegal base64 data at input byte \d+$/);
      }),
      fuzzParams(),
    );
  });
});

function frames(chunks: Buffer[]): string[] {
  const d = new GoJsonDecoder(1 << 20);
  const out: FrameEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  if (!out.some((e) => e.kind === "error")) out.push(...d.end());
  return out.map((e) => (e.kind === "value" ? `value ${e.bytes.toString()}` : e.kind === "error" ? `error ${e.message}` : e.kind));
}

function allNames(type: string, seen = new Set<string>()): string[] {
  if (seen.has(type)) return [];
  seen.add(type);
  const s = schemaOf(type);
  return s.byNumber.flatMap((f) => [f.origName, f.camelName, ...(f.oneof ? [f.oneof] : []), ...(f.type.kind === "message" ? allNames(f.type.schema().fullName, seen) : [])]);
}

/** JSON values etcd's gateway always refuses for a field like f. */
function badValues(f: FieldSchema): string[] {
  const wrongShape = ['"x"', "5", "true", "{}", "[]"];
  if (f.repeated) return ["{}", '"x"', "5", "true"];
  if (f.type.kind === "message") return ['"x"', "5", "true", "[]"];
  if (f.type.kind === "enum") return ['"NOPE"', '"1"', "1.5", "2147483648", "true", "{}", "[1]"];
  switch (f.type.scalar) {
    case "int64":
      return ['"abc"', '""', '"1e3"', "1e3", "5.5", "99999999999999999999", '"9223372036854775808"', "true", "[]", "{}", '"0 1"'];
    case "uint64":
      return ["-1", '"-0"', "18446744073709551616", "1e3", "5.5", "true", "{}"];
    case "bytes":
      return ['"Zm9"', '"Zm9v_-"', '"Zm9vYg"', '"Zm9vYg="', "{}", "5", "true", "[1,300]", '"\\u00e9"'];
    case "bool":
      return ['"true"', "1", "{}", "[]"];
    case "string":
      return ["5", "true", "{}", "[]"];
    default:
      return wrongShape;
  }
}

/** `json` (an object) with `"name": raw` added first. */
function splice(json: string, name: string, raw: string): string {
  const open = json.indexOf("{");
  const rest = json.slice(open + 1).trim();
  return `{"${name}":${raw}${rest.startsWith("}") ? "" : ","}${rest}`;
}

