/**
 * The auth store's errors (etcd's auth/store.go), as domain values with etcd's own texts. The one
 * table (etcdserver/requests/api-errors.ts, etcd's v3rpc/util.go) maps them to the API errors
 * clients see; one etcd leaves out of its table (ErrNoPasswordUser) reaches clients as code Unknown
 * with this text, as grpc-go sends it.
 */
import { DomainError } from "../pb/errors.js";

export class AuthError extends DomainError {
  override readonly name = "AuthError";
}

const e = (msg: string) => new AuthError(msg);

export const ErrRootUserNotExist = e("auth: root user does not exist");
export const ErrRootRoleNotExist = e("auth: root user does not have root role");
export const ErrUserAlreadyExist = e("auth: user already exists");
export const ErrUserEmpty = e("auth: user name is empty");
export const ErrUserNotFound = e("auth: user not found");
export const ErrRoleAlreadyExist = e("auth: role already exists");
export const ErrRoleNotFound = e("auth: role not found");
export const ErrRoleEmpty = e("auth: role name is empty");
export const ErrAuthFailed = e("auth: authentication failed, invalid user ID or password");
export const ErrNoPasswordUser = e("auth: authentication failed, password was given for no password user");
export const ErrPermissionDenied = e("auth: permission denied");
export const ErrRoleNotGranted = e("auth: role is not granted to the user");
export const ErrPermissionNotGranted = e("auth: permission is not granted to the role");
export const ErrAuthNotEnabled = e("auth: authentication is not enabled");
export const ErrAuthOldRevision = e("auth: revision in header is old");
export const ErrInvalidAuthToken = e("auth: invalid auth token");
export const ErrInvalidAuthMgmt = e("auth: invalid auth management");
/** etcd 3.5's: a RoleGrantPermission without a permission (etcd 3.4 crashes on it). */
export const ErrPermissionNotGiven = e("auth: permission not given");
