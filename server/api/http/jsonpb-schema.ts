/**
 * The Go view of a .proto message that etcd's gateway decodes JSON into: gogo-generated structs,
 * read by golang/protobuf 1.3's jsonpb through reflection. Built from the .proto files (protobufjs
 * reflection), so every route and every field is covered the same way:
 * - struct fields in declaration order; a oneof is one interface field (named after the oneof, Go
 *   type `pkg.is<Message>_<Oneof>`) at its first member's place; its members are matched after all
 *   regular fields;
 * - each field answers to its .proto name and to protoc's lowerCamel JSON name;
 * - Go type names as errors print them (`int64`, `[]uint8`, `etcdserverpb.RangeRequest_SortOrder`).
 */
import protobuf from "protobufjs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROTO_DIR, PROTO_FILES } from "../../pb/proto.js";

export type ScalarKind = "int64" | "uint64" | "int32" | "uint32" | "bool" | "string" | "bytes";

export type FieldType =
  | { readonly kind: "scalar"; readonly scalar: ScalarKind }
  | { readonly kind: "enum"; readonly goName: string; readonly values: ReadonlyMap<string, number> }
  | { readonly kind: "message"; readonly schema: () => MessageSchema };

export interface FieldSchema {
  readonly id: number;
  readonly origName: string;
  /** protoc's JSON name (lowerCamelCase); equals origName when there is nothing to change. */
  readonly camelName: string;
  readonly repeated: boolean;
  /** The oneof this field is a member of. */
  readonly oneof?: string;
  readonly type: FieldType;
}

export type GoStructField =
  | { readonly kind: "field"; readonly field: FieldSchema }
  | { readonly kind: "oneof"; readonly name: string; readonly goType: string };

export interface MessageSchema {
  readonly fullName: string;
  readonly goFields: readonly GoStructField[];
  /** Every oneof member, in declaration order. */
  readonly oneofMembers: readonly FieldSchema[];
  /** Every field, by field number (the order gogo's marshaler writes them in). */
  readonly byNumber: readonly FieldSchema[];
}

let root: protobuf.Root | undefined;

/** The etcd API's .proto files as protobufjs reflection (field names as written). */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    const local = join(PROTO_DIR, target);
    return existsSync(local) ? local : protobuf.util.path.resolve(origin, target);
  };
  r.loadSync([...PROTO_FILES], { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** protoc's ToJsonName: drop underscores, capitalize the letter after each. */
export function jsonName(name: string): string {
  let out = "";
  let up = false;
  for (const c of name) {
    if (c === "_") up = true;
    else {
      out += up ? c.toUpperCase() : c;
      up = false;
    }
  }
  return out;
}

/** golang/protobuf's generator.CamelCase for the identifiers used here (snake_case words). */
function goCamel(name: string): string {
  return name
    .split("_")
    .filter((w) => w !== "")
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

/** `etcdserverpb.RangeRequest_SortOrder` for `.etcdserverpb.RangeRequest.SortOrder` (package, then the nesting joined by `_`). */
function goTypeName(fullName: string): string {
  const [pkg, ...path] = fullName.replace(/^\./, "").split(".");
  return `${pkg}.${path.join("_")}`;
}

const SCALARS: Record<string, ScalarKind> = { int64: "int64", uint64: "uint64", int32: "int32", uint32: "uint32", bool: "bool", string: "string", bytes: "bytes" };

const cache = new Map<string, MessageSchema>();

function fieldSchema(f: protobuf.Field): FieldSchema {
  f.resolve();
  let type: FieldType;
  if (f.resolvedType instanceof protobuf.Type) {
    const name = f.resolvedType.fullName;
    type = { kind: "message", schema: () => schemaOf(name) };
  } else if (f.resolvedType instanceof protobuf.Enum) {
    type = { kind: "enum", goName: goTypeName(f.resolvedType.fullName), values: new Map(Object.entries(f.resolvedType.values)) };
  } else {
    const scalar = SCALARS[f.type];
    // A request type with a field kind jsonpb would treat differently (floats, maps, sint/fixed) must be added here first.
    if (!scalar || f.map) throw new Error(`gateway decoding: unsupported field type ${f.type} of ${f.fullName}`);
    type = { kind: "scalar", scalar };
  }
  return { id: f.id, origName: f.name, camelName: jsonName(f.name), repeated: f.repeated, ...(f.partOf ? { oneof: f.partOf.name } : {}), type };
}

/** The Go view of the message type `typeName` (e.g. "etcdserverpb.PutRequest"), built once. */
export function schemaOf(typeName: string): MessageSchema {
  const key = typeName.replace(/^\./, "");
  const hit = cache.get(key);
  if (hit) return hit;
  const t = protoRoot().lookupType(key);
  const goFields: GoStructField[] = [];
  const oneofMembers: FieldSchema[] = [];
  const byNumber: FieldSchema[] = [];
  const seenOneofs = new Set<string>();
  for (const f of t.fieldsArray) {
    const fs = fieldSchema(f);
    byNumber.push(fs);
    if (fs.oneof === undefined) {
      goFields.push({ kind: "field", field: fs });
      continue;
    }
    oneofMembers.push(fs);
    if (!seenOneofs.has(fs.oneof)) {
      seenOneofs.add(fs.oneof);
      goFields.push({ kind: "oneof", name: fs.oneof, goType: `${goTypeName(t.fullName).replace(".", ".is")}_${goCamel(fs.oneof)}` });
    }
  }
  byNumber.sort((a, b) => a.id - b.id);
  const schema: MessageSchema = { fullName: key, goFields, oneofMembers, byNumber };
  cache.set(key, schema);
  return schema;
}
