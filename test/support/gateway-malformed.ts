import { schemaOf, type FieldSchema, type MessageSchema } from "../../server/api/http/jsonpb-schema.js";

/**
 * Malformed (and borderline) JSON request bodies for a gateway route, generated from the request's
 * .proto type so that every field of every message is covered: for each field, values of the wrong
 * JSON kind, out of range, fractional, in exponent form, bad base64, unknown enum names, objects and
 * arrays where scalars belong, wrong shapes for nested messages and lists; nested messages are
 * entered too (a txn's compares and ops, a proclaim's leader).
 */

export interface MalformedCase {
  readonly body: string;
  /** Whether etcd takes the body (then the route runs; routes that would block or pick random IDs skip these). */
  readonly accepted: boolean;
  readonly label: string;
}

type Raw = { readonly raw: string; readonly ok: boolean };
const E = (raw: string): Raw => ({ raw, ok: false });
const V = (raw: string): Raw => ({ raw, ok: true });

const INT64: Raw[] = [
  E('"abc"'), E('""'), E('"1e3"'), E("1e3"), E("5.5"), E('"5.5"'), E("99999999999999999999"), E('"18446744073709551615"'),
  V("-1"), V('"-0"'), E("true"), E("[]"), E("{}"), V('"null"'), V('" 1 "'), E('"0 1"'), E('"\\u0031"'), E('"+1"'), E('"01"'), E("1.0"),
  E('"9223372036854775808"'), V("-9223372036854775808"), V("null"),
];
const UINT64: Raw[] = [E('"abc"'), E("-1"), E('"-0"'), V('"18446744073709551615"'), E("18446744073709551616"), E("1e3"), E("5.5"), E("true"), E("{}")];
const BYTES: Raw[] = [
  E('"Zm9"'), E('"Zm9v_-"'), E('"Zm9vYg"'), E('"Zm9vYg="'), E('"Zm9vYg==="'), V('"Zm9v\\n"'), E("{}"), E("5"), E("true"),
  E("[1,300]"), E('[1,"a"]'), E("[[]]"), E('"Zm9v YmFy"'), V('"Z2s\\u003d"'), E('"\\u00e9"'), V("[103,107]"), V("null"),
];
const BOOL: Raw[] = [E('"true"'), E("1"), E("{}"), E("[]"), E('"x"'), V("null")];
const ENUM: Raw[] = [E('"NOPE"'), E('"1"'), E("1.5"), E("2147483648"), E("-2147483649"), E("true"), E("{}"), E("[1]"), E('"<x>"'), E('"V\\u0041LUE"')];
const MESSAGE: Raw[] = [E('"x"'), E("5"), E("[]"), E("true"), E("[{}]")];
const LIST: Raw[] = [E("{}"), E('"x"'), E("5"), E("true")];
const ONEOF_FIELD: Raw[] = [E("5"), E("{}"), E('"x"'), E("[]"), E("true"), V("null")];

/** A minimal valid object per request type, used around the field under test. */
const BASES: Record<string, Record<string, unknown>> = {
  "etcdserverpb.RangeRequest": { key: "Z2s=" },
  "etcdserverpb.PutRequest": { key: "Z2s=", value: "dg==" },
  "etcdserverpb.DeleteRangeRequest": { key: "Z2s=" },
  "etcdserverpb.Compare": { key: "Z2s=", target: "VALUE", value: "dg==" },
  "etcdserverpb.LeaseGrantRequest": { TTL: "60", ID: "4242" },
  "etcdserverpb.LeaseRevokeRequest": { ID: "4243" },
  "etcdserverpb.LeaseTimeToLiveRequest": { ID: "4242" },
  "v3lockpb.LockRequest": { name: "bA==", lease: "4242" },
  "v3lockpb.UnlockRequest": { key: "bA==" },
  "v3electionpb.LeaderRequest": { name: "ZQ==" },
  "v3electionpb.LeaderKey": { name: "ZQ==", key: "ZQ==", rev: "1", lease: "4242" },
  "v3electionpb.CampaignRequest": { name: "ZQ==", lease: "4242", value: "dg==" },
};

