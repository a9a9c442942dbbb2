/**
 * golang/protobuf 1.3's jsonpb.Unmarshaler.unmarshalValue (AllowUnknownFields, as grpc-gateway
 * sets it), ported over the schema in jsonpb-schema.ts: how etcd's gateway turns one JSON value
 * into a request message, and the first error it stops at.
 * - An object's keys are read as a Go map (the last duplicate wins); fields are then taken in Go
 *   struct order, the lowerCamel name winning over the .proto name; unknown keys are ignored.
 * - A oneof's own name (`"target_union": ...`) is the interface field: only null fits it.
 * - Oneof members are matched after the regular fields; a member set to null is still chosen
 *   (etcd sends a RequestOp whose request is empty). etcd visits members in Go map order, which is
 *   random; here declaration order (a later member replaces an earlier one), one of etcd's outcomes.
 * - Enums by name (raw bytes, no unescaping) or by number; 64-bit integers from numbers or strings.
 * - A null element of a repeated message field is kept as a hole: encoding it is where etcd's
 *   gateway panics (see proto-encode.ts).
 */
import { JsonTape, Kind } from "./go-json-tape.js";
import { goQuote } from "./go-strings.js";
import {
  BOOL,
  BYTES,
  GoDecodeError,
  INT32,
  INT64,
  STRING,
  UINT32,
  UINT64,
  enumKind,
  jsonKindName,
  typeError,
  unmarshalNode,
  unmarshalQuotedNumber,
  type GoKind,
  type GoScalar,
} from "./go-unmarshal.js";
import type { FieldSchema, MessageSchema, ScalarKind } from "./jsonpb-schema.js";
import { MAX_MESSAGE_NESTING } from "../../pb/proto.js";

export type FieldValue = bigint | boolean | Buffer | null | DecodedMessage | FieldValue[];

/** A decoded message: values by field number (absent: zero value / nil), and which member each oneof holds. */
export interface DecodedMessage {
  readonly schema: MessageSchema;
  readonly values: Map<number, FieldValue>;
  /** oneof name -> the field number of the member it holds */
  readonly oneofs: Map<string, number>;
}

/**
 * Nesting deeper than the gRPC handlers' decoder takes (MAX_MESSAGE_NESTING): the request could not
 * reach them as bytes either (etcd has no such limit; see load.ts).
 */
export class TooDeepError extends Error {}

const SCALAR_KINDS: Record<ScalarKind, GoKind> = { int64: INT64, uint64: UINT64, int32: INT32, uint32: UINT32, bool: BOOL, string: STRING, bytes: BYTES };
const NUMERIC = new Set<ScalarKind>(["int64", "uint64", "int32", "uint32"]);

/** Decodes node n of `tape` as a message of `schema`; throws GoDecodeError with etcd's text. */
export function decodeMessage(tape: JsonTape, n: number, schema: MessageSchema, depth = 0): DecodedMessage {
  if (depth > MAX_MESSAGE_NESTING) throw new TooDeepError("maximum nesting depth exceeded");
  const fields = objectFields(tape, n);
  const msg: DecodedMessage = { schema, values: new Map(), oneofs: new Map() };
  for (const gf of schema.goFields) {
    if (gf.kind === "oneof") {
      const raw = consume(fields, gf.name, gf.name);
      if (raw !== undefined) unmarshalNode(tape, raw, { k: "iface", goType: gf.goType });
      continue;
    }
    const raw = consume(fields, gf.field.origName, gf.field.camelName);
    if (raw === undefined) continue;
    const v = gf.field.repeated ? decodeRepeated(tape, raw, gf.field, depth) : decodeSingle(tape, raw, gf.field, depth);
    if (v !== undefined) msg.values.set(gf.field.id, v);
  }
  if (fields.size === 0) return msg;
  for (const m of schema.oneofMembers) {
    const raw = consume(fields, m.origName, m.camelName);
    if (raw === undefined) continue;
    const previous = msg.oneofs.get(m.oneof!);
    if (previous !== undefined) msg.values.delete(previous);
    msg.oneofs.set(m.oneof!, m.id);
    const v = decodeSingle(tape, raw, m, depth);
    msg.values.set(m.id, v === undefined ? zeroOf(m) : v);
  }
  return msg;
}

