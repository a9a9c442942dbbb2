/**
 * The API's gRPC services (etcd's KV, Watch, Lease, Cluster, Maintenance, Lock, Election and
 * etcd-ts's peer service), built from the same package definition as the message codecs.
 * Used by whoever speaks gRPC: the client-port adapters (methodSpecs, for server/grpcwire), the peer transport,
 * leader forwarding.
 */
import * as grpc from "@grpc/grpc-js";
import type * as protoLoader from "@grpc/proto-loader";
import { callKind, type MethodSpec } from "../grpcwire/method.js";
import { packageDefinition } from "./proto.js";

let cached: grpc.GrpcObject | undefined;

/** The loaded API (services and message types) as grpc-js objects, loaded once per process. */
export function etcdApi(): grpc.GrpcObject {
  cached ??= grpc.loadPackageDefinition(packageDefinition());
  return cached;
}

export function serviceDefinition(pkg: string, service: string): grpc.ServiceDefinition {
  return clientConstructor(pkg, service).service;
}

export function clientConstructor(pkg: string, service: string): grpc.ServiceClientConstructor {
  return (etcdApi()[pkg] as grpc.GrpcObject)[service] as grpc.ServiceClientConstructor;
}

/** The methods of a service as a grpcwire server registers them, by method name (proto-loader's codecs). */
export function methodSpecs(pkg: string, service: string): Record<string, MethodSpec<unknown, unknown>> {
  const def = packageDefinition()[`${pkg}.${service}`] as protoLoader.ServiceDefinition | undefined;
  if (!def) throw new Error(`no service ${pkg}.${service} in the loaded protos`);
  const out: Record<string, MethodSpec<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      path: m.path,
      kind: callKind(m.requestStream, m.responseStream),
      decode: (b) => m.requestDeserialize(b),
      encode: (v) => m.responseSerialize(v as object),
    };
  }
  return out;
}
