/**
 * The one table from domain errors to etcd's API errors (etcd's v3rpc/util.go toErrMap): the gRPC
 * code and text a client sees for an error of mvcc, lease or auth. Errors of the server layer are API
 * errors already (pb/errors.ts); anything else is a plain error, code Unknown with its message, as
 * grpc-go sends a non-status error. The gRPC adapter, the gateway and the in-process client (Lock,
 * Election) all answer through here.
 */
import * as auth from "../../auth/errors.js";
import { ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge } from "../../lease/errors.js";
import { ErrCompacted, ErrFutureRev } from "../../mvcc/errors.js";
import * as api from "../../pb/errors.js";

const TABLE: ReadonlyMap<Error, api.EtcdError> = new Map<Error, api.EtcdError>([
  [ErrCompacted, api.ErrCompacted],
  [ErrFutureRev, api.ErrFutureRev],
  [ErrLeaseNotFound, api.ErrLeaseNotFound],
  [ErrLeaseExists, api.ErrLeaseExist],
  [ErrLeaseTTLTooLarge, api.ErrLeaseTTLTooLarge],
  [auth.ErrRootUserNotExist, api.ErrRootUserNotExist],
  [auth.ErrRootRoleNotExist, api.ErrRootRoleNotExist],
  [auth.ErrUserAlreadyExist, api.ErrUserAlreadyExist],
  [auth.ErrUserEmpty, api.ErrUserEmpty],
  [auth.ErrUserNotFound, api.ErrUserNotFound],
  [auth.ErrRoleAlreadyExist, api.ErrRoleAlreadyExist],
  [auth.ErrRoleNotFound, api.ErrRoleNotFound],
  [auth.ErrRoleEmpty, api.ErrRoleEmpty],
  [auth.ErrAuthFailed, api.ErrAuthFailed],
  [auth.ErrPermissionDenied, api.ErrPermissionDenied],
  [auth.ErrRoleNotGranted, api.ErrRoleNotGranted],
  [auth.ErrPermissionNotGranted, api.ErrPermissionNotGranted],
  [auth.ErrAuthNotEnabled, api.ErrAuthNotEnabled],
  [auth.ErrInvalidAuthToken, api.ErrInvalidAuthToken],
  [auth.ErrInvalidAuthMgmt, api.ErrInvalidAuthMgmt],
  [auth.ErrAuthOldRevision, api.ErrAuthOldRevision],
  [auth.ErrPermissionNotGiven, api.ErrPermissionNotGiven],
]);

/**
 * The API error of an auth check etcd answers without its table: etcd's authMaintenanceServer
 * (Snapshot, Hash, HashKV, Defragment) returns the error of AuthInfoFromCtx or IsAdminPermitted as
 * it is, with no togRPCError, so grpc-go sends it as code Unknown with the auth store's own text
 * ("auth: permission denied", "auth: user name is empty", "auth: invalid auth token"). API errors
 * (a request cancelled or timed out while a simple token's index was awaited) stay as they are.
 */
export function untranslatedAuthError(e: unknown): api.EtcdError {
  if (e instanceof auth.AuthError) return new api.EtcdError(api.GrpcCode.Unknown, e.message);
  return toApiError(e);
}

/** The API error `e` is answered with. */
export function toApiError(e: unknown): api.EtcdError {
  if (e instanceof api.EtcdError) return e;
  if (e instanceof Error) return TABLE.get(e) ?? new api.EtcdError(api.GrpcCode.Unknown, e.message);
  return new api.EtcdError(api.GrpcCode.Unknown, String(e));
}
