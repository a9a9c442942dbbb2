/**
 * The auth bootstrap file (schema: ansible-free-scripts/auth/README.md): users, roles, permissions and
 * role grants, in YAML (JSON is YAML). Parsing is pure and strict: an unknown key, a clear-text
 * `password`, a user without exactly one of `passwordEnv`/`passwordFile`, or a missing root user with
 * the root role is an error naming the field. Passwords stay references until `resolvePassword` reads
 * them on the machine that applies the file, so nothing that only parses the file (a stack's synth,
 * a rendered unit) ever holds one.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { prefixEnd } from "../../server/util/prefix-end.js";

export const ROOT = "root";

/** etcd's authpb.Permission_Type values. */
export const PERM_TYPES = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermTypeName = keyof typeof PERM_TYPES;

export type PasswordRef = { readonly env: string } | { readonly file: string };

export interface UserSpec {
  readonly name: string;
  readonly password: PasswordRef;
  readonly roles: readonly string[];
}

/** A permission as etcd stores it: key, range end (empty: the key alone), type. */
export interface PermSpec {
  readonly type: PermTypeName;
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

export interface RoleSpec {
  readonly name: string;
  readonly permissions: readonly PermSpec[];
}

export interface AuthSpec {
  /** Where the file was read from (password files are relative to its folder). */
  readonly source: string;
  readonly users: readonly UserSpec[];
  readonly roles: readonly RoleSpec[];
}

type Obj = Record<string, unknown>;

const NAME = /^[^\s\u0000-\u001f\u007f]{1,255}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

function fail(field: string, msg: string): never {
  throw new Error(`auth file: ${field}: ${msg}`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Obj, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (k === "password") fail(`${field}.password`, "passwords are never written in the file: use passwordEnv (a variable name) or passwordFile (a path)");
    if (!allowed.includes(k)) fail(`${field}.${k}`, `unknown key (allowed: ${allowed.join(", ")})`);
  }
}

function name(v: unknown, field: string): string {
  if (typeof v !== "string" || !NAME.test(v)) fail(field, `a name of 1-255 characters without blanks or control characters, got ${JSON.stringify(v)}`);
  return v;
}

export { prefixEnd } from "../../server/util/prefix-end.js";

function permission(v: unknown, field: string): PermSpec {
  if (!isObj(v)) fail(field, "a mapping with key, type and at most one of prefix, rangeEnd, fromKey");
  onlyKeys(v, field, ["key", "type", "prefix", "rangeEnd", "fromKey"]);
  if (typeof v.key !== "string" || v.key.length === 0) fail(`${field}.key`, "a non-empty string");
  const t = typeof v.type === "string" ? v.type.toUpperCase() : "";
  if (!(t in PERM_TYPES)) fail(`${field}.type`, `READ, WRITE or READWRITE, got ${JSON.stringify(v.type)}`);
  for (const b of ["prefix", "fromKey"] as const) if (v[b] !== undefined && typeof v[b] !== "boolean") fail(`${field}.${b}`, "true or false");
  const ranges = [v.prefix === true, v.rangeEnd !== undefined, v.fromKey === true].filter(Boolean).length;
  if (ranges > 1) fail(field, "at most one of prefix, rangeEnd, fromKey");
  const key = Buffer.from(v.key);
  let rangeEnd: Buffer = Buffer.alloc(0);
  if (v.prefix === true) rangeEnd = prefixEnd(key);
  else if (v.fromKey === true) rangeEnd = Buffer.from([0]);
  else if (v.rangeEnd !== undefined) {
    if (typeof v.rangeEnd !== "string" || v.rangeEnd.length === 0) fail(`${field}.rangeEnd`, "a non-empty string");
    rangeEnd = Buffer.from(v.rangeEnd);
    if (Buffer.compare(rangeEnd, key) <= 0) fail(`${field}.rangeEnd`, `must sort after key ${JSON.stringify(v.key)} (etcd refuses it as an invalid auth management)`);
  }
  return { type: t as PermTypeName, key, rangeEnd };
}

function passwordRef(u: Obj, field: string): PasswordRef {
  const hasEnv = u.passwordEnv !== undefined;
  const hasFile = u.passwordFile !== undefined;
  if (hasEnv === hasFile) fail(field, "exactly one of passwordEnv (an environment variable's name) or passwordFile (a path)");
  if (hasEnv) {
    if (typeof u.passwordEnv !== "string" || !ENV_NAME.test(u.passwordEnv)) fail(`${field}.passwordEnv`, `an environment variable name, got ${JSON.stringify(u.passwordEnv)}`);
    return { env: u.passwordEnv };
  }
  if (typeof u.passwordFile !== "string" || u.passwordFile.length === 0 || /[\u0000-\u001f]/.test(u.passwordFile)) fail(`${field}.passwordFile`, "a path");
  return { file: u.passwordFile };
}

function namedMap(v: unknown, field: string): [string, unknown][] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) fail(field, "a mapping of names to entries");
  return Object.entries(v);
}

