/**
 * Applies an auth file to a running cluster through etcd's Auth gRPC service (so it works on etcd
 * 3.4 as on etcd-ts): reads every password first (a missing one changes nothing), logs in as root
 * when auth is already on, reads the users and roles, plans (auth-plan.ts), runs the plan one call
 * at a time, and ends with AuthEnable. A re-run plans nothing and says so.
 *
 * Passwords: a user the cluster has is checked by authenticating with the file's password; one that
 * fails is set again. While auth is off nothing can be checked, so existing users get their password
 * set (that only happens when an earlier apply stopped before enabling auth).
 */
import { ROOT, PERM_TYPES, resolvePasswords, type AuthSpec } from "./auth-file.js";
import { planAuth, describeAction, type AuthAction, type AuthPlan, type ClusterAuthState, type ClusterPerm } from "./auth-plan.js";
import { AuthClient, EtcdCallError, ERR_AUTH_FAILED, ERR_AUTH_NOT_ENABLED } from "./auth-client.js";
import { parseEndpoints, type TlsFiles } from "../backup/snapshot-client.js";

export interface ApplyOptions {
  /** Client URLs (or host:port) of the cluster; the first that answers is used. */
  readonly endpoints: readonly string[];
  readonly tls?: TlsFiles;
  /** Delete users, roles, grants and permissions the file does not name. */
  readonly prune?: boolean;
  /** Print the plan, change nothing. */
  readonly dryRun?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
}

export interface ApplyResult {
  readonly plan: AuthPlan;
  /** Calls made (0: the cluster already matched, or a dry run). */
  readonly changed: number;
  readonly endpoint: string;
}

async function connect(opts: ApplyOptions, rootPassword: string): Promise<{ client: AuthClient; enabled: boolean }> {
  const tls = opts.tls ?? {};
  const failures: string[] = [];
  for (const ep of parseEndpoints(opts.endpoints, tls)) {
    const client = new AuthClient(ep, tls, opts.timeoutMs ?? 10_000);
    try {
      await client.login({ user: ROOT, password: rootPassword });
      return { client, enabled: true };
    } catch (e) {
      if (e instanceof EtcdCallError && e.details === ERR_AUTH_NOT_ENABLED) return { client, enabled: false };
      client.close();
      if (e instanceof EtcdCallError && e.details === ERR_AUTH_FAILED) {
        throw new Error(`auth is on at ${ep.url} and the root password from the auth file does not authenticate (${e.details})`);
      }
      failures.push(`${ep.url}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no endpoint answered: ${failures.join("; ")}`);
}

async function readState(c: AuthClient, enabled: boolean): Promise<ClusterAuthState> {
  const users = new Map<string, string[]>();
  const roles = new Map<string, ClusterPerm[]>();
  const ul = await c.call<{ users: string[] }>("UserList", {});
  for (const u of ul.users) users.set(u, (await c.call<{ roles: string[] }>("UserGet", { name: u })).roles);
  const rl = await c.call<{ roles: string[] }>("RoleList", {});
  for (const r of rl.roles) {
    const g = await c.call<{ perm: { permType: number; key: Buffer; range_end: Buffer }[] }>("RoleGet", { role: r });
    roles.set(r, g.perm.map((p) => ({ type: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.range_end) })));
  }
  return { enabled, users, roles };
}

/** Users the cluster has whose file password does not authenticate (all of them while auth is off). */
async function passwordsToSet(c: AuthClient, spec: AuthSpec, cur: ClusterAuthState, passwords: Map<string, string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const u of spec.users) {
    if (!cur.users.has(u.name)) continue;
    if (!cur.enabled) {
      out.add(u.name);
      continue;
    }
    if (u.name === ROOT) continue; // root logged in with it
    try {
      await c.authenticate({ user: u.name, password: passwords.get(u.name)! });
    } catch (e) {
      if (e instanceof EtcdCallError && e.details === ERR_AUTH_FAILED) out.add(u.name);
      else throw e;
    }
  }
  return out;
}

async function run(c: AuthClient, a: AuthAction, passwords: Map<string, string>): Promise<void> {
  switch (a.op) {
    case "roleAdd":
      return void (await c.call("RoleAdd", { name: a.role }));
    case "grantPermission":
      return void (await c.call("RoleGrantPermission", { name: a.role, perm: { permType: PERM_TYPES[a.perm.type], key: a.perm.key, range_end: a.perm.rangeEnd } }));
    case "revokePermission":
      return void (await c.call("RoleRevokePermission", { role: a.role, key: a.perm.key, range_end: a.perm.rangeEnd }));
    case "userAdd":
      return void (await c.call("UserAdd", { name: a.user, password: passwords.get(a.user)! }));
    case "changePassword":
      return void (await c.call("UserChangePassword", { name: a.user, password: passwords.get(a.user)! }));
    case "grantRole":
      return void (await c.call("UserGrantRole", { user: a.user, role: a.role }));
    case "revokeRole":
      return void (await c.call("UserRevokeRole", { name: a.user, role: a.role }));
    case "userDelete":
      return void (await c.call("UserDelete", { name: a.user }));
    case "roleDelete":
      return void (await c.call("RoleDelete", { role: a.role }));
    case "authEnable":
      return void (await c.call("AuthEnable", {}));
  }
}

export async function applyAuth(spec: AuthSpec, opts: ApplyOptions): Promise<ApplyResult> {
  const log = opts.log ?? (() => {});
  const passwords = resolvePasswords(spec, opts.env ?? process.env);
  const { client, enabled } = await connect(opts, passwords.get(ROOT)!);
  try {
    const cur = await readState(client, enabled);
    const plan = planAuth(spec, cur, { prune: opts.prune === true, passwordsToSet: await passwordsToSet(client, spec, cur, passwords) });
    for (const k of plan.kept) log(`keep ${k} (not in the auth file; --prune deletes it)`);
    const tag = opts.dryRun ? "would " : "";
    if (plan.actions.length === 0) {
      log(`auth: nothing to change at ${client.endpoint.url}: users, roles and permissions match ${spec.source}, auth is enabled`);
      return { plan, changed: 0, endpoint: client.endpoint.url };
    }
    let changed = 0;
    for (const a of plan.actions) {
      log(`auth: ${tag}${describeAction(a)}`);
      if (opts.dryRun) continue;
      try {
        await run(client, a, passwords);
      } catch (e) {
        throw new Error(`auth: ${describeAction(a)} failed after ${changed} change${changed === 1 ? "" : "s"}: ${(e as Error).message} (re-run to finish: applying is idempotent)`);
      }
      changed++;
    }
    log(opts.dryRun ? `auth: dry run, ${plan.actions.length} change(s) planned, none made` : `auth: ${changed} change${changed === 1 ? "" : "s"} made at ${client.endpoint.url}`);
    return { plan, changed, endpoint: client.endpoint.url };
  } finally {
    client.close();
  }
}
