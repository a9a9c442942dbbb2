import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { GrpcCode } from "../../pb/errors.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";

/** A failed call's gRPC status: etcd's code and text for the error (the one table: toApiError). */
export function toServiceError(e: unknown): Partial<ServiceError> {
  const err = toApiError(e);
  return { code: err.code as number as status, details: err.message, metadata: new Metadata() };
}

export function grpcCodeName(e: unknown): string {
  return GrpcCode[toApiError(e).code] ?? "Unknown";
}
