/**
 * What etcd checks about a connecting side's certificate, after the chain itself (which OpenSSL verifies against
 * the trusted CA): the allowed CN or hostname (transport.TLSInfo.baseConfig's VerifyPeerCertificate), that the
 * certificate's SANs match the address it connects from (checkSAN, on the peer and metrics listeners), and the CRL
 * (checkCRL, the file read again for every connection). Each returns etcd's error text, or undefined.
 */
import type { X509Certificate } from "node:crypto";
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import type { PeerCertificate } from "node:tls";
import { readCrlSerials, readTlsFile, serialKey } from "./cert-files.js";

export interface VerifyPolicy {
  /** A client certificate is asked for and must verify (--client-cert-auth or a trusted CA file). */
  readonly requestCert: boolean;
  readonly allowedCn: string;
  readonly allowedHostname: string;
  /** etcd's checkSAN: the certificate's IP/DNS SANs must match the remote address (peer and metrics listeners). */
  readonly checkSan: boolean;
  readonly crlFile: string;
}

/** The error text etcd logs for a connection whose certificate fails the CN or hostname rule. */
export const CERT_AUTH_FAILED = "client certificate authentication failed";

/** OpenSSL's verification codes as Go's x509 words them (the rest keep OpenSSL's code). */
const VERIFY_TEXT: Readonly<Record<string, string>> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "x509: certificate signed by unknown authority",
  UNABLE_TO_GET_ISSUER_CERT: "x509: certificate signed by unknown authority",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "x509: certificate signed by unknown authority",
  DEPTH_ZERO_SELF_SIGNED_CERT: "x509: certificate signed by unknown authority",
  SELF_SIGNED_CERT_IN_CHAIN: "x509: certificate signed by unknown authority",
  CERT_SIGNATURE_FAILURE: "x509: certificate signed by unknown authority",
  CERT_HAS_EXPIRED: "x509: certificate has expired or is not yet valid",
  CERT_NOT_YET_VALID: "x509: certificate has expired or is not yet valid",
  INVALID_PURPOSE: "x509: certificate specifies an incompatible key usage",
};

/** Go's "tls: failed to verify client certificate: ..." for an OpenSSL verification error code. */
export function chainErrorText(code: string): string {
  return `tls: failed to verify client certificate: ${VERIFY_TEXT[code] ?? `x509: ${code}`}`;
}

/** The CN / hostname rule (etcd: AllowedCN and AllowedHostname are exclusive; config checks that). */
export function allowedNameError(leaf: X509Certificate, policy: VerifyPolicy): string | undefined {
  if (policy.allowedCn !== "" && commonNameOf(leaf) !== policy.allowedCn) return CERT_AUTH_FAILED;
  if (policy.allowedHostname !== "" && !validFor(leaf, policy.allowedHostname)) return CERT_AUTH_FAILED;
  return undefined;
}

/** Is the certificate valid for this host name or address (Go's VerifyHostname: SANs only, no CN fallback)? */
export function validFor(cert: X509Certificate, host: string): boolean {
  if (isIP(host)) return cert.checkIP(host) !== undefined;
  return cert.checkHost(host, { subject: "never" }) !== undefined;
}

export function commonNameOf(cert: X509Certificate): string {
  const line = cert.subject.split("\n").find((l) => l.startsWith("CN="));
  return line ? line.slice(3) : "";
}

/** A certificate's SANs: [IP addresses, DNS names]. */
export function sansOf(cert: X509Certificate): { ips: string[]; dns: string[] } {
  const ips: string[] = [];
  const dnsNames: string[] = [];
  for (const part of (cert.subjectAltName ?? "").split(", ")) {
    if (part.startsWith("IP Address:")) ips.push(part.slice("IP Address:".length));
    else if (part.startsWith("DNS:")) dnsNames.push(part.slice(4));
  }
  return { ips, dns: dnsNames };
}

/**
 * etcd's checkCertSAN: a certificate without IP or DNS SANs passes; otherwise the remote address must be one of its
 * IP SANs, or one of its DNS names must resolve to it (reverse lookup of the address, then forward lookups).
 */
export async function sanError(cert: X509Certificate, remoteHost: string): Promise<string | undefined> {
  const { ips, dns: names } = sansOf(cert);
  if (ips.length === 0 && names.length === 0) return undefined;
  if (ips.length > 0) {
    if (validFor(cert, remoteHost)) return undefined;
    if (names.length === 0) return hostnameErrorText(ips, names, remoteHost);
  }
  const [ok, err] = await hostInDns(remoteHost, names);
  if (ok) return undefined;
  return `tls: ${goQuote(remoteHost)} does not match any of DNSNames [${names.map(goQuote).join(" ")}]${err ? ` (${err})` : ""}`;
}

/** Go's x509.HostnameError text. */
function hostnameErrorText(ips: readonly string[], names: readonly string[], host: string): string {
  const valid = isIP(host) ? ips.join(", ") : names.join(", ");
  if (isIP(host) && ips.length === 0) return `x509: cannot validate certificate for ${host} because it doesn't contain any IP SANs`;
  if (valid === "") return `x509: certificate is not valid for any names, but wanted to match ${host}`;
  return `x509: certificate is valid for ${valid}, not ${host}`;
}

async function hostInDns(host: string, names: readonly string[]): Promise<[boolean, string]> {
  const wildcards = names.filter((n) => n.startsWith("*.")).map((n) => n.slice(1));
  const exact = names.filter((n) => !n.startsWith("*."));
  let err = "";
  try {
    for (let name of await dns.reverse(host)) {
      if (name.endsWith(".")) name = name.slice(0, -1);
      if (wildcards.some((w) => name.endsWith(w)) || exact.includes(name)) return [true, ""];
    }
  } catch (e) {
    err = (e as Error).message;
  }
  for (const name of exact) {
    try {
      const addrs = await dns.lookup(name, { all: true });
      if (addrs.some((a) => a.address === host)) return [true, ""];
    } catch (e) {
      err = (e as Error).message;
    }
  }
  return [false, err];
}

/**
 * etcd's checkCRL: every certificate the peer presented (the leaf and the chain above it) is looked up by serial in
 * the CRL file, read now. A CRL that cannot be read rejects the connection, as in etcd.
 */
export async function crlError(crlFile: string, presented: PeerCertificate): Promise<string | undefined> {
  let revoked: Set<string>;
  try {
    revoked = await readCrlSerials(await readTlsFile(crlFile));
  } catch (e) {
    return (e as Error).message;
  }
  const seen = new Set<PeerCertificate>();
  for (let c: PeerCertificate | undefined = presented; c && !seen.has(c); c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate) {
    seen.add(c);
    const serial = serialKey(c.serialNumber ?? "");
    // Go prints the serial's bytes with %x: lower-case, whole bytes
    if (serial !== "" && revoked.has(serial)) return `transport: certificate serial ${serial.length % 2 ? "0" + serial : serial} revoked`;
  }
  return undefined;
}

/** Go's %q for a plain string. */
function goQuote(s: string): string {
  return JSON.stringify(s);
}
