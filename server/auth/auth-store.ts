/**
 * The cluster's users, roles and permissions (etcd's auth/store.go). Changed only by applied auth
 * entries, so every member holds the same state; every change moves the auth revision by one.
 * Kept in the backend in etcd's three buckets (`auth`: the enabled flag and the revision;
 * `authUsers`, `authRoles`: one authpb.User / authpb.Role per name), written in the apply's
 * backend batch with the consistent index, so it survives a restart and travels in the snapshot a
 * new member receives. Reads come from memory (the rows written by an apply are committed at the
 * end of its event turn).
 *
 * Passwords arrive hashed (bcrypt, hashed before proposing): nothing here is slow or random.
 */
import type { Bucket } from "../backend/backend.js";
import { messageCodec } from "../pb/proto.js";
import * as E from "./errors.js";
import { PermType, UnifiedPerms, type Permission } from "./range-perms.js";

export const AUTH_BUCKET = "auth";
export const AUTH_USERS_BUCKET = "authUsers";
export const AUTH_ROLES_BUCKET = "authRoles";

export const ROOT_USER = "root";
export const ROOT_ROLE = "root";

const ENABLED_KEY = Buffer.from("authEnabled");
const REVISION_KEY = Buffer.from("authRevision");

/** Who a request acts for: a user and the auth revision its credential was checked at (0: nobody). */
export interface AuthInfo {
  readonly user: string;
  readonly revision: number;
}

export interface User {
  readonly name: string;
  /** The bcrypt hash (empty for a no-password user). */
  readonly password: string;
  /** Sorted, as etcd keeps them. */
  readonly roles: readonly string[];
  readonly noPassword: boolean;
}

export interface Role {
  readonly name: string;
  /** Sorted by key (stable), as etcd keeps them. */
  readonly perms: readonly Permission[];
}

/** What the member's token provider must hear of (tokens are per member, not replicated). */
export interface AuthStoreListener {
  enabled(): void;
  disabled(): void;
  /** The user was deleted or its password changed: its simple tokens end. */
  userInvalidated(name: string): void;
}

interface WireUser {
  name: Buffer;
  password: Buffer;
  roles: string[];
  options: { no_password: boolean } | null;
}
interface WireRole {
  name: Buffer;
  keyPermission: { permType: number; key: Buffer; range_end: Buffer }[];
}
const userCodec = messageCodec<WireUser>("authpb.User");
const roleCodec = messageCodec<WireRole>("authpb.Role");

const byName = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const byKey = (a: Permission, b: Permission) => Buffer.compare(a.key, b.key);

export interface AuthBuckets {
  bucket(name: string): Bucket;
}

export class AuthStore {
  private on = false;
  private rev = 1;
  private users = new Map<string, User>();
  private roles = new Map<string, Role>();
  private perms = new Map<string, UnifiedPerms>();
  private readonly meta: Bucket;
  private readonly userRows: Bucket;
  private readonly roleRows: Bucket;
  private listener: AuthStoreListener | undefined;

  constructor(backend: AuthBuckets) {
    this.meta = backend.bucket(AUTH_BUCKET);
    this.userRows = backend.bucket(AUTH_USERS_BUCKET);
    this.roleRows = backend.bucket(AUTH_ROLES_BUCKET);
    this.recover();
  }

  setListener(l: AuthStoreListener): void {
    this.listener = l;
    if (this.on) l.enabled();
  }

  /** (Re)loads from the backend: at open, and after a snapshot from the leader replaced it. */
  recover(): void {
    const flag = this.meta.get(ENABLED_KEY);
    const rev = this.meta.get(REVISION_KEY);
    // etcd starts every store at revision 1 (0 means "no credential")
    this.rev = rev && rev.length === 8 ? Number(rev.readBigUInt64BE(0)) : 1;
    this.users = new Map();
    for (const { value } of this.userRows.getRange()) {
      const w = userCodec.decode(value);
      const u: User = { name: w.name.toString("utf8"), password: w.password.toString("utf8"), roles: [...w.roles], noPassword: !!w.options?.no_password };
      this.users.set(u.name, u);
    }
    this.roles = new Map();
    for (const { value } of this.roleRows.getRange()) {
      const w = roleCodec.decode(value);
      const r: Role = { name: w.name.toString("utf8"), perms: w.keyPermission.map((p) => ({ permType: p.permType, key: p.key, rangeEnd: p.range_end })) };
      this.roles.set(r.name, r);
    }
    this.refreshPerms();
    const was = this.on;
    this.on = !!flag && flag.length === 1 && flag[0] === 1;
    if (this.on && !was) this.listener?.enabled();
    if (!this.on && was) this.listener?.disabled();
  }

