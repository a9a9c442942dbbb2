/**
 * A PKI for test clusters: one CA, a server and a peer certificate per member, client certificates per user
 * (layout.ts). Certificates are made by server/tls/x509-issue.ts (@peculiar/x509), ECDSA P-256.
 *
 * Re-running is safe: an existing CA is kept (a new one only with `newCa`), and an existing leaf is kept while it
 * still fits: its key matches, the current CA signed it, it is valid for more than RENEW_BEFORE_DAYS, its CN is the
 * member's or user's and its SANs cover the ones asked for. Anything else is issued again ("renewed").
 */
import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { isIP } from "node:net";
import { chainsTo, keyPairOf, validityProblem } from "../server/tls/cert-files.js";
import { commonNameOf, sansOf } from "../server/tls/verify-policy.js";
import { issueCertificate, type CertificateSpec, type KeyPairPem } from "../server/tls/x509-issue.js";
import { caPaths, clientPaths, peerPaths, serverPaths, type LeafPaths } from "./layout.js";

export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_LEAF_DAYS = 365;
/** A leaf valid for less than this is renewed on the next run. */
export const RENEW_BEFORE_DAYS = 30;

export interface PkiMember {
  readonly name: string;
  /** Subject alternative names (host names and addresses); 127.0.0.1 and localhost are always added. */
  readonly hosts: readonly string[];
}

export interface PkiOptions {
  readonly dir: string;
  readonly members: readonly PkiMember[];
  /** Client certificate users; "root" is always made. */
  readonly clients?: readonly string[];
  /** Replace the CA (and so every certificate). */
  readonly newCa?: boolean;
  /** Issue every leaf again, even those that still fit. */
  readonly renew?: boolean;
  readonly caDays?: number;
  readonly leafDays?: number;
  readonly now?: Date;
}

export type FileAction = "created" | "kept" | "renewed";

export interface PkiResult {
  readonly dir: string;
  readonly entries: ReadonlyArray<{ readonly what: string; readonly cert: string; readonly key: string; readonly action: FileAction }>;
}

export class PkiError extends Error {}

const NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;
const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ALWAYS = ["127.0.0.1", "localhost"];

export async function ensurePki(opts: PkiOptions): Promise<PkiResult> {
  const now = opts.now ?? new Date();
  const clients = [...new Set(["root", ...(opts.clients ?? [])])];
  for (const m of opts.members) checkName("member name", m.name);
  for (const c of clients) checkName("client user name", c);
  if (new Set(opts.members.map((m) => m.name)).size !== opts.members.length) throw new PkiError("a member name is given twice");
  privateDir(opts.dir);
  const entries: Array<PkiResult["entries"][number]> = [];
  const ca = await ensureCa(opts, now, entries);
  const days = opts.leafDays ?? DEFAULT_LEAF_DAYS;
  const leaf = (cn: string, hosts: readonly string[], server: boolean): CertificateSpec => ({
    commonName: cn,
    notBefore: now,
    notAfter: addDays(now, days),
    isCa: false,
    serverAuth: server,
    clientAuth: true,
    hosts,
    curve: "P-256",
  });
  for (const m of opts.members) {
    const hosts = [...new Set([...m.hosts.map((h) => checkHost(m.name, h)), ...ALWAYS])];
    entries.push({ what: `member ${m.name} server`, ...(await ensureLeaf(serverPaths(opts.dir, m.name), leaf(m.name, hosts, true), ca, opts, now)) });
    entries.push({ what: `member ${m.name} peer`, ...(await ensureLeaf(peerPaths(opts.dir, m.name), leaf(m.name, hosts, true), ca, opts, now)) });
  }
  // Client certificates carry no SANs: etcd checks none on the client port, and a SAN would tie the certificate to an address.
  for (const c of clients) entries.push({ what: `client ${c}`, ...(await ensureLeaf(clientPaths(opts.dir, c), leaf(c, [], false), ca, opts, now)) });
  return { dir: opts.dir, entries };
}

