import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { join } from "node:path";
import { packageRoot } from "../../util/package-root.js";

/** Where the .proto files live (they ship as source, beside the compiled code). */
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

let cached: grpc.GrpcObject | undefined;

/** The loaded etcd v3 API (services and message types), loaded once per process. */
export function etcdApi(): grpc.GrpcObject {
  cached ??= grpc.loadPackageDefinition(protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS));
  return cached;
}

export function serviceDefinition(pkg: string, service: string): grpc.ServiceDefinition {
  const ns = etcdApi()[pkg] as grpc.GrpcObject;
  const ctor = ns[service] as grpc.ServiceClientConstructor;
  return ctor.service;
}

export function clientConstructor(pkg: string, service: string): grpc.ServiceClientConstructor {
  return (etcdApi()[pkg] as grpc.GrpcObject)[service] as grpc.ServiceClientConstructor;
}
