import type { ServiceHandlers } from "./handlers.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import type { AuthService } from "../../etcdserver/requests/auth.js";
import { unary } from "./unary.js";

/** etcdserverpb.Auth: each method straight to the request layer. */
export function authService(h: AuthService, metrics: ServerMetrics): ServiceHandlers {
  const svc = "etcdserverpb.Auth";
  const m = <K extends keyof AuthService>(grpcName: string, k: K) =>
    unary(metrics, svc, grpcName, (ctx, r: Parameters<AuthService[K]>[1]) => (h[k] as (c: typeof ctx, req: typeof r) => Promise<object>).call(h, ctx, r));
  return {
    AuthEnable: m("AuthEnable", "authEnable"),
    AuthDisable: m("AuthDisable", "authDisable"),
    Authenticate: m("Authenticate", "authenticate"),
    UserAdd: m("UserAdd", "userAdd"),
    UserGet: m("UserGet", "userGet"),
    UserList: m("UserList", "userList"),
    UserDelete: m("UserDelete", "userDelete"),
    UserChangePassword: m("UserChangePassword", "userChangePassword"),
    UserGrantRole: m("UserGrantRole", "userGrantRole"),
    UserRevokeRole: m("UserRevokeRole", "userRevokeRole"),
    RoleAdd: m("RoleAdd", "roleAdd"),
    RoleGet: m("RoleGet", "roleGet"),
    RoleList: m("RoleList", "roleList"),
    RoleDelete: m("RoleDelete", "roleDelete"),
    RoleGrantPermission: m("RoleGrantPermission", "roleGrantPermission"),
    RoleRevokePermission: m("RoleRevokePermission", "roleRevokePermission"),
  };
}