  get enabled(): boolean {
    return this.on;
  }

  get revision(): number {
    return this.rev;
  }

  // ---- changes (applied entries only) -------------------------------------------------------

  enable(): void {
    if (this.on) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw E.ErrRootUserNotExist;
    if (!root.roles.includes(ROOT_ROLE)) throw E.ErrRootRoleNotExist;
    this.meta.put(ENABLED_KEY, Buffer.from([1]));
    this.on = true;
    // etcd's AuthEnable does not move the revision
    this.listener?.enabled();
  }

  disable(): void {
    if (!this.on) return;
    this.meta.put(ENABLED_KEY, Buffer.from([0]));
    this.commitRevision();
    this.on = false;
    this.listener?.disabled();
  }

  userAdd(name: string, hashedPassword: string, noPassword: boolean): void {
    if (name.length === 0) throw E.ErrUserEmpty;
    if (this.users.has(name)) throw E.ErrUserAlreadyExist;
    this.putUser({ name, password: noPassword ? "" : hashedPassword, roles: [], noPassword });
    this.changed();
  }

  userDelete(name: string): void {
    if (this.on && name === ROOT_USER) throw E.ErrInvalidAuthMgmt;
    if (!this.users.has(name)) throw E.ErrUserNotFound;
    this.users.delete(name);
    this.userRows.remove(Buffer.from(name));
    this.changed();
    this.listener?.userInvalidated(name);
  }

  userChangePassword(name: string, hashedPassword: string): void {
    const u = this.users.get(name);
    if (!u) throw E.ErrUserNotFound;
    this.putUser({ ...u, password: hashedPassword });
    this.changed();
    this.listener?.userInvalidated(name);
  }

  userGrantRole(user: string, role: string): void {
    const u = this.users.get(user);
    if (!u) throw E.ErrUserNotFound;
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw E.ErrRoleNotFound;
    if (u.roles.includes(role)) return; // etcd: ignored, no revision
    this.putUser({ ...u, roles: [...u.roles, role].sort(byName) });
    this.changed();
  }

  userRevokeRole(name: string, role: string): void {
    if (this.on && name === ROOT_USER && role === ROOT_ROLE) throw E.ErrInvalidAuthMgmt;
    const u = this.users.get(name);
    if (!u) throw E.ErrUserNotFound;
    const roles = u.roles.filter((r) => r !== role);
    if (roles.length === u.roles.length) throw E.ErrRoleNotGranted;
    this.putUser({ ...u, roles });
    this.changed();
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw E.ErrRoleEmpty;
    if (this.roles.has(name)) throw E.ErrRoleAlreadyExist;
    this.putRole({ name, perms: [] });
    this.changed();
  }

  roleDelete(name: string): void {
    if (this.on && name === ROOT_ROLE) throw E.ErrInvalidAuthMgmt;
    if (!this.roles.has(name)) throw E.ErrRoleNotFound;
    this.roles.delete(name);
    this.roleRows.remove(Buffer.from(name));
    for (const u of [...this.users.values()]) if (u.roles.includes(name)) this.putUser({ ...u, roles: u.roles.filter((r) => r !== name) });
    this.changed();
  }

  roleGrantPermission(name: string, perm: Permission | undefined): void {
    const role = this.roles.get(name);
    if (!role) throw E.ErrRoleNotFound;
    if (!perm) throw E.ErrPermissionNotGiven;
    if (!isValidPermissionRange(perm.key, perm.rangeEnd)) throw E.ErrInvalidAuthMgmt;
    const perms = [...role.perms];
    // etcd looks at the first permission with the same key only (sort.Search)
    const idx = perms.findIndex((p) => Buffer.compare(p.key, perm.key) >= 0);
    const at = idx < 0 ? undefined : perms[idx];
    if (at && at.key.equals(perm.key) && at.rangeEnd.equals(perm.rangeEnd)) perms[idx] = { ...at, permType: perm.permType };
    else perms.push({ permType: perm.permType, key: perm.key, rangeEnd: perm.rangeEnd });
    this.putRole({ name, perms: perms.sort(byKey) });
    this.changed();
  }

