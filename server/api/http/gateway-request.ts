/**
 * One gateway request, from the JSON value Go's Decoder framed to the protobuf bytes the gRPC
 * handlers take, with etcd's outcome for everything else:
 * - a JSON or jsonpb error (etcd: the decoder's error; InvalidArgument for a unary call);
 * - a message larger than the gRPC server takes, --max-request-bytes + 512 KiB (etcd: gRPC's
 *   ResourceExhausted "grpc: received message larger than max (N vs. M)");
 * - a request etcd's gateway panics on (the connection is dropped without an answer);
 * - a request nested deeper than the gRPC handlers' decoder takes (their "Error deserializing request").
 */
import type { FrameEvent } from "./go-json-stream.js";
import { JsonTape } from "./go-json-tape.js";
import { decodeMessage, GoDecodeError, TooDeepError } from "./jsonpb-decode.js";
import { schemaOf, type MessageSchema } from "./jsonpb-schema.js";
import { encodeMessage, NilElementError } from "./proto-encode.js";

/** etcd lets a request exceed --max-request-bytes by this much at the gRPC layer (embed.grpcOverheadBytes). */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** grpc-js' answer (code Internal) to request bytes the method's decoder throws on. */
export const UNDECODABLE = "Error deserializing request";

export type GatewayRequest =
  | { readonly ok: true; readonly raw: Buffer }
  | { readonly ok: false; readonly kind: "invalid"; readonly message: string }
  | { readonly ok: false; readonly kind: "too-large"; readonly message: string }
  | { readonly ok: false; readonly kind: "undecodable"; readonly message: string }
  | { readonly ok: false; readonly kind: "dropped" };

/** gRPC's refusal of a message over the server's receive limit, with its sizes. */
export function tooLargeMessage(size: number, limit: number): string {
  return `grpc: received message larger than max (${size} vs. ${limit})`;
}

/**
 * The largest JSON text of one request the gateway reads into memory: room for any message within
 * the gRPC limit written as JSON (base64 makes bytes 4/3 larger; names and quotes add some).
 * etcd's gateway reads any size (its memory is the limit); a larger value here is refused as too
 * large, its JSON size standing for the message size it would have had.
 */
export function maxJsonBytes(grpcLimit: number): number {
  return 2 * grpcLimit + 64 * 1024;
}

export class GatewayRequestDecoder {
  private readonly schema: MessageSchema;
  private readonly names: ReadonlySet<string>;

  /** `typeName`: the request message, e.g. "etcdserverpb.PutRequest"; `grpcLimit`: the gRPC server's receive limit. */
  constructor(
    typeName: string,
    readonly grpcLimit: number,
  ) {
    this.schema = schemaOf(typeName);
    this.names = new Set(this.schema.byNumber.flatMap((f) => [f.origName, f.camelName, ...(f.oneof === undefined ? [] : [f.oneof])]));
  }

  /** Whether jsonpb looks at a top-level key (the framer need not keep the others' values). */
  readonly isKnownKey = (key: string): boolean => this.names.has(key);

  /** The request a framed body value stands for ("eof": an empty body, which is an empty request). */
  decode(ev: FrameEvent): GatewayRequest {
    switch (ev.kind) {
      case "eof":
        return { ok: true, raw: Buffer.alloc(0) };
      case "error":
        return { ok: false, kind: "invalid", message: ev.message };
      case "oversized":
        return { ok: false, kind: "too-large", message: tooLargeMessage(ev.size, this.grpcLimit) };
      case "value":
        return this.decodeJson(ev.bytes);
    }
  }

  /** `json` must be one complete, valid JSON value (as the framer delivers it). */
  decodeJson(json: Buffer): GatewayRequest {
    let raw: Buffer;
    try {
      raw = encodeMessage(decodeMessage(new JsonTape(json), 0, this.schema));
    } catch (e) {
      if (e instanceof GoDecodeError) return { ok: false, kind: "invalid", message: e.message };
      if (e instanceof NilElementError) return { ok: false, kind: "dropped" };
      if (e instanceof TooDeepError) return { ok: false, kind: "undecodable", message: UNDECODABLE };
      throw e;
    }
    if (raw.length > this.grpcLimit) return { ok: false, kind: "too-large", message: tooLargeMessage(raw.length, this.grpcLimit) };
    return { ok: true, raw };
  }
}
