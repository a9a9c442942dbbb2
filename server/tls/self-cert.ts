/**
 * --auto-tls / --peer-auto-tls: etcd's transport.SelfCert. The certificate and key live in
 * `<data-dir>/fixtures/client` or `<data-dir>/fixtures/peer` as cert.pem and key.pem; when both exist they are used
 * as they are (a restart keeps its certificate), otherwise a new pair is made: ECDSA P-521, 128-bit random serial,
 * subject O=etcd, valid from now for 365 days, key usages digitalSignature + keyEncipherment, extended key usage
 * serverAuth, self-signed, one SAN per listen URL host (an address as an IP SAN, a name as a DNS SAN).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { touchPrivateDirAll, PRIVATE_FILE_MODE, type ModeLogger } from "../util/file-modes.js";

export const SELF_CERT_VALIDITY_DAYS = 365;

export interface SelfCertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** A pair was made now (false: an existing one is reused). */
  readonly created: boolean;
}

export function fixturesDir(dataDir: string, side: "client" | "peer"): string {
  return join(dataDir, "fixtures", side);
}

/** The hosts of listen URLs, as SelfCert takes them (brackets of IPv6 literals removed). */
export function selfCertHosts(listenUrls: readonly string[]): string[] {
  return [...new Set(listenUrls.map((u) => new URL(u).hostname.replace(/^\[|\]$/g, "")))];
}

export async function selfCert(dir: string, hosts: readonly string[], logger?: ModeLogger & { info(msg: string, fields?: Record<string, unknown>): void }, now = new Date()): Promise<SelfCertFiles> {
  touchPrivateDirAll(dir, logger);
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, created: false };
  // the X.509 library only when a certificate is made (it costs start-up time)
  const { issueCertificate } = await import("./x509-issue.js");
  const issued = await issueCertificate({
    organization: "etcd",
    notBefore: now,
    notAfter: new Date(now.getTime() + SELF_CERT_VALIDITY_DAYS * 24 * 3600_000),
    isCa: false,
    serverAuth: true,
    clientAuth: false,
    hosts,
    curve: "P-521",
  });
  writeFileSync(certFile, issued.certPem, { mode: 0o644 });
  logger?.info("created cert file", { path: certFile });
  writeFileSync(keyFile, issued.keyPem, { mode: PRIVATE_FILE_MODE });
  logger?.info("created key file", { path: keyFile });
  return { certFile, keyFile, created: true };
}