const MARK = "\u0000field\u0000";

/** `base` as JSON with `raw` spliced in at `path`. */
function splice(base: unknown, path: readonly (string | number)[], raw: string): string {
  const copy = structuredClone(base) as Record<string, unknown>;
  let o: Record<string, unknown> | unknown[] = copy;
  for (const k of path.slice(0, -1)) o = (o as Record<string, unknown>)[k as string] as Record<string, unknown>;
  (o as Record<string, unknown>)[path[path.length - 1] as string] = MARK;
  return JSON.stringify(copy).replace(JSON.stringify(MARK), raw);
}

function valuesFor(f: FieldSchema): Raw[] {
  if (f.repeated) return f.type.kind === "message" ? [...LIST, E("[5]"), E("[[]]")] : f.type.kind === "enum" ? [...LIST, E('["NOPE"]'), E('"NOPUT"'), E("[1.5]")] : LIST;
  if (f.type.kind === "message") return MESSAGE;
  if (f.type.kind === "enum") return ENUM;
  switch (f.type.scalar) {
    case "int64":
    case "int32":
      return INT64;
    case "uint64":
    case "uint32":
      return UINT64;
    case "bytes":
      return BYTES;
    case "bool":
      return BOOL;
    default:
      return [E("5"), E("{}"), E("[]"), E("true")];
  }
}

function baseOf(schema: MessageSchema): Record<string, unknown> {
  return BASES[schema.fullName] ?? {};
}

/** The malformed bodies of request type `typeName`, nested messages entered down to `depth`. */
export function malformedBodies(typeName: string, depth = 2): MalformedCase[] {
  const out: MalformedCase[] = [];
  const walk = (schema: MessageSchema, root: Record<string, unknown>, at: (string | number)[], level: number) => {
    for (const gf of schema.goFields) {
      if (gf.kind === "oneof") {
        for (const v of ONEOF_FIELD) out.push({ body: splice(root, [...at, gf.name], v.raw), accepted: v.ok, label: `${[...at, gf.name].join(".")}=${v.raw}` });
      }
    }
    const fields = [...schema.goFields.flatMap((g) => (g.kind === "field" ? [g.field] : [])), ...schema.oneofMembers];
    for (const f of fields) {
      // a oneof member is tried alone: setting two members is a coin toss in etcd (Go map order)
      const host = f.oneof === undefined ? root : withoutOneof(root, at, schema, f.oneof);
      for (const v of valuesFor(f)) out.push({ body: splice(host, [...at, f.origName], v.raw), accepted: v.ok, label: `${[...at, f.origName].join(".")}=${v.raw}` });
      if (f.type.kind === "message" && level < depth) {
        const sub = f.type.schema();
        const inner = f.repeated ? [baseOf(sub)] : baseOf(sub);
        const next = structuredClone(host);
        setAt(next, [...at, f.origName], inner);
        walk(sub, next, f.repeated ? [...at, f.origName, 0] : [...at, f.origName], level + 1);
      }
    }
  };
  walk(schemaOf(typeName), baseOf(schemaOf(typeName)), [], 0);
  return out;
}

function setAt(o: Record<string, unknown>, path: readonly (string | number)[], v: unknown): void {
  let x: Record<string, unknown> = o;
  for (const k of path.slice(0, -1)) x = x[k as string] as Record<string, unknown>;
  x[path[path.length - 1] as string] = v;
}

function withoutOneof(root: Record<string, unknown>, at: readonly (string | number)[], schema: MessageSchema, oneof: string): Record<string, unknown> {
  const copy = structuredClone(root);
  let x: Record<string, unknown> = copy;
  for (const k of at) x = x[k as string] as Record<string, unknown>;
  for (const m of schema.oneofMembers) if (m.oneof === oneof) delete x[m.origName];
  return copy;
}
