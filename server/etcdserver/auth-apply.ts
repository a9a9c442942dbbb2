/**
 * What an applied Auth entry does (etcd's applierV3backend Auth* and the auth store's changes), and
 * the check every stamped request gets at apply. Both depend only on the replicated auth state, so
 * every member reaches the same result; the one effect outside it is a simple token registered with
 * this member's token provider (tokens are per member, as etcd's).
 */
import { AuthOp, type AuthRequest } from "../pb/auth-entry.js";
import { ProposalKind, type AuthStamp, type EntryRequest } from "../pb/raft-entry.js";
import type { AuthStore } from "../auth/auth-store.js";
import { ErrAuthFailed, ErrAuthNotEnabled } from "../auth/errors.js";

export interface AuthApplyResult {
  /** The auth revision after the change (for Authenticate: the one the token is issued at). */
  readonly authRevision: number;
  /** Authenticate: the user and the simple token `prefix.index` (when the prefix was given). */
  readonly user?: string;
  readonly simpleToken?: string;
}

/** This member's token provider, as the apply sees it. */
export interface AppliedTokens {
  /** An Authenticate with a simple-token prefix was applied: `token` now stands for `user` here. */
  assignSimple(user: string, token: string): void;
}

export function applyAuth(store: AuthStore, r: AuthRequest, index: number, tokens: AppliedTokens | undefined): AuthApplyResult {
  switch (r.op) {
    case AuthOp.Enable:
      store.enable();
      break;
    case AuthOp.Disable:
      store.disable();
      break;
    case AuthOp.Authenticate:
      return authenticate(store, r.req.name, r.req.simple_token, index, tokens);
    case AuthOp.UserAdd:
      store.userAdd(r.req.name, r.req.hashedPassword, !!r.req.options?.no_password);
      break;
    case AuthOp.UserDelete:
      store.userDelete(r.req.name);
      break;
    case AuthOp.UserChangePassword:
      store.userChangePassword(r.req.name, r.req.hashedPassword);
      break;
    case AuthOp.UserGrantRole:
      store.userGrantRole(r.req.user, r.req.role);
      break;
    case AuthOp.UserRevokeRole:
      store.userRevokeRole(r.req.name, r.req.role);
      break;
    case AuthOp.RoleAdd:
      store.roleAdd(r.req.name);
      break;
    case AuthOp.RoleDelete:
      store.roleDelete(r.req.role);
      break;
    case AuthOp.RoleGrantPermission: {
      const p = r.req.perm;
      store.roleGrantPermission(r.req.name, p ? { permType: p.permType, key: p.key, rangeEnd: p.range_end } : undefined);
      break;
    }
    case AuthOp.RoleRevokePermission:
      store.roleRevokePermission(r.req.role, r.req.key, r.req.range_end);
      break;
  }
  return { authRevision: store.revision };
}

/** etcd's authStore.Authenticate at apply: the password was checked by the proposing member. */
function authenticate(store: AuthStore, name: string, prefix: string, index: number, tokens: AppliedTokens | undefined): AuthApplyResult {
  if (!store.enabled) throw ErrAuthNotEnabled;
  const u = store.user(name);
  if (!u || u.noPassword) throw ErrAuthFailed;
  if (prefix === "") return { authRevision: store.revision, user: name };
  const simpleToken = `${prefix}.${index}`;
  tokens?.assignSimple(name, simpleToken);
  return { authRevision: store.revision, user: name, simpleToken };
}

/**
 * The apply-time check of a request (etcd's authApplierV3): an auth change needs a root user at
 * apply (needAdminPermission; no revision check, as etcd's IsAdminPermitted); any other stamped
 * request was checked at `stamp.revision`, which must still be current. Unstamped requests are the
 * member's own (lease expiry, auto compaction).
 */
export function checkAtApply(store: AuthStore | undefined, r: EntryRequest, stamp: AuthStamp | undefined): void {
  if (!store) return;
  if (r.kind === ProposalKind.Auth) {
    if (r.auth.op !== AuthOp.Authenticate) store.checkAdmin(stamp);
    return;
  }
  if (stamp) store.checkStamp(stamp);
}
