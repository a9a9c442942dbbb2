/**
 * The API's gRPC services (etcd's KV, Watch, Lease, Cluster, Maintenance, Lock, Election and
 * etcd-ts's peer service), built from the same package definition as the message codecs.
 * Used by whoever speaks gRPC: the client-port adapters, the peer transport, leader forwarding.
 */
import * as grpc from "@grpc/grpc-js";
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
