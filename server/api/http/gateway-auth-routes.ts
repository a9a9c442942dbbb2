/**
 * The gateway's /v3/auth/* routes (etcd's rpc.pb.gw.go paths), each to the Auth service of the
 * request layer like the gRPC methods; the caller's token is the `Authorization` header.
 */
import type { ClientServices } from "../../etcdserver/requests/services.js";
import type { AuthService } from "../../etcdserver/requests/auth.js";
import type { RequestContext } from "../../etcdserver/requests/context.js";

type RouteOf<R> = (req: string, res: string, handle: (ctx: RequestContext, msg: never, raw: Buffer) => Promise<object>) => R;

const AUTH_ROUTES: ReadonlyArray<readonly [path: string, message: string, method: keyof AuthService]> = [
  ["/v3/auth/enable", "AuthEnable", "authEnable"],
  ["/v3/auth/disable", "AuthDisable", "authDisable"],
  ["/v3/auth/authenticate", "Authenticate", "authenticate"],
  ["/v3/auth/user/add", "AuthUserAdd", "userAdd"],
  ["/v3/auth/user/get", "AuthUserGet", "userGet"],
  ["/v3/auth/user/list", "AuthUserList", "userList"],
  ["/v3/auth/user/delete", "AuthUserDelete", "userDelete"],
  ["/v3/auth/user/changepw", "AuthUserChangePassword", "userChangePassword"],
  ["/v3/auth/user/grant", "AuthUserGrantRole", "userGrantRole"],
  ["/v3/auth/user/revoke", "AuthUserRevokeRole", "userRevokeRole"],
  ["/v3/auth/role/add", "AuthRoleAdd", "roleAdd"],
  ["/v3/auth/role/get", "AuthRoleGet", "roleGet"],
  ["/v3/auth/role/list", "AuthRoleList", "roleList"],
  ["/v3/auth/role/delete", "AuthRoleDelete", "roleDelete"],
  ["/v3/auth/role/grant", "AuthRoleGrantPermission", "roleGrantPermission"],
  ["/v3/auth/role/revoke", "AuthRoleRevokePermission", "roleRevokePermission"],
];

export function authRoutes<R>(s: ClientServices, route: RouteOf<R>): Record<string, R> {
  const out: Record<string, R> = {};
  for (const [path, message, method] of AUTH_ROUTES) {
    // "Authenticate" -> AuthenticateRequest; "AuthUserAdd" -> AuthUserAddRequest
    out[path] = route(`${message}Request`, `${message}Response`, (ctx, msg) => (s.auth[method] as (c: RequestContext, m: object) => Promise<object>).call(s.auth, ctx, msg));
  }
  return out;
}
