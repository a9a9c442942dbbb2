import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";

/** The single translation from etcd-ts errors to gRPC statuses (etcd's rpctypes codes and texts). */
export function toServiceError(e: unknown): Partial<ServiceError> {
  if (e instanceof EtcdError) return { code: e.code as number as status, details: e.message, metadata: new Metadata() };
  const msg = e instanceof Error ? e.message : String(e);
  return { code: status.UNKNOWN, details: msg, metadata: new Metadata() };
}

export function grpcCodeName(e: unknown): string {
  const code = e instanceof EtcdError ? e.code : GrpcCode.Unknown;
  return GrpcCode[code] ?? "Unknown";
}
