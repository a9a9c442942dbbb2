/**
 * encoding/json's json.Unmarshal of one raw JSON value into one Go variable of a scalar kind, as
 * jsonpb calls it for every scalar field: which JSON kinds each Go kind accepts, how numbers are
 * range-checked (strconv.ParseInt/ParseUint: no fractions, no exponents), how []byte takes base64
 * or an array of bytes, that null leaves the variable alone, and Go's error texts
 * ("json: cannot unmarshal number 5.5 into Go value of type int64").
 */
import { checkValid } from "./go-json-scanner.js";
import { JsonTape, Kind } from "./go-json-tape.js";
import { goBase64Decode } from "./go-base64.js";
import { goUnquote } from "./go-strings.js";

/** A Go variable's kind and the type name Go's errors print. */
export type GoKind =
  | { readonly k: "int"; readonly min: bigint; readonly max: bigint; readonly goType: string }
  | { readonly k: "uint"; readonly max: bigint; readonly goType: string }
  | { readonly k: "bool" }
  | { readonly k: "string" }
  | { readonly k: "bytes" }
  /** A non-empty interface (a oneof's field): only null fits. */
  | { readonly k: "iface"; readonly goType: string };

export const INT64: GoKind = { k: "int", min: -(2n ** 63n), max: 2n ** 63n - 1n, goType: "int64" };
export const INT32: GoKind = { k: "int", min: -(2n ** 31n), max: 2n ** 31n - 1n, goType: "int32" };
export const UINT64: GoKind = { k: "uint", max: 2n ** 64n - 1n, goType: "uint64" };
export const UINT32: GoKind = { k: "uint", max: 2n ** 32n - 1n, goType: "uint32" };
const UINT8: GoKind = { k: "uint", max: 255n, goType: "uint8" };
export const BOOL: GoKind = { k: "bool" };
export const STRING: GoKind = { k: "string" };
export const BYTES: GoKind = { k: "bytes" };
/** A proto enum: an int32 with its own Go type name. */
export const enumKind = (goType: string): GoKind => ({ k: "int", min: -(2n ** 31n), max: 2n ** 31n - 1n, goType });

/** A decoding error with Go's text (encoding/json's or jsonpb's). */
export class GoDecodeError extends Error {}

/** The value a Go variable holds after Unmarshal; undefined: left as it was (null into a scalar). */
export type GoScalar = bigint | boolean | Buffer | null | undefined;

const KIND_NAMES: Record<Kind, string> = {
  [Kind.Object]: "object",
  [Kind.Array]: "array",
  [Kind.String]: "string",
  [Kind.Number]: "number",
  [Kind.True]: "bool",
  [Kind.False]: "bool",
  [Kind.Null]: "null",
};

/** The JSON kind as Go's UnmarshalTypeError names it. */
export const jsonKindName = (k: Kind): string => KIND_NAMES[k];

export function typeError(value: string, goType: string): GoDecodeError {
  return new GoDecodeError(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
}

/** json.Unmarshal of node n of `tape` into a Go variable of `kind`. */
export function unmarshalNode(tape: JsonTape, n: number, kind: GoKind): GoScalar {
  const jk = tape.kind(n);
  if (jk === Kind.Null) return kind.k === "bytes" ? null : undefined;
  switch (kind.k) {
    case "int":
    case "uint":
      if (jk !== Kind.Number) throw typeError(jsonKindName(jk), kind.goType);
      return parseInteger(tape.raw(n).toString("latin1"), kind);
    case "bool":
      if (jk === Kind.True || jk === Kind.False) return jk === Kind.True;
      throw typeError(jsonKindName(jk), "bool");
    case "string":
      if (jk === Kind.String) return goUnquote(tape.buf, tape.start(n), tape.end(n));
      throw typeError(jsonKindName(jk), "string");
    case "bytes":
      return unmarshalBytes(tape, n);
    case "iface":
      throw typeError(jsonKindName(jk), kind.goType);
  }
}

/** strconv.ParseInt / ParseUint of a JSON number's text, with Go's range check. */
function parseInteger(text: string, kind: Extract<GoKind, { k: "int" | "uint" }>): bigint {
  const ok = kind.k === "int" ? /^-?[0-9]+$/.test(text) : /^[0-9]+$/.test(text);
  if (ok) {
    const v = BigInt(text);
    if (v <= kind.max && (kind.k === "uint" || v >= kind.min)) return v;
  }
  throw typeError(`number ${text}`, kind.goType);
}

/** []byte: a base64 string (Go's StdEncoding), or an array of numbers 0..255. */
function unmarshalBytes(tape: JsonTape, n: number): Buffer {
  const jk = tape.kind(n);
  if (jk === Kind.String) {
    const r = goBase64Decode(goUnquote(tape.buf, tape.start(n), tape.end(n)));
    if (!r.ok) throw new GoDecodeError(r.message);
    return r.bytes;
  }
  if (jk !== Kind.Array) throw typeError(jsonKindName(jk), "[]uint8");
  const out: number[] = [];
  for (const c of tape.children(n)) out.push(Number(unmarshalNode(tape, c, UINT8) ?? 0n));
  return Buffer.from(out);
}

/**
 * jsonpb's numbers given as JSON strings: the quotes are dropped (no unescaping) and what is left
 * goes through json.Unmarshal on its own, so `"abc"` fails with a syntax error, `""` with
 * "unexpected end of JSON input", and `"null"` leaves the field alone.
 */
export function unmarshalQuotedNumber(tape: JsonTape, n: number, kind: GoKind): GoScalar {
  const from = tape.start(n) + 1;
  const to = tape.end(n) - 1;
  const syntax = checkValid(tape.buf, from, to);
  if (syntax !== undefined) throw new GoDecodeError(syntax);
  const inner = new JsonTape(tape.buf.subarray(from, to));
  return unmarshalNode(inner, 0, kind);
}
