/**
 * Strict checks for the values that end up in shell commands run as root, in env files and in
 * systemd units on hosts: paths, user names, host names, ports. Each check names the field and
 * shows the value (escaped, shortened) in its error, and refuses rather than repairs. Pure.
 *
 * The character sets are deliberately narrow: a value that passes needs no quoting in sh, in an
 * EnvironmentFile= line or in a unit setting (no whitespace, quotes, '$', '`', '\', '%', ';',
 * control characters), so a mistake in some later quoting step still cannot inject anything.
 */
import { TopologyError } from "./errors.js";

/** The value as an error message shows it: JSON-escaped (newlines, NUL visible), at most ~80 characters. */
export function showValue(v: unknown): string {
  const s = typeof v === "string" ? v : String(v);
  const cut = s.length > 80 ? `${s.slice(0, 80)}...` : s;
  return `${JSON.stringify(cut)}${s.length > 80 ? ` (${s.length} characters)` : ""}`;
}

const fail = (field: string, value: unknown, why: string): never => {
  throw new TopologyError(`${field} ${showValue(value)} ${why}`);
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Refuses NUL, newlines and every other control character (they split lines in env and unit files). */
export function checkNoControl(field: string, value: string): string {
  if (CONTROL.test(value)) fail(field, value, "holds a control character (newline, tab, NUL, ...), which no file or command etcdkit writes can carry safely");
  return value;
}

const PATH_SEGMENT = /^[A-Za-z0-9._+-]+$/;
export const MAX_PATH = 1024;

/**
 * An absolute path on a host: '/'-separated segments of letters, digits, '.', '_', '+' and '-',
 * no '.' or '..' segment, no empty segment, not '/' itself. A trailing '/' is dropped.
 */
export function checkHostPath(field: string, value: unknown): string {
  if (typeof value !== "string") return fail(field, value, "must be a string (an absolute path)");
  if (value.length > MAX_PATH) fail(field, value, `is too long: at most ${MAX_PATH} characters`);
  if (!value.startsWith("/")) fail(field, value, "must be an absolute path (starting with '/')");
  const p = value.length > 1 ? value.replace(/\/$/, "") : value;
  if (p === "/") fail(field, value, "must not be the root directory");
  const segments = p.slice(1).split("/");
  for (const s of segments) {
    if (s === "") fail(field, value, "has an empty path segment ('//')");
    if (s === "." || s === "..") fail(field, value, `has a '${s}' segment: give the path without '.' or '..'`);
    if (s.length > 255) fail(field, value, "has a path segment longer than 255 characters");
    if (!PATH_SEGMENT.test(s)) fail(field, value, "may only hold letters, digits, '/', '.', '_', '+' and '-' (no spaces, quotes, '$', '`', ';', '%', '\\' or control characters)");
  }
  return p;
}

/** A Unix user or group name as useradd/groupadd take it by default: [a-z_][a-z0-9_-]*, at most 32. */
export function checkUserName(field: string, value: unknown): string {
  if (typeof value !== "string") return fail(field, value, "must be a string (a user name)");
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(value)) {
    fail(field, value, "is not a valid user name: 1-32 lower-case letters, digits, '_' and '-', starting with a letter or '_'");
  }
  return value;
}

/** The login name ssh uses (may be an existing account with upper case or '.'): [A-Za-z_][A-Za-z0-9._-]*, at most 32. */
export function checkLoginName(field: string, value: unknown): string {
  if (typeof value !== "string") return fail(field, value, "must be a string (a login name)");
  if (!/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/.test(value)) {
    fail(field, value, "is not a valid login name: 1-32 letters, digits, '.', '_' and '-', starting with a letter or '_'");
  }
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.replace(/\.$/, "").split(".");
  return labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/** An IPv4 address or a DNS host name (RFC 1123 labels): what members use in their URLs. */
export function checkMemberAddress(field: string, value: unknown): string {
  if (typeof value !== "string") return fail(field, value, "must be a string (an IPv4 address or a DNS name)");
  if (!IPV4.test(value) && !isHostName(value)) {
    fail(field, value, "is neither an IPv4 address nor a DNS name (letters, digits and '-' in dot-separated labels, not starting or ending with '-')");
  }
  return value;
}

export function checkPortNumber(field: string, value: unknown): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(field, value, "is not a TCP port (an integer 1-65535)");
  return n;
}