/** Checks a parsed document; `source` is the file's path (password files are relative to its folder). */
export function parseAuthSpec(doc: unknown, source: string): AuthSpec {
  if (!isObj(doc)) fail("(top)", "a mapping with users and roles");
  onlyKeys(doc, "(top)", ["users", "roles"]);
  const roles: RoleSpec[] = namedMap(doc.roles, "roles").map(([n, r]) => {
    const field = `roles.${n}`;
    name(n, field);
    if (r !== null && r !== undefined && !isObj(r)) fail(field, "a mapping (permissions)");
    const o = (r ?? {}) as Obj;
    onlyKeys(o, field, ["permissions"]);
    if (o.permissions !== undefined && !Array.isArray(o.permissions)) fail(`${field}.permissions`, "a list");
    const permissions = ((o.permissions as unknown[] | undefined) ?? []).map((p, i) => permission(p, `${field}.permissions[${i}]`));
    if (n === ROOT && permissions.length > 0) fail(field, "the root role holds every permission already; give it none");
    return { name: n, permissions };
  });
  const roleNames = new Set([...roles.map((r) => r.name), ROOT]);
  const users: UserSpec[] = namedMap(doc.users, "users").map(([n, u]) => {
    const field = `users.${n}`;
    name(n, field);
    if (!isObj(u)) fail(field, "a mapping with passwordEnv or passwordFile, and roles");
    onlyKeys(u, field, ["passwordEnv", "passwordFile", "roles"]);
    const password = passwordRef(u, field);
    if (u.roles !== undefined && !Array.isArray(u.roles)) fail(`${field}.roles`, "a list of role names");
    const userRoles = ((u.roles as unknown[] | undefined) ?? []).map((r, i) => name(r, `${field}.roles[${i}]`));
    for (const r of userRoles) if (!roleNames.has(r)) fail(`${field}.roles`, `role "${r}" is not defined under roles`);
    return { name: n, password, roles: [...new Set(userRoles)] };
  });
  const root = users.find((u) => u.name === ROOT);
  if (!root || !root.roles.includes(ROOT)) fail("users.root", "etcd enables auth only with a root user holding the root role: add users.root with roles: [root]");
  // the root role exists implicitly once root holds it; make it explicit for the plan
  if (!roles.some((r) => r.name === ROOT)) roles.unshift({ name: ROOT, permissions: [] });
  return { source, users, roles };
}

export function loadAuthFile(path: string): AuthSpec {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`auth file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`auth file ${path}: not YAML or JSON: ${(e as Error).message}`);
  }
  return parseAuthSpec(doc, file);
}

/** Where a password file is: absolute, or relative to the auth file's folder. */
export function passwordFilePath(spec: AuthSpec, ref: { file: string }): string {
  return isAbsolute(ref.file) ? ref.file : resolve(dirname(spec.source), ref.file);
}

/** Reads a user's password on this machine: the variable's value, or the file's text less one trailing newline. */
export function resolvePassword(spec: AuthSpec, user: UserSpec, env: NodeJS.ProcessEnv = process.env): string {
  let pw: string;
  if ("env" in user.password) {
    const v = env[user.password.env];
    if (v === undefined) throw new Error(`auth file: users.${user.name}: environment variable ${user.password.env} is not set`);
    pw = v;
  } else {
    const f = passwordFilePath(spec, user.password);
    try {
      pw = readFileSync(f, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new Error(`auth file: users.${user.name}: cannot read password file ${f} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  if (pw.length === 0) throw new Error(`auth file: users.${user.name}: the password is empty`);
  return pw;
}

/** Every password of the file, read now (so a missing one stops the apply before any change). */
export function resolvePasswords(spec: AuthSpec, env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  return new Map(spec.users.map((u) => [u.name, resolvePassword(spec, u, env)]));
}