  roleRevokePermission(name: string, key: Buffer, rangeEnd: Buffer): void {
    const role = this.roles.get(name);
    if (!role) throw E.ErrRoleNotFound;
    const perms = role.perms.filter((p) => !p.key.equals(key) || !p.rangeEnd.equals(rangeEnd));
    if (perms.length === role.perms.length) throw E.ErrPermissionNotGranted;
    this.putRole({ name, perms });
    this.changed();
  }

  // ---- reads --------------------------------------------------------------------------------

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  role(name: string): Role | undefined {
    return this.roles.get(name);
  }

  /** In name order (etcd's bucket order). */
  userList(): string[] {
    return [...this.users.keys()].sort(byName);
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(byName);
  }

  hasRole(user: string, role: string): boolean {
    return this.users.get(user)?.roles.includes(role) ?? false;
  }

  // ---- checks (etcd's isOpPermitted / IsAdminPermitted) ------------------------------------

  /** Refuses `ai` reading (Read) or writing (Write) `key`, or [key, rangeEnd) when rangeEnd is given. */
  checkOp(ai: AuthInfo | undefined, key: Buffer, rangeEnd: Buffer, type: PermType.Read | PermType.Write): void {
    if (!this.on) return;
    if (!ai || ai.revision === 0) throw E.ErrUserEmpty;
    if (ai.revision < this.rev) throw E.ErrAuthOldRevision;
    const u = this.users.get(ai.user);
    if (!u) throw E.ErrPermissionDenied;
    if (u.roles.includes(ROOT_ROLE)) return;
    if (!this.perms.get(ai.user)?.permits(type, key, rangeEnd)) throw E.ErrPermissionDenied;
  }

  /** Refuses `ai` unless it is a user with the root role (or auth is off). */
  checkAdmin(ai: AuthInfo | undefined): void {
    if (!this.on) return;
    if (!ai || ai.user === "") throw E.ErrUserEmpty;
    const u = this.users.get(ai.user);
    if (!u) throw E.ErrUserNotFound;
    if (!u.roles.includes(ROOT_ROLE)) throw E.ErrPermissionDenied;
  }

  /**
   * What the apply checks of a request checked before it was proposed: that the auth state it was
   * checked against is still the current one (so the verdict still holds on every member).
   */
  checkStamp(ai: AuthInfo): void {
    if (!this.on) return;
    if (ai.revision === 0) throw E.ErrUserEmpty;
    if (ai.revision < this.rev) throw E.ErrAuthOldRevision;
  }

  // ---- rows ---------------------------------------------------------------------------------

  private putUser(u: User): void {
    this.users.set(u.name, u);
    const w: WireUser = { name: Buffer.from(u.name), password: Buffer.from(u.password), roles: [...u.roles], options: { no_password: u.noPassword } };
    this.userRows.put(Buffer.from(u.name), userCodec.encode(w));
  }

  private putRole(r: Role): void {
    this.roles.set(r.name, r);
    const w: WireRole = { name: Buffer.from(r.name), keyPermission: r.perms.map((p) => ({ permType: p.permType, key: p.key, range_end: p.rangeEnd })) };
    this.roleRows.put(Buffer.from(r.name), roleCodec.encode(w));
  }

  private changed(): void {
    this.commitRevision();
    this.refreshPerms();
  }

  private commitRevision(): void {
    this.rev += 1;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(this.rev));
    this.meta.put(REVISION_KEY, b);
  }

  private refreshPerms(): void {
    this.perms = new Map();
    for (const u of this.users.values()) this.perms.set(u.name, new UnifiedPerms(u.roles.flatMap((r) => this.roles.get(r)?.perms ?? [])));
  }
}

/** etcd 3.5's isValidPermissionRange: a key, and a range end after it (or "\0", or none). */
function isValidPermissionRange(key: Buffer, rangeEnd: Buffer): boolean {
  if (key.length === 0) return false;
  if (rangeEnd.length === 0) return true;
  if (Buffer.compare(key, rangeEnd) < 0) return true;
  return rangeEnd[0] === 0;
}

export { PermType };
export type { Permission };
