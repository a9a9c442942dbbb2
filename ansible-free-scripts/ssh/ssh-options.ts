/**
 * The inventory's ssh fields, checked before ssh or scp sees them: the host (an IPv4/IPv6 literal
 * or a host name / ssh_config alias, never something that could read as an option), and the extra
 * options, which must be options (a stray word would become the destination) from a short list
 * that ssh and scp both take. Options that make ssh run a local command or load code
 * (ProxyCommand, LocalCommand, KnownHostsCommand, PKCS11Provider, ...) are refused here: put them
 * in ~/.ssh/config if you mean them, or use -J for a jump host.
 */
import { isIPv4, isIPv6 } from "node:net";
import { TopologyError, checkNoControl, showValue } from "../../topology/index.js";

const fail = (field: string, value: unknown, why: string): never => {
  throw new TopologyError(`${field} ${showValue(value)} ${why}`);
};

const ALIAS_LABEL = "[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const ALIAS = new RegExp(`^${ALIAS_LABEL}(\\.${ALIAS_LABEL})*$`);

/** Where ssh connects: an IP literal, a DNS name or an ssh_config Host alias (letters, digits, '_', '-', '.'). */
export function checkSshHost(field: string, value: unknown): string {
  if (typeof value !== "string") return fail(field, value, "must be a string (a host name or address)");
  if (value.length > 253 || !(isIPv4(value) || isIPv6(value) || ALIAS.test(value))) {
    fail(field, value, "is not a host name or IP address (letters, digits, '_' and '-' in dot-separated labels, not starting with '-')");
  }
  return value;
}

/** ssh_config keys that run a local command, load a library or replace the remote command. */
const REFUSED_KEYS = new Set(["proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand", "remotecommand", "pkcs11provider", "securitykeyprovider", "proxyusefdpass", "include", "match"]);
const FLAGS = new Set(["-4", "-6", "-C", "-q", "-v", "-vv", "-vvv"]);
const HELP = "use -o Key=Value, -J [user@]host[:port], -F FILE, -4, -6, -C, -q or -v";

/** `shown`: the element as given (e.g. -oKey=Value), for the error message. */
function checkOptionValue(field: string, value: string, shown = value): void {
  const key = /^([A-Za-z][A-Za-z0-9]*)(=| +)[\x21-\x7e]/.exec(value)?.[1];
  if (!key || !/^[\x20-\x7e]+$/.test(value)) fail(field, shown, "is not an ssh_config setting (Key=Value, printable ASCII)");
  if (REFUSED_KEYS.has(key!.toLowerCase())) {
    fail(field, shown, `sets ${key}, which makes ssh run a local command or load code: put it in ~/.ssh/config if you mean it (or use -J for a jump host)`);
  }
}

function checkJump(field: string, value: string, shown = value): void {
  for (const hop of value.split(",")) {
    const m = /^(?:([A-Za-z_][A-Za-z0-9._-]{0,31})@)?(\[[0-9A-Fa-f:.]+\]|[^:@[\]]+)(?::(\d{1,5}))?$/.exec(hop);
    const host = m?.[2]?.replace(/^\[|\]$/g, "");
    if (!m || !host || !(isIPv4(host) || isIPv6(host) || ALIAS.test(host))) fail(field, shown, "is not a jump host list ([user@]host[:port],...)");
  }
}

/** The extra ssh/scp arguments: every element an option, or the value of the option before it. */
export function checkSshOptions(field: string, value: unknown): string[] {
  if (!Array.isArray(value)) return fail(field, value, "must be a list of strings, e.g. [\"-o\", \"StrictHostKeyChecking=accept-new\"]");
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const f = `${field}[${i}]`;
    const v: unknown = value[i];
    if (typeof v !== "string") fail(f, v, "must be a string");
    const s = checkNoControl(f, v as string);
    if (s.length > 1024) fail(f, s, "is too long (at most 1024 characters)");
    if (FLAGS.has(s)) out.push(s);
    else if (s === "-o" || s === "-J" || s === "-F") {
      const next: unknown = value[i + 1];
      if (typeof next !== "string") fail(f, s, "needs a value after it");
      const nv = checkNoControl(`${field}[${i + 1}]`, next as string);
      if (s === "-o") checkOptionValue(`${field}[${i + 1}]`, nv);
      else if (s === "-J") checkJump(`${field}[${i + 1}]`, nv);
      else if (nv.startsWith("-") || nv === "") fail(`${field}[${i + 1}]`, nv, "is not a file name for -F");
      out.push(s, nv);
      i++;
    } else if (s.startsWith("-o") && s.length > 2) {
      checkOptionValue(f, s.slice(2), s);
      out.push(s);
    } else if (s.startsWith("-J") && s.length > 2) {
      checkJump(f, s.slice(2), s);
      out.push(s);
    } else fail(f, s, `is not an ssh option etcdkit passes on: ${HELP}`);
  }
  return out;
}
