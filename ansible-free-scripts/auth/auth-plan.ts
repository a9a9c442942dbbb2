/**
 * What applying an auth file changes (pure): the file against the cluster's current users and roles.
 * Adds what is missing, corrects what differs (a permission's type, a password that no longer
 * authenticates), and removes what the file does not name only with `prune`; otherwise those are
 * reported as kept. Ends with AuthEnable when auth is off. An empty plan means the cluster matches.
 */
import { PERM_TYPES, type AuthSpec, type PermSpec, type PermTypeName } from "./auth-file.js";

/** A permission as the cluster returns it (authpb.Permission). */
export interface ClusterPerm {
  readonly type: number;
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

export interface ClusterAuthState {
  readonly enabled: boolean;
  /** user -> its roles */
  readonly users: ReadonlyMap<string, readonly string[]>;
  /** role -> its permissions */
  readonly roles: ReadonlyMap<string, readonly ClusterPerm[]>;
}

export type AuthAction =
  | { readonly op: "roleAdd"; readonly role: string }
  | { readonly op: "grantPermission"; readonly role: string; readonly perm: PermSpec }
  | { readonly op: "revokePermission"; readonly role: string; readonly perm: ClusterPerm }
  | { readonly op: "userAdd"; readonly user: string }
  | { readonly op: "changePassword"; readonly user: string }
  | { readonly op: "grantRole"; readonly user: string; readonly role: string }
  | { readonly op: "revokeRole"; readonly user: string; readonly role: string }
  | { readonly op: "userDelete"; readonly user: string }
  | { readonly op: "roleDelete"; readonly role: string }
  | { readonly op: "authEnable" };

export interface AuthPlan {
  readonly actions: readonly AuthAction[];
  /** What the cluster has and the file does not name, left alone (no prune). */
  readonly kept: readonly string[];
}

export interface PlanOptions {
  readonly prune?: boolean;
  /** Users in the cluster whose password from the file does not authenticate (or cannot be checked). */
  readonly passwordsToSet?: ReadonlySet<string>;
}

const sameRange = (a: { key: Buffer; rangeEnd: Buffer }, b: { key: Buffer; rangeEnd: Buffer }) => a.key.equals(b.key) && a.rangeEnd.equals(b.rangeEnd);

export function describePerm(p: { type: number | PermTypeName; key: Buffer; rangeEnd: Buffer }): string {
  const t = typeof p.type === "number" ? (Object.keys(PERM_TYPES) as PermTypeName[]).find((k) => PERM_TYPES[k] === p.type) ?? String(p.type) : p.type;
  const range = p.rangeEnd.length === 0 ? "" : p.rangeEnd.equals(Buffer.from([0])) ? " (from key)" : ` to ${JSON.stringify(p.rangeEnd.toString("utf8"))}`;
  return `${t} ${JSON.stringify(p.key.toString("utf8"))}${range}`;
}

function planRoles(spec: AuthSpec, cur: ClusterAuthState, prune: boolean, actions: AuthAction[], kept: string[]): void {
  for (const r of spec.roles) {
    const have = cur.roles.get(r.name);
    if (!have) actions.push({ op: "roleAdd", role: r.name });
    for (const p of r.permissions) {
      const match = have?.find((h) => sameRange(h, p));
      if (!match || match.type !== PERM_TYPES[p.type]) actions.push({ op: "grantPermission", role: r.name, perm: p });
    }
    for (const h of have ?? []) {
      if (r.permissions.some((p) => sameRange(h, p))) continue;
      if (prune) actions.push({ op: "revokePermission", role: r.name, perm: h });
      else kept.push(`permission ${describePerm(h)} of role ${r.name}`);
    }
  }
}

function planUsers(spec: AuthSpec, cur: ClusterAuthState, opts: PlanOptions, actions: AuthAction[], kept: string[]): void {
  for (const u of spec.users) {
    const have = cur.users.get(u.name);
    if (!have) actions.push({ op: "userAdd", user: u.name });
    else if (opts.passwordsToSet?.has(u.name)) actions.push({ op: "changePassword", user: u.name });
    for (const r of u.roles) if (!have?.includes(r)) actions.push({ op: "grantRole", user: u.name, role: r });
    for (const r of have ?? []) {
      if (u.roles.includes(r)) continue;
      if (opts.prune) actions.push({ op: "revokeRole", user: u.name, role: r });
      else kept.push(`role ${r} of user ${u.name}`);
    }
  }
}

export function planAuth(spec: AuthSpec, cur: ClusterAuthState, opts: PlanOptions = {}): AuthPlan {
  const actions: AuthAction[] = [];
  const kept: string[] = [];
  const prune = opts.prune === true;
  planRoles(spec, cur, prune, actions, kept);
  planUsers(spec, cur, opts, actions, kept);
  for (const name of cur.users.keys()) {
    if (spec.users.some((u) => u.name === name)) continue;
    if (prune) actions.push({ op: "userDelete", user: name });
    else kept.push(`user ${name}`);
  }
  for (const name of cur.roles.keys()) {
    if (spec.roles.some((r) => r.name === name)) continue;
    if (prune) actions.push({ op: "roleDelete", role: name });
    else kept.push(`role ${name}`);
  }
  if (!cur.enabled) actions.push({ op: "authEnable" });
  return { actions, kept };
}

export function describeAction(a: AuthAction): string {
  switch (a.op) {
    case "roleAdd":
      return `add role ${a.role}`;
    case "grantPermission":
      return `grant ${describePerm(a.perm)} to role ${a.role}`;
    case "revokePermission":
      return `revoke ${describePerm(a.perm)} from role ${a.role} (--prune)`;
    case "userAdd":
      return `add user ${a.user}`;
    case "changePassword":
      return `set the password of user ${a.user}`;
    case "grantRole":
      return `grant role ${a.role} to user ${a.user}`;
    case "revokeRole":
      return `revoke role ${a.role} from user ${a.user} (--prune)`;
    case "userDelete":
      return `delete user ${a.user} (--prune)`;
    case "roleDelete":
      return `delete role ${a.role} (--prune)`;
    case "authEnable":
      return "enable authentication";
  }
}
