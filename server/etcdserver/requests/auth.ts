/**
 * The Auth service (etcd's EtcdServer.Auth* and Authenticate). Changes go through raft as Auth
 * entries, checked here first (root only, access.ts) and again at apply. Passwords are bcrypt-hashed
 * here, before proposing, so neither the log nor the apply sees a password or does slow work
 * (etcd 3.5 hashes before raft; 3.4 hashed in the apply). Reads (UserGet, UserList, RoleGet,
 * RoleList) are linearizable reads of this member's auth store (etcd 3.4 sends them through raft:
 * the same answer).
 *
 * Authenticate, as etcd's: a linearizable read, the password compared against the stored hash
 * (asynchronously: the event loop keeps serving other clients), an Authenticate entry through raft
 * (it carries the simple-token prefix, never the password), and a retry if the auth store changed
 * between the comparison and the apply.
 */
import bcrypt from "bcryptjs";
import type { EtcdServer } from "../server.js";
import { headerToWire } from "../../pb/convert.js";
import { AuthOp, type AuthRequest, type WirePermission } from "../../pb/auth-entry.js";
import { ErrAuthFailed, ErrAuthNotEnabled, ErrNoPasswordUser, ErrRoleEmpty, ErrRoleNotFound, ErrUserEmpty, ErrUserNotFound } from "../../auth/errors.js";
import type { RequestContext } from "./context.js";
import type { Access } from "./access.js";
import type { Headed } from "./kv.js";

/** bcrypt's cost range (golang.org/x/crypto/bcrypt MinCost..MaxCost); etcd falls back to 10 outside it. */
export const DEFAULT_BCRYPT_COST = 10;
export function bcryptCostOf(cost: number): number {
  return Number.isInteger(cost) && cost >= 4 && cost <= 31 ? cost : DEFAULT_BCRYPT_COST;
}

type Empty = Record<string, never>;

export interface AuthService {
  authEnable(ctx: RequestContext, r: Empty): Promise<Headed>;
  authDisable(ctx: RequestContext, r: Empty): Promise<Headed>;
  authenticate(ctx: RequestContext, r: { name: string; password: string }): Promise<Headed & { token: string }>;
  userAdd(ctx: RequestContext, r: { name: string; password: string; options: { no_password: boolean } | null; hashedPassword?: string }): Promise<Headed>;
  userGet(ctx: RequestContext, r: { name: string }): Promise<Headed & { roles: string[] }>;
  userList(ctx: RequestContext, r: Empty): Promise<Headed & { users: string[] }>;
  userDelete(ctx: RequestContext, r: { name: string }): Promise<Headed>;
  userChangePassword(ctx: RequestContext, r: { name: string; password: string; hashedPassword?: string }): Promise<Headed>;
  userGrantRole(ctx: RequestContext, r: { user: string; role: string }): Promise<Headed>;
  userRevokeRole(ctx: RequestContext, r: { name: string; role: string }): Promise<Headed>;
  roleAdd(ctx: RequestContext, r: { name: string }): Promise<Headed>;
  roleGet(ctx: RequestContext, r: { role: string }): Promise<Headed & { perm: WirePermission[] }>;
  roleList(ctx: RequestContext, r: Empty): Promise<Headed & { roles: string[] }>;
  roleDelete(ctx: RequestContext, r: { role: string }): Promise<Headed>;
  roleGrantPermission(ctx: RequestContext, r: { name: string; perm: WirePermission | null }): Promise<Headed>;
  roleRevokePermission(ctx: RequestContext, r: { role: string; key: Buffer; range_end: Buffer }): Promise<Headed>;
}

export class AuthRequests implements AuthService {
  constructor(
    private readonly server: EtcdServer,
    private readonly access: Access,
    private readonly bcryptCost: number = DEFAULT_BCRYPT_COST,
  ) {}

  private header(): Headed {
    return { header: headerToWire(this.server.header()) };
  }

  /** A change: root only (checked here and at apply), through raft. */
  private async change(ctx: RequestContext, r: AuthRequest): Promise<Headed> {
    const ai = await this.access.check(ctx, this.access.admin);
    const res = await this.server.authRequest(r, ctx.signal, this.access.stampOf(ai));
    return { header: headerToWire(this.server.header(res.revision)) };
  }

  authEnable(ctx: RequestContext) {
    return this.change(ctx, { op: AuthOp.Enable, req: {} });
  }

  authDisable(ctx: RequestContext) {
    return this.change(ctx, { op: AuthOp.Disable, req: {} });
  }

  async authenticate(ctx: RequestContext, r: { name: string; password: string }) {
    await this.server.linearizableRead(ctx.signal);
    const store = this.access.store;
    const tokens = this.access.tokens;
    for (;;) {
      // etcd's CheckPassword
      if (!store.enabled) throw ErrAuthNotEnabled;
      const u = store.user(r.name ?? "");
      if (!u) throw ErrAuthFailed;
      if (u.noPassword) throw ErrNoPasswordUser;
      const checked = store.revision;
      if (!(await bcrypt.compare(r.password ?? "", u.password))) throw ErrAuthFailed;
      const res = await this.server.authRequest({ op: AuthOp.Authenticate, req: { name: u.name, simple_token: tokens.prefix() } }, ctx.signal);
      if (checked !== store.revision) continue; // the user may have changed meanwhile: check again
      const token = await tokens.issue({ user: res.user!, authRevision: res.authRevision, simpleToken: res.simpleToken });
      return { header: headerToWire(this.server.header(res.revision)), token };
    }
  }

