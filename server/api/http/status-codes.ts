import { GrpcCode } from "../../pb/errors.js";

/** grpc-gateway's mapping from gRPC codes to HTTP statuses. */
export function httpStatusOf(code: GrpcCode): number {
  switch (code) {
    case GrpcCode.OK:
      return 200;
    case GrpcCode.Cancelled:
      return 408;
    case GrpcCode.InvalidArgument:
    case GrpcCode.OutOfRange:
      return 400;
    case GrpcCode.FailedPrecondition:
      return 412; // grpc-gateway v1 (etcd 3.4): Precondition Failed, e.g. "lease already exists"
    case GrpcCode.DeadlineExceeded:
      return 504;
    case GrpcCode.NotFound:
      return 404;
    case GrpcCode.AlreadyExists:
    case GrpcCode.Aborted:
      return 409;
    case GrpcCode.PermissionDenied:
      return 403;
    case GrpcCode.Unauthenticated:
      return 401;
    case GrpcCode.ResourceExhausted:
      return 429;
    case GrpcCode.Unimplemented:
      return 501;
    case GrpcCode.Unavailable:
      return 503;
    default:
      return 500;
  }
}
