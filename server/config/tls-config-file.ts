/**
 * The TLS keys of etcd 3.4's YAML config file, as flag settings. etcd's file does not take the flag names: it has
 * `client-transport-security` and `peer-transport-security` sections (cert-file, key-file, client-cert-auth,
 * trusted-ca-file, auto-tls) and a `cipher-suites` list. The other TLS settings have no documented key; etcd 3.4
 * still reads them from its Go struct fields `ClientTLSInfo` / `PeerTLSInfo` (matched case-insensitively, as Go's
 * encoding/json does), e.g. `PeerTLSInfo: {AllowedCN: etcd-peer}`, so those are taken too. etcd ignores a flag name
 * used as a key (e.g. `client-crl-file: x`): etcd-ts refuses it, saying where the setting goes, since a security
 * setting silently left out is the worst outcome.
 */
import { ConfigError } from "./errors.js";

type Settings = Array<[flag: string, value: string]>;

const SECTION_KEYS: Readonly<Record<string, { flag: (side: Side) => string; kind: "string" | "bool" }>> = {
  "cert-file": { flag: (s) => (s === "client" ? "cert-file" : "peer-cert-file"), kind: "string" },
  "key-file": { flag: (s) => (s === "client" ? "key-file" : "peer-key-file"), kind: "string" },
  "client-cert-auth": { flag: (s) => (s === "client" ? "client-cert-auth" : "peer-client-cert-auth"), kind: "bool" },
  "trusted-ca-file": { flag: (s) => (s === "client" ? "trusted-ca-file" : "peer-trusted-ca-file"), kind: "string" },
  "auto-tls": { flag: (s) => (s === "client" ? "auto-tls" : "peer-auto-tls"), kind: "bool" },
};

type Side = "client" | "peer";

/** Go struct fields of transport.TLSInfo that etcd 3.4 reads from the file, by lower-cased name, per side. */
const TLSINFO_FIELDS: Readonly<Record<Side, Readonly<Record<string, { flag: string; kind: "string" | "bool" }>>>> = {
  client: {
    crlfile: { flag: "client-crl-file", kind: "string" },
    allowedhostname: { flag: "client-cert-allowed-hostname", kind: "string" },
  },
  peer: {
    crlfile: { flag: "peer-crl-file", kind: "string" },
    allowedcn: { flag: "peer-cert-allowed-cn", kind: "string" },
    allowedhostname: { flag: "peer-cert-allowed-hostname", kind: "string" },
    skipclientsanverify: { flag: "experimental-peer-skip-client-san-verification", kind: "bool" },
  },
};

/** TLSInfo fields that etcd overwrites from the *-transport-security section: set there, or they are lost. */
const OVERWRITTEN = new Set(["certfile", "keyfile", "trustedcafile", "clientcertauth"]);

/** Where a flag name used as a top-level key belongs in etcd's file. */
const FLAT_TLS_KEYS: Readonly<Record<string, string>> = {
  "cert-file": "client-transport-security.cert-file",
  "key-file": "client-transport-security.key-file",
  "client-cert-auth": "client-transport-security.client-cert-auth",
  "trusted-ca-file": "client-transport-security.trusted-ca-file",
  "auto-tls": "client-transport-security.auto-tls",
  "peer-cert-file": "peer-transport-security.cert-file",
  "peer-key-file": "peer-transport-security.key-file",
  "peer-client-cert-auth": "peer-transport-security.client-cert-auth",
  "peer-trusted-ca-file": "peer-transport-security.trusted-ca-file",
  "peer-auto-tls": "peer-transport-security.auto-tls",
  "client-crl-file": "ClientTLSInfo.CRLFile",
  "client-cert-allowed-hostname": "ClientTLSInfo.AllowedHostname",
  "peer-crl-file": "PeerTLSInfo.CRLFile",
  "peer-cert-allowed-cn": "PeerTLSInfo.AllowedCN",
  "peer-cert-allowed-hostname": "PeerTLSInfo.AllowedHostname",
  "experimental-peer-skip-client-san-verification": "PeerTLSInfo.SkipClientSANVerify",
};

/** The flag settings for a top-level TLS key of the file, or undefined when `key` is not about TLS. */
export function tlsConfigFileKey(path: string, key: string, value: unknown): Settings | undefined {
  const fail = (msg: string) => new ConfigError(`config file ${path}: ${msg}`);
  if (key in FLAT_TLS_KEYS) throw fail(`"${key}" is not a key of etcd's config file (etcd ignores it there): use ${FLAT_TLS_KEYS[key]}`);
  if (key === "client-transport-security" || key === "peer-transport-security") return section(fail, key, key.startsWith("client") ? "client" : "peer", value);
  if (key === "cipher-suites") {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw fail(`json: cannot unmarshal ${Array.isArray(value) ? "array" : typeof value} into Go struct field configYAML.cipher-suites of type []string`);
    }
    return [["cipher-suites", value.join(",")]];
  }
  const lower = key.toLowerCase();
  if (lower === "clienttlsinfo" || lower === "peertlsinfo") return tlsInfo(fail, key, lower === "clienttlsinfo" ? "client" : "peer", value);
  return undefined;
}

function section(fail: (m: string) => ConfigError, key: string, side: Side, value: unknown): Settings {
  const out: Settings = [];
  for (const [k, v] of entries(fail, key, value)) {
    const spec = SECTION_KEYS[k];
    if (!spec) throw fail(`unknown key "${key}.${k}" (etcd's section has cert-file, key-file, client-cert-auth, trusted-ca-file, auto-tls)`);
    out.push([spec.flag(side), typed(fail, `securityConfig.${k}`, spec.kind, v)]);
  }
  return out;
}

function tlsInfo(fail: (m: string) => ConfigError, key: string, side: Side, value: unknown): Settings {
  const out: Settings = [];
  const section = side === "client" ? "client-transport-security" : "peer-transport-security";
  for (const [k, v] of entries(fail, key, value)) {
    const lower = k.toLowerCase();
    if (OVERWRITTEN.has(lower)) throw fail(`${key}.${k} is overwritten by ${section} in etcd: set it there`);
    const spec = TLSINFO_FIELDS[side][lower];
    if (!spec) throw fail(`${key}.${k} is not supported by etcd-ts (known: ${Object.keys(TLSINFO_FIELDS[side]).join(", ")}, case-insensitive)`);
    out.push([spec.flag, typed(fail, `TLSInfo.${k}`, spec.kind, v)]);
  }
  return out;
}

function entries(fail: (m: string) => ConfigError, key: string, value: unknown): Array<[string, unknown]> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail(`${key} must be a mapping`);
  return Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
}

/** The value as flag text, with Go's error for a YAML type that does not fit the field. */
function typed(fail: (m: string) => ConfigError, field: string, kind: "string" | "bool", v: unknown): string {
  if (kind === "bool" ? typeof v !== "boolean" : typeof v !== "string") {
    throw fail(`json: cannot unmarshal ${Array.isArray(v) ? "array" : typeof v === "boolean" ? "bool" : typeof v} into Go struct field ${field} of type ${kind}`);
  }
  return String(v);
}
