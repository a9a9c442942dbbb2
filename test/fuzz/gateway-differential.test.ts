import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzParams } from "./settings.js";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayRaw, withoutIds, type RawAnswer } from "../support/gateway.js";
import { requestArbitrary } from "../support/proto-arbitrary.js";
import { renderGatewayJson } from "../support/gateway-render.js";
import { GatewayRequestDecoder } from "../../server/api/http/gateway-request.js";
import { GoJsonDecoder } from "../../server/api/http/go-json-stream.js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import type { WireRangeRequest, WireTxnRequest } from "../../server/pb/wire.js";

/**
 * Differential fuzzing of the JSON gateway against Debian's etcd 3.4.23: valid requests written
 * every way the gateway takes them, then corrupted (bytes edited, a field replaced by a value of
 * another kind), posted to both; the status and body must be the same (cluster/member IDs aside).
 * Both stores take the same writes, so they stay in step and every answer is comparable.
 */

const ROUTES: Array<[path: string, type: string]> = [
  ["/v3/kv/range", "etcdserverpb.RangeRequest"],
  ["/v3/kv/put", "etcdserverpb.PutRequest"],
  ["/v3/kv/deleterange", "etcdserverpb.DeleteRangeRequest"],
  ["/v3/kv/txn", "etcdserverpb.TxnRequest"],
  ["/v3/lease/revoke", "etcdserverpb.LeaseRevokeRequest"],
  ["/v3/lease/timetolive", "etcdserverpb.LeaseTimeToLiveRequest"],
  ["/v3/election/leader", "v3electionpb.LeaderRequest"],
  ["/v3/lock/unlock", "v3lockpb.UnlockRequest"],
];

const JUNK = ["null", "true", "5", "-1", "1.5", "1e3", '"x"', '"Zm9"', '"1e3"', '" 1 "', '""', "[]", "{}", "[1,300]", '"NOPE"', '"VALUE"', '{"a":1}', "[null]", '"18446744073709551615"'];
const EDIT_CHARS = [..."{}[]\":,0123456789-+.eE \\nultrfasZm=/_"];

/** A body: a valid request rendered some way, then maybe corrupted. */
const body = fc.constantFrom(...ROUTES).chain(([path, type]) =>
  fc
    .tuple(
      requestArbitrary(type, 2),
      fc.integer(),
      fc.oneof(
        fc.constant({ kind: "none" as const }),
        fc.record({ kind: fc.constant("edit" as const), at: fc.nat(), op: fc.nat(2), ch: fc.constantFrom(...EDIT_CHARS) }),
        fc.record({ kind: fc.constant("value" as const), at: fc.nat(), junk: fc.constantFrom(...JUNK) }),
      ),
    )
    .map(([o, seed, corruption]) => ({ path, text: corrupt(renderGatewayJson(type, o, seed), corruption) })),
);

type Corruption = { kind: "none" } | { kind: "edit"; at: number; op: number; ch: string } | { kind: "value"; at: number; junk: string };

function corrupt(json: string, c: Corruption): string {
  if (c.kind === "none") return json;
  if (c.kind === "edit") {
    const i = c.at % (json.length + 1);
    return c.op === 0 ? json.slice(0, i) + json.slice(i + 1) : c.op === 1 ? json.slice(0, i) + c.ch + json.slice(i) : json.slice(0, i) + c.ch + json.slice(i + 1);
  }
  // replace the value after one of the colons with junk (up to the next , or } at the same level)
  const colons = [...json.matchAll(/:/g)].map((m) => m.index!);
  if (colons.length === 0) return json;
  const start = colons[c.at % colons.length]! + 1;
  let depth = 0;
  let inStr = false;
  let end = start;
  for (; end < json.length; end++) {
    const ch = json[end]!;
    if (inStr) {
      if (ch === "\\") end++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      if (depth === 0) break;
      depth--;
    } else if (ch === "," && depth === 0) break;
  }
  return json.slice(0, start) + c.junk + json.slice(end);
}

const show = (a: RawAnswer) => ("dropped" in a ? "dropped connection" : `${a.status} ${a.body}`);

const TYPES = new Map(ROUTES);
const KV = serviceDefinition("etcdserverpb", "KV");

/**
 * A documented difference of the server behind the gateway: a range whose sort order or target is
 * outside the enum gets etcd 3.5's "invalid sort option" from etcd-ts; etcd 3.4 ignores the order
 * and crashes on the target. Such bodies are not sent.
 */
function sortOutsideEnum(path: string, text: string): boolean {
  if (path !== "/v3/kv/range" && path !== "/v3/kv/txn") return false;
  const framer = new GoJsonDecoder(1 << 30);
  const d = new GatewayRequestDecoder(TYPES.get(path)!, 1 << 30).decode(framer.push(Buffer.from(text))[0] ?? framer.end()[0]!);
  if (!d.ok || d.raw.length === 0) return false;
  const req = (path === "/v3/kv/range" ? KV.Range! : KV.Txn!).requestDeserialize(d.raw) as WireRangeRequest | WireTxnRequest;
  const bad = (r: WireRangeRequest) => r.sort_target > 4 || r.sort_target < 0 || r.sort_order > 2 || r.sort_order < 0;
  const inTxn = (t: WireTxnRequest): boolean =>
    [...t.success, ...t.failure].some((op) => (op.request_range ? bad(op.request_range) : op.request_txn ? inTxn(op.request_txn) : false));
  return path === "/v3/kv/range" ? bad(req as WireRangeRequest) : inTxn(req as WireTxnRequest);
}

describe("fuzz: the JSON gateway against etcd", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("the same answer to every body", async () => {
    await fc.assert(
      fc.asyncProperty(body, async ({ path, text }) => {
        if (sortOutsideEnum(path, text)) return;
        const want = show(withoutIds(await gatewayRaw(etcd.clientUrl, path, text)));
        const got = show(withoutIds(await gatewayRaw(ours.clientUrl, path, text)));
        if (got !== want) console.error(`MISMATCH ${path} ${JSON.stringify(text)}\n  etcd: ${want}\n  ours: ${got}`);
        assert.equal(got, want, `${path} ${text}`);
      }),
      fuzzParams(150),
    );
  });
});
