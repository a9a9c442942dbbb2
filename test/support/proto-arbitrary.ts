import fc from "fast-check";
import { schemaOf, type FieldSchema, type MessageSchema, type ScalarKind } from "../../server/api/http/jsonpb-schema.js";

/**
 * fast-check arbitraries of valid requests, built from the .proto types (so every field of every
 * request is exercised): objects in the wire shape @grpc/proto-loader serializes (snake_case,
 * 64-bit integers as decimal strings over their whole range, bytes as Buffers, enums as numbers,
 * at most one member per oneof), plus a canonical form to compare a decoded request with.
 */

export type WireObject = Record<string, unknown>;

const INT64_EDGES = [0n, 1n, -1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 3606754672059709111n];

function scalarArbitrary(s: ScalarKind): fc.Arbitrary<unknown> {
  switch (s) {
    case "int64":
      return fc.oneof(fc.constantFrom(...INT64_EDGES), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(String);
    case "uint64":
      return fc.oneof(fc.constantFrom(0n, 1n, 2n ** 64n - 1n, 2n ** 63n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(String);
    case "int32":
      return fc.integer();
    case "uint32":
      return fc.nat({ max: 2 ** 32 - 1 });
    case "bool":
      return fc.boolean();
    case "string":
      return fc.string({ unit: "grapheme", maxLength: 12 });
    case "bytes":
      return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
  }
}

function singleArbitrary(f: FieldSchema, depth: number): fc.Arbitrary<unknown> | undefined {
  const t = f.type;
  if (t.kind === "enum") return fc.constantFrom(...t.values.values());
  if (t.kind === "scalar") return scalarArbitrary(t.scalar);
  if (depth <= 0) return undefined;
  return messageArbitraryOf(t.schema(), depth - 1);
}

function messageArbitraryOf(schema: MessageSchema, depth: number): fc.Arbitrary<WireObject> {
  const regular = schema.byNumber.filter((f) => f.oneof === undefined);
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of regular) {
    const one = singleArbitrary(f, depth);
    if (!one) continue;
    parts[f.origName] = f.repeated ? fc.array(one, { maxLength: 3 }) : one;
  }
  const oneofs = [...new Set(schema.oneofMembers.map((m) => m.oneof!))];
  const chosen = oneofs.flatMap((name) => {
    const options = schema.oneofMembers
      .filter((m) => m.oneof === name)
      .flatMap((m) => {
        const a = singleArbitrary(m, depth);
        return a ? [a.map((v) => [m.origName, v] as const)] : [];
      });
    return options.length > 0 ? [fc.option(fc.oneof(...options), { nil: undefined })] : [];
  });
  return fc.tuple(fc.record(parts, { requiredKeys: [] }), fc.tuple(...chosen)).map(([o, picks]) => {
    const out: WireObject = { ...o };
    for (const p of picks) if (p) out[p[0]] = p[1];
    return out;
  });
}

/** Valid requests of `typeName` (messages nested `depth` levels). */
export function requestArbitrary(typeName: string, depth = 3): fc.Arbitrary<WireObject> {
  return messageArbitraryOf(schemaOf(typeName), depth);
}

/**
 * A request's canonical form: fields by name, 64-bit integers as decimal strings, enums as
 * numbers, bytes as hex; zero values of plain fields dropped (proto3 does not tell them from
 * unset), oneof members kept even when zero (they are set).
 */
export function canonical(typeName: string, o: unknown): WireObject {
  return canonicalOf(schemaOf(typeName), o as WireObject);
}

function canonicalValue(f: FieldSchema, v: unknown): unknown {
  const t = f.type;
  if (t.kind === "message") return canonicalOf(t.schema(), v as WireObject);
  if (t.kind === "enum") return Number(v);
  switch (t.scalar) {
    case "int64":
    case "uint64":
      return BigInt(v as string).toString();
    case "int32":
    case "uint32":
      return Number(v);
    case "bool":
      return Boolean(v);
    case "string":
      return String(v);
    case "bytes":
      return Buffer.from(v as Uint8Array).toString("hex");
  }
}

const isZero = (v: unknown) => v === "0" || v === 0 || v === false || v === "";

function canonicalOf(schema: MessageSchema, o: WireObject | null | undefined): WireObject {
  const out: WireObject = {};
  if (!o) return out;
  for (const f of schema.byNumber) {
    const v = o[f.origName];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      const list = (v as unknown[]).map((x) => canonicalValue(f, x));
      if (list.length > 0) out[f.origName] = list;
      continue;
    }
    if (f.oneof !== undefined) {
      // proto-loader (oneofs: true) names the member set; without it the member was not sent
      const set = o[f.oneof];
      if (set !== undefined && set !== f.origName) continue;
      out[f.origName] = canonicalValue(f, v);
      continue;
    }
    const c = canonicalValue(f, v);
    if (!isZero(c)) out[f.origName] = c;
  }
  return out;
}