/** json.Unmarshal into map[string]json.RawMessage: key -> node of its (last) value. */
function objectFields(tape: JsonTape, n: number): Map<string, number> {
  const out = new Map<string, number>();
  const k = tape.kind(n);
  if (k === Kind.Null) return out;
  if (k !== Kind.Object) throw typeError(jsonKindName(k), "map[string]json.RawMessage");
  let key: string | undefined;
  for (const c of tape.children(n)) {
    if (key === undefined) {
      key = goKey(tape, c);
    } else {
      out.set(key, c);
      key = undefined;
    }
  }
  return out;
}

/** A key as Go decodes it, in a form that equals a field name exactly when Go's key does (names are ASCII). */
function goKey(tape: JsonTape, n: number): string {
  const raw = tape.raw(n);
  let escaped = false;
  for (let i = 1; i < raw.length - 1 && !escaped; i++) escaped = raw[i] === 0x5c;
  if (!escaped) return raw.toString("latin1", 1, raw.length - 1);
  return JSON.parse(raw.toString("latin1")) as string;
}

function consume(fields: Map<string, number>, orig: string, camel: string): number | undefined {
  const o = fields.get(orig);
  const c = fields.get(camel);
  fields.delete(orig);
  fields.delete(camel);
  return c ?? o;
}

function decodeRepeated(tape: JsonTape, n: number, f: FieldSchema, depth: number): FieldValue[] | undefined {
  const k = tape.kind(n);
  if (k === Kind.Null) return undefined;
  // jsonpb tries a string as an enum name before it looks at the Go type (a slice here)
  if (k === Kind.String && f.type.kind === "enum") {
    decodeSingle(tape, n, f, depth);
    throw new GoDecodeError(`invalid target "slice" for enum ${f.type.goName}`);
  }
  if (k !== Kind.Array) throw typeError(jsonKindName(k), "[]json.RawMessage");
  const out: FieldValue[] = [];
  for (const c of tape.children(n)) {
    const v = decodeSingle(tape, c, f, depth);
    out.push(v === undefined ? (f.type.kind === "message" ? null : zeroOf(f)) : v);
  }
  return out;
}

/** One value of field f (an element, for a repeated field). undefined: not set (null). */
function decodeSingle(tape: JsonTape, n: number, f: FieldSchema, depth: number): FieldValue | undefined {
  const t = f.type;
  const jk = tape.kind(n);
  if (t.kind === "message") {
    if (jk === Kind.Null) return undefined;
    return decodeMessage(tape, n, t.schema(), depth + 1);
  }
  if (t.kind === "enum") {
    if (jk === Kind.String) {
      const name = tape.buf.subarray(tape.start(n) + 1, tape.end(n) - 1);
      const v = t.values.get(name.toString("latin1"));
      if (v === undefined || !isAscii(name)) throw new GoDecodeError(`unknown value ${goQuote(name)} for enum ${t.goName}`);
      return BigInt(v);
    }
    return scalar(unmarshalNode(tape, n, enumKind(t.goName)));
  }
  const kind = SCALAR_KINDS[t.scalar];
  if (NUMERIC.has(t.scalar) && jk === Kind.String) return scalar(unmarshalQuotedNumber(tape, n, kind));
  return scalar(unmarshalNode(tape, n, kind));
}

const scalar = (v: GoScalar): FieldValue | undefined => v;

const isAscii = (b: Buffer) => b.every((c) => c < 0x80);

/** A oneof member's value when JSON gave null: Go still sets the member, holding its zero value (nil for bytes). */
function zeroOf(f: FieldSchema): FieldValue {
  if (f.type.kind === "message") return null;
  if (f.type.kind === "enum") return 0n;
  switch (f.type.scalar) {
    case "bool":
      return false;
    case "string":
      return Buffer.alloc(0);
    case "bytes":
      return null;
    default:
      return 0n;
  }
}

export { GoDecodeError };
