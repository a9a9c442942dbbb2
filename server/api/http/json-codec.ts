import protobuf from "protobufjs";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROTO_DIR, PROTO_FILES } from "../proto/load.js";

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    const local = join(PROTO_DIR, target);
    return existsSync(local) ? local : protobuf.util.path.resolve(origin, target);
  };
  r.loadSync([...PROTO_FILES], { keepCase: true });
  root = r;
  return r;
}

/** JSON as etcd's grpc-gateway speaks it: original field names, bytes as base64, 64-bit integers as strings, zero values omitted. */
export class GatewayCodec {
  private readonly type: protobuf.Type;
  constructor(typeName: string) {
    this.type = protoRoot().lookupType(typeName);
  }

  /** Parses a JSON request into protobuf bytes (accepts snake_case and lowerCamelCase names, as jsonpb does). */
  encodeJson(json: unknown): Buffer {
    const obj = normalizeNames(this.type, json ?? {});
    // fromObject accepts what jsonpb accepts (enum names or numbers, int64 as strings, base64 bytes).
    return Buffer.from(this.type.encode(this.type.fromObject(obj)).finish());
  }

  /** Turns a wire-shaped response object into gateway JSON. */
  toJson(obj: object): unknown {
    const msg = this.type.fromObject(obj);
    return dropZeroValues(this.type, this.type.toObject(msg, { longs: String, enums: String, bytes: String, defaults: false, arrays: false, oneofs: false }));
  }
}

/** proto3 JSON without EmitDefaults (grpc-gateway's default): zero values, empty lists and empty bytes are left out. */
function dropZeroValues(type: protobuf.Type, o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const field = type.fields[k];
    if (!field) continue;
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const zeroEnum = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.valuesById[0] : undefined;
    const isZero = (x: unknown) => x === "0" || x === 0 || x === false || x === "" || (zeroEnum !== undefined && x === zeroEnum);
    if (Array.isArray(v)) {
      if (v.length > 0) out[k] = sub ? v.map((x) => dropZeroValues(sub, x as Record<string, unknown>)) : v;
    } else if (sub && v !== null && typeof v === "object") {
      out[k] = dropZeroValues(sub, v as Record<string, unknown>);
    } else if (!isZero(v)) {
      out[k] = v;
    }
  }
  return out;
}

function normalizeNames(type: protobuf.Type, json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new SyntaxError("request body must be a JSON object");
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json as Record<string, unknown>)) {
    const field = type.fields[k] ?? Object.values(type.fields).find((f) => toCamel(f.name) === k);
    if (!field) continue; // jsonpb with AllowUnknownFields: etcd's gateway ignores unknown names
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const conv = (x: unknown) => (sub && x !== null && typeof x === "object" ? normalizeNames(sub, x) : x);
    out[field.name] = Array.isArray(v) ? v.map(conv) : conv(v);
  }
  return out;
}

const toCamel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
