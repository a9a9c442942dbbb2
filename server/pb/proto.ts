/**
 * The API's protobuf types, loaded once from our `.proto` text (etcd's field numbers), and a codec
 * per message type. Every layer that reads or writes protobuf bytes (raft entries, the gRPC
 * adapters, the gateway, the peer transport) goes through here, so they all decode alike.
 */
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { join } from "node:path";
import { packageRoot } from "../util/package-root.js";

/**
 * Where the .proto files live (they ship as source, beside the compiled code). They stay under
 * `server/api/proto/` because the deploy bundles (stacks/, ansible-free-scripts/) ship that folder.
 */
export const PROTO_DIR = join(packageRoot(), "server", "api", "proto");

/**
 * Decoding choices every layer relies on: field names as in the .proto (snake_case),
 * 64-bit integers as decimal strings (uint64 IDs must not pass through a JS number),
 * bytes as Buffers, enums as numbers, defaults filled in so absent fields read as zero values.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/**
 * How deeply messages may nest when decoded (protobufjs' default, 100, stops a txn nested about 50
 * deep, one etcd decodes: etcd has no limit and refuses a txn nested past --max-txn-ops as "too
 * many operations", which needs about 2 levels per txn).
 */
export const MAX_MESSAGE_NESTING = 1000;
protobuf.util.recursionLimit = MAX_MESSAGE_NESTING;
protobuf.Reader.recursionLimit = MAX_MESSAGE_NESTING;

export const PROTO_FILES = [
  "etcdserverpb/rpc.proto",
  "v3lockpb/v3lock.proto",
  "v3electionpb/v3election.proto",
  "etcdtspeer/peer.proto",
] as const;

let cached: protoLoader.PackageDefinition | undefined;

/** Every message and service of the API (proto-loader's package definition), loaded once per process. */
export function packageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
  return cached;
}

/** One message type's bytes <-> the object shape of LOADER_OPTIONS (what `pb/wire.ts` types). */
export interface MessageCodec<T> {
  encode(message: T): Buffer;
  /** Throws on bytes that are not this message (a protobufjs error). */
  decode(bytes: Uint8Array): T;
}

/** The codec of a message type by its full name, e.g. `etcdserverpb.PutRequest`: the same functions a gRPC method of that type uses. */
export function messageCodec<T>(typeName: string): MessageCodec<T> {
  const def = packageDefinition()[typeName] as unknown as protoLoader.MessageTypeDefinition<T, T> | undefined;
  if (!def || def.format !== "Protocol Buffer 3 DescriptorProto") throw new Error(`no protobuf message type ${typeName}`);
  return {
    encode: (m) => def.serialize(m),
    decode: (b) => def.deserialize(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
  };
}