async function ensureCa(opts: PkiOptions, now: Date, entries: Array<PkiResult["entries"][number]>): Promise<KeyPairPem> {
  const p = caPaths(opts.dir);
  const exists = existsSync(p.cert) || existsSync(p.key);
  if (exists && !opts.newCa) {
    let pair: KeyPairPem;
    try {
      const certPem = readFileSync(p.cert);
      const keyPem = readFileSync(p.key);
      const checked = keyPairOf(certPem, keyPem);
      if (validityProblem(checked.chain[0]!, now)) throw new Error(`it is ${validityProblem(checked.chain[0]!, now)}`);
      pair = { certPem: certPem.toString(), keyPem: keyPem.toString() };
    } catch (e) {
      throw new PkiError(`the CA in ${opts.dir} cannot be used (${(e as Error).message}); run with --new-ca to replace it (every certificate is then issued again)`);
    }
    entries.push({ what: "CA", cert: p.cert, key: p.key, action: "kept" });
    return pair;
  }
  const issued = await issueCertificate({
    commonName: "etcdkit CA",
    organization: "etcdkit",
    notBefore: now,
    notAfter: addDays(now, opts.caDays ?? DEFAULT_CA_DAYS),
    isCa: true,
    serverAuth: false,
    clientAuth: false,
    hosts: [],
    curve: "P-256",
  });
  writePair(p, issued);
  entries.push({ what: "CA", cert: p.cert, key: p.key, action: exists ? "renewed" : "created" });
  return issued;
}

async function ensureLeaf(p: LeafPaths, spec: CertificateSpec, ca: KeyPairPem, opts: PkiOptions, now: Date): Promise<{ cert: string; key: string; action: FileAction }> {
  const exists = existsSync(p.cert) && existsSync(p.key);
  if (exists && !opts.renew && !opts.newCa && stillFits(p, spec, ca, now)) return { ...p, action: "kept" };
  writePair(p, await issueCertificate(spec, ca));
  return { ...p, action: exists ? "renewed" : "created" };
}

function stillFits(p: LeafPaths, spec: CertificateSpec, ca: KeyPairPem, now: Date): boolean {
  try {
    const { chain } = keyPairOf(readFileSync(p.cert), readFileSync(p.key));
    const leaf = chain[0]!;
    if (!chainsTo(chain, [new X509Certificate(ca.certPem)])) return false;
    if (validityProblem(leaf, addDays(now, RENEW_BEFORE_DAYS))) return false;
    if (commonNameOf(leaf) !== (spec.commonName ?? "")) return false;
    const { ips, dns } = sansOf(leaf);
    const have = new Set([...ips.map(normalIp), ...dns.map((d) => d.toLowerCase())]);
    return spec.hosts.every((h) => have.has(isIP(h) ? normalIp(h) : h.toLowerCase()));
  } catch {
    return false;
  }
}

/** An address in one spelling: IPv6 as 8 groups of lower-case hex without leading zeros (Node prints SANs expanded). */
function normalIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.split("::");
  const groups = (x: string | undefined) => (x ? x.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const all = ip.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  return all.map((g) => parseInt(g, 16).toString(16)).join(":");
}

function writePair(p: LeafPaths, pair: KeyPairPem): void {
  privateDir(dirname(p.cert));
  privateDir(dirname(p.key));
  atomicWrite(p.key, pair.keyPem, 0o600);
  atomicWrite(p.cert, pair.certPem, 0o644);
}

function atomicWrite(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode, flag: "w" });
  chmodSync(tmp, mode); // an existing tmp file keeps its mode; the umask may have narrowed a new one
  renameSync(tmp, path);
}

function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function checkName(what: string, name: string): void {
  if (!NAME.test(name) || name.includes("..")) throw new PkiError(`${what} "${name}" is not usable as a file name: use 1-64 letters, digits, '.', '_' and '-'`);
}

function checkHost(member: string, h: string): string {
  const bare = h.replace(/^\[|\]$/g, "");
  if (isIP(bare) || DNS_NAME.test(bare)) return bare;
  throw new PkiError(`host "${h}" of member ${member} is neither an address nor a DNS name`);
}

function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * 24 * 3600_000);
}
