import protobuf from "protobufjs";
import { protoRoot } from "./jsonpb-schema.js";

/**
 * Responses as etcd's grpc-gateway writes them (jsonpb with OrigName): original field names, bytes
 * as base64, 64-bit integers as decimal strings (exact: protobufjs carries them as Long), zero
 * values omitted. Requests are decoded by gateway-request.ts.
 */
export class GatewayCodec {
  private readonly type: protobuf.Type;
  constructor(typeName: string) {
    this.type = protoRoot().lookupType(typeName);
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