  async userAdd(ctx: RequestContext, r: { name: string; password: string; options: { no_password: boolean } | null; hashedPassword?: string }) {
    if (!r.name) throw ErrUserEmpty;
    await this.access.check(ctx, this.access.admin); // before the slow hash
    const noPassword = !!r.options?.no_password;
    const hashedPassword = noPassword ? "" : r.hashedPassword || (await bcrypt.hash(r.password ?? "", this.bcryptCost));
    return this.change(ctx, { op: AuthOp.UserAdd, req: { name: r.name, options: { no_password: noPassword }, hashedPassword } });
  }

  async userChangePassword(ctx: RequestContext, r: { name: string; password: string; hashedPassword?: string }) {
    await this.access.check(ctx, this.access.admin);
    if (!this.access.store.user(r.name ?? "")) throw ErrUserNotFound;
    const hashedPassword = r.hashedPassword || (await bcrypt.hash(r.password ?? "", this.bcryptCost));
    return this.change(ctx, { op: AuthOp.UserChangePassword, req: { name: r.name, hashedPassword } });
  }

  userDelete(ctx: RequestContext, r: { name: string }) {
    return this.change(ctx, { op: AuthOp.UserDelete, req: { name: r.name ?? "" } });
  }

  userGrantRole(ctx: RequestContext, r: { user: string; role: string }) {
    return this.change(ctx, { op: AuthOp.UserGrantRole, req: { user: r.user ?? "", role: r.role ?? "" } });
  }

  userRevokeRole(ctx: RequestContext, r: { name: string; role: string }) {
    return this.change(ctx, { op: AuthOp.UserRevokeRole, req: { name: r.name ?? "", role: r.role ?? "" } });
  }

  roleAdd(ctx: RequestContext, r: { name: string }) {
    if (!r.name) return Promise.reject(ErrRoleEmpty);
    return this.change(ctx, { op: AuthOp.RoleAdd, req: { name: r.name } });
  }

  roleDelete(ctx: RequestContext, r: { role: string }) {
    return this.change(ctx, { op: AuthOp.RoleDelete, req: { role: r.role ?? "" } });
  }

  roleGrantPermission(ctx: RequestContext, r: { name: string; perm: WirePermission | null }) {
    const p = r.perm ? { permType: r.perm.permType ?? 0, key: r.perm.key ?? Buffer.alloc(0), range_end: r.perm.range_end ?? Buffer.alloc(0) } : null;
    return this.change(ctx, { op: AuthOp.RoleGrantPermission, req: { name: r.name ?? "", perm: p } });
  }

  roleRevokePermission(ctx: RequestContext, r: { role: string; key: Buffer; range_end: Buffer }) {
    return this.change(ctx, { op: AuthOp.RoleRevokePermission, req: { role: r.role ?? "", key: r.key ?? Buffer.alloc(0), range_end: r.range_end ?? Buffer.alloc(0) } });
  }

  // ---- reads ---------------------------------------------------------------------------------

  async userGet(ctx: RequestContext, r: { name: string }) {
    await this.server.linearizableRead(ctx.signal);
    // etcd: root, or the user asking about itself
    await this.access.check(ctx, (ai) => {
      try {
        this.access.admin(ai);
      } catch (e) {
        if ((r.name ?? "") !== (ai?.user ?? "")) throw e;
      }
    });
    const u = this.access.store.user(r.name ?? "");
    if (!u) throw ErrUserNotFound;
    return { ...this.header(), roles: [...u.roles] };
  }

  async userList(ctx: RequestContext) {
    await this.server.linearizableRead(ctx.signal);
    await this.access.check(ctx, this.access.admin);
    return { ...this.header(), users: this.access.store.userList() };
  }

  async roleGet(ctx: RequestContext, r: { role: string }) {
    await this.server.linearizableRead(ctx.signal);
    // etcd: root, or a user holding the role
    await this.access.check(ctx, (ai) => {
      try {
        this.access.admin(ai);
      } catch (e) {
        if (!this.access.store.hasRole(ai?.user ?? "", r.role ?? "")) throw e;
      }
    });
    const role = this.access.store.role(r.role ?? "");
    if (!role) throw ErrRoleNotFound;
    return { ...this.header(), perm: role.perms.map((p) => ({ permType: p.permType, key: p.key, range_end: p.rangeEnd })) };
  }

  async roleList(ctx: RequestContext) {
    await this.server.linearizableRead(ctx.signal);
    await this.access.check(ctx, this.access.admin);
    return { ...this.header(), roles: this.access.store.roleList() };
  }
}
