/**
 * Reading and checking certificate, key, CA and CRL files. The reasons are Go's (tls.X509KeyPair, os.Open,
 * x509), the words etcd prints for the same file; the caller names the flag and the file.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** A TLS file that cannot be used; `message` is Go's reason. */
export class TlsFileError extends Error {}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Go's *PathError text for a failed read. */
export function readErrorText(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
    ENOTDIR: "not a directory",
    ELOOP: "too many levels of symbolic links",
  };
  const op = code === "EISDIR" ? "read" : "open";
  return `${op} ${path}: ${why[code ?? ""] ?? (e as Error).message}`;
}

export function readTlsFileSync(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsFileError(readErrorText(path, e));
  }
}

export async function readTlsFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new TlsFileError(readErrorText(path, e));
  }
}

function blocks(pem: Buffer): Array<{ label: string; text: string }> {
  return [...pem.toString("latin1").matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
}

/** The certificates of a PEM bundle, in file order (a cert file: the leaf first, then intermediates). */
export function parseCertificates(pem: Buffer, what: "certificate" | "CA"): X509Certificate[] {
  const found = blocks(pem);
  const certs = found.filter((b) => b.label === "CERTIFICATE");
  if (certs.length === 0) {
    if (what === "certificate" && found.some((b) => b.label.endsWith("PRIVATE KEY"))) {
      throw new TlsFileError("tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched");
    }
    throw new TlsFileError(what === "certificate" ? "tls: failed to find any PEM data in certificate input" : "no certificate found in the file (PEM blocks labelled CERTIFICATE)");
  }
  return certs.map((b) => {
    try {
      return new X509Certificate(b.text);
    } catch (e) {
      throw new TlsFileError(`x509: malformed certificate (${(e as Error).message})`);
    }
  });
}

function parseKey(pem: Buffer): KeyObject {
  const found = blocks(pem);
  const key = found.find((b) => b.label === "PRIVATE KEY" || b.label.endsWith(" PRIVATE KEY"));
  if (!key) {
    if (found.some((b) => b.label === "CERTIFICATE")) throw new TlsFileError("tls: found a certificate rather than a key in the PEM for the private key");
    throw new TlsFileError("tls: failed to find any PEM data in key input");
  }
  try {
    return createPrivateKey(key.text);
  } catch {
    throw new TlsFileError("tls: failed to parse private key");
  }
}

/** A certificate chain and its key, read and matched. */
export interface KeyPair {
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  readonly chain: readonly X509Certificate[];
}

/** tls.X509KeyPair on the two files' bytes: both parse and the key is the leaf's. */
export function keyPairOf(certPem: Buffer, keyPem: Buffer): KeyPair {
  const chain = parseCertificates(certPem, "certificate");
  const key = parseKey(keyPem);
  if (!chain[0]!.checkPrivateKey(key)) throw new TlsFileError("tls: private key does not match public key");
  return { certPem, keyPem, chain };
}

/** Go's x509.CertificateInvalidError text for a certificate outside its validity, or undefined. */
export function validityProblem(cert: X509Certificate, now: Date): "expired" | "not yet valid" | undefined {
  if (now.getTime() > new Date(cert.validTo).getTime()) return "expired";
  if (now.getTime() < new Date(cert.validFrom).getTime()) return "not yet valid";
  return undefined;
}

export function validityText(cert: X509Certificate, now: Date): string {
  const after = now.getTime() > new Date(cert.validTo).getTime();
  const bound = new Date(after ? cert.validTo : cert.validFrom).toISOString().replace(/\.\d{3}Z$/, "Z");
  return `x509: certificate has expired or is not yet valid: current time ${now.toISOString().replace(/\.\d{3}Z$/, "Z")} is ${after ? "after" : "before"} ${bound}`;
}

/**
 * Whether `chain` (leaf first, then the intermediates its file carries) leads to one of `anchors`: each link is
 * issued by the next (name and signature), and the last is issued by an anchor (or is one).
 */
export function chainsTo(chain: readonly X509Certificate[], anchors: readonly X509Certificate[]): boolean {
  const issuedBy = (c: X509Certificate, i: X509Certificate) => c.checkIssued(i) && c.verify(i.publicKey);
  let cert = chain[0]!;
  const pool = [...chain.slice(1)];
  for (let depth = 0; depth < 10; depth++) {
    if (anchors.some((a) => a.raw.equals(cert.raw) || issuedBy(cert, a))) return true;
    const next = pool.findIndex((i) => issuedBy(cert, i));
    if (next < 0) return false;
    cert = pool.splice(next, 1)[0]!;
  }
  return false;
}

/**
 * The serials a CRL file lists (lower-case hex), or Go's parse error text. The X.509 library is loaded on first use
 * only: most members have no CRL, and loading it costs start-up time.
 */
export async function readCrlSerials(data: Buffer): Promise<Set<string>> {
  const { crlSerials } = await import("./x509-issue.js");
  try {
    return new Set(crlSerials(data));
  } catch (e) {
    throw new TlsFileError(`x509: malformed crl (${(e as Error).message})`);
  }
}

/** A certificate's serial as the CRL check compares it (lower-case hex, no leading zeros). */
export function serialKey(serialHex: string): string {
  return serialHex.toLowerCase().replace(/^0+/, "");
}
