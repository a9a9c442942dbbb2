import type { GrpcStatus } from "../../grpcwire/status.js";
import { GrpcCode } from "../../pb/errors.js";
import { toApiError } from "../../etcdserver/requests/api-errors.js";

/** A failed call's gRPC status: etcd's code and text for the error (the one table: toApiError). */
export function toStatus(e: unknown): GrpcStatus {
  const err = toApiError(e);
  return { code: err.code, message: err.message };
}

export function grpcCodeName(e: unknown): string {
  return GrpcCode[toApiError(e).code] ?? "Unknown";
}
