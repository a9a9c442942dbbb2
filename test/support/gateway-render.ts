import { schemaOf, type FieldSchema, type MessageSchema } from "../../server/api/http/jsonpb-schema.js";
import type { WireObject } from "./proto-arbitrary.js";

/**
 * A valid request written as JSON in any of the ways etcd's gateway takes it, chosen per field by
 * `seed`: .proto or lowerCamel names (also with \u escapes), 64-bit integers as numbers or strings
 * (with spaces inside the quotes), enums by name or number, bytes as base64 (with newlines, with
 * \u escapes) or as an array of byte values, unknown fields, and whitespace between tokens.
 */
export function renderGatewayJson(typeName: string, o: WireObject, seed: number): string {
  return renderMessage(schemaOf(typeName), o, seed, "");
}

/** A few bits of pseudo-randomness for (seed, path). */
function pick(seed: number, path: string, n: number): number {
  let h = seed | 0;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  h ^= h >>> 15;
  return Math.abs(h) % n;
}

const space = (seed: number, path: string) => [" ", "", "\n\t", ""][pick(seed, `${path}/ws`, 4)]!;

function renderMessage(schema: MessageSchema, o: WireObject, seed: number, path: string): string {
  const parts: string[] = [];
  for (const f of schema.byNumber) {
    const v = o[f.origName];
    if (v === undefined || v === null) continue;
    const p = `${path}.${f.origName}`;
    const value = f.repeated ? `[${(v as unknown[]).map((x, i) => renderValue(f, x, seed, `${p}[${i}]`)).join(",")}]` : renderValue(f, v, seed, p);
    parts.push(`${fieldName(f, seed, p)}${space(seed, p)}:${space(seed, `${p}:`)}${value}`);
  }
  if (pick(seed, `${path}/unknown`, 3) === 0) parts.splice(pick(seed, `${path}/at`, parts.length + 1), 0, `"x_unknown_${pick(seed, path, 99)}":{"a":[1,"b",null,{"c":true}]}`);
  const sep = `,${space(seed, `${path},`)}`;
  return `{${space(seed, `${path}{`)}${parts.join(sep)}${space(seed, `${path}}`)}}`;
}

function fieldName(f: FieldSchema, seed: number, path: string): string {
  const name = pick(seed, `${path}/name`, 2) === 0 ? f.origName : f.camelName;
  if (pick(seed, `${path}/esc`, 5) !== 0) return JSON.stringify(name);
  return `"\\u${name.charCodeAt(0).toString(16).padStart(4, "0")}${name.slice(1)}"`;
}

function renderValue(f: FieldSchema, v: unknown, seed: number, path: string): string {
  const t = f.type;
  if (t.kind === "message") return renderMessage(t.schema(), v as WireObject, seed, path);
  if (t.kind === "enum") {
    const name = [...t.values.entries()].find(([, n]) => n === v)?.[0];
    return name !== undefined && pick(seed, path, 2) === 0 ? JSON.stringify(name) : String(v);
  }
  switch (t.scalar) {
    case "int64":
    case "uint64":
    case "int32":
    case "uint32":
      return [String(v), `"${String(v)}"`, `" ${String(v)} "`][pick(seed, path, 3)]!;
    case "bool":
      return String(v);
    case "string":
      return JSON.stringify(v);
    case "bytes":
      return renderBytes(v as Buffer, pick(seed, path, 4));
  }
}

function renderBytes(b: Buffer, style: number): string {
  const b64 = b.toString("base64");
  switch (style) {
    case 0:
      return JSON.stringify(b64);
    case 1:
      // Go's decoder skips \r and \n anywhere
      return JSON.stringify(b64.replace(/(.{3})/g, "$1\r\n"));
    case 2:
      return `[${[...b].join(",")}]`;
    default:
      return `"${[...b64].map((c, i) => (i % 2 === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}` : c)).join("")}"`;
  }
}
