/**
 * An auth file re-pointed at where a target keeps its passwords: the same users, roles and
 * permissions, each user's `passwordEnv`/`passwordFile` replaced by the target's own reference (a
 * Kubernetes Job's variable filled from a Secret key, a systemd credential). The result holds no
 * password either (the kit's stacks synthesize it), and it is checked to parse back to exactly the
 * original's users, roles and permissions. Pure but for reading the original file.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { parseAuthSpec, type AuthSpec, type PasswordRef } from "./auth-file.js";

/**
 * A user name as a key of a Kubernetes Secret or a systemd credential name: letters, digits, `.`,
 * `_`, `-` (Secret keys allow nothing else; a credential name is a file name), not `.` or `..`.
 */
const KEY_NAME = /^[A-Za-z0-9._-]{1,253}$/;

export function checkUserKey(user: string, where: string): string {
  if (!KEY_NAME.test(user) || user === "." || user === "..") {
    throw new Error(`auth file: users.${user}: ${where} keeps each password under the user's name, which may then hold only letters, digits, '.', '_' and '-'`);
  }
  return user;
}

function sameSpec(a: AuthSpec, b: AuthSpec): boolean {
  const perms = (s: AuthSpec) => s.roles.map((r) => [r.name, r.permissions.map((p) => [p.type, p.key.toString("hex"), p.rangeEnd.toString("hex")])]);
  const users = (s: AuthSpec) => s.users.map((u) => [u.name, u.roles]);
  return JSON.stringify([perms(a), users(a)]) === JSON.stringify([perms(b), users(b)]);
}

/**
 * The auth file `spec` was read from, as JSON (which is YAML), with each user's password taken from
 * `ref(user, index)`. The roles are copied as written (a permission's range is re-derived from the
 * same words), so the result parses to the same permissions.
 */
export function retargetAuthFile(spec: AuthSpec, ref: (user: string, index: number) => PasswordRef): string {
  const doc = parseYaml(readFileSync(spec.source, "utf8")) as { users?: Record<string, { roles?: unknown }>; roles?: unknown };
  const users: Record<string, unknown> = {};
  spec.users.forEach((u, i) => {
    const r = ref(u.name, i);
    users[u.name] = { ...("env" in r ? { passwordEnv: r.env } : { passwordFile: r.file }), roles: [...u.roles] };
  });
  const text = `${JSON.stringify({ users, ...(doc.roles !== undefined && doc.roles !== null ? { roles: doc.roles } : {}) }, null, 2)}\n`;
  const back = parseAuthSpec(parseYaml(text), spec.source);
  if (!sameSpec(spec, back)) throw new Error(`auth file ${spec.source}: re-pointing its passwords changed its users or roles`);
  return text;
}
