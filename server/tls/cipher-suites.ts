/**
 * --cipher-suites: the names etcd 3.4 takes (Go's crypto/tls names, pkg/tlsutil.GetCipherSuite), mapped to the
 * OpenSSL names Node's TLS takes. As in Go, the list applies to TLS 1.2 only: TLS 1.3 keeps its own suites whatever
 * the list says (Go does not let them be configured), so Go's TLS 1.3 names are accepted and change nothing.
 */
import { getCiphers } from "node:tls";

/** Go 1.19's tls.CipherSuites() and tls.InsecureCipherSuites() (the Go etcd 3.4.23 is built with), by OpenSSL name; null: TLS 1.3. */
const GO_TO_OPENSSL: ReadonlyMap<string, string | null> = new Map([
  ["TLS_AES_128_GCM_SHA256", null],
  ["TLS_AES_256_GCM_SHA384", null],
  ["TLS_CHACHA20_POLY1305_SHA256", null],
  ["TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"],
  ["TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"],
  ["TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"],
  ["TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"],
  ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"],
  ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"],
  ["TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"],
  ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"],
  ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"],
  ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"],
  ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"],
  ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"],
  // etcd's legacy spellings (tlsutil.GetCipherSuite)
  ["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"],
  ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"],
  // tls.InsecureCipherSuites()
  ["TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"],
  ["TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"],
  ["TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"],
  ["TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"],
  ["TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"],
  ["TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"],
  ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"],
  ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"],
]);

/** OpenSSL's TLS 1.3 suites, always on (Node's default order). */
const TLS13_SUITES = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

export class CipherSuiteError extends Error {}

/** What Node's secure context is given for a --cipher-suites list: `ciphers`, and the lowest TLS version left usable. */
export interface CipherChoice {
  readonly ciphers: string;
  readonly minVersion: "TLSv1.2" | "TLSv1.3";
}

/**
 * The Node cipher string for etcd's list, or undefined for an empty list (Node's defaults, as Go's). A name Go does
 * not know is refused with etcd's message; a name Go knows that this Node's OpenSSL cannot offer (RC4, 3DES) is
 * refused too, rather than left out quietly.
 */
export function cipherChoice(goNames: readonly string[]): CipherChoice | undefined {
  if (goNames.length === 0) return undefined;
  const available = new Set(getCiphers().map((c) => c.toUpperCase()));
  const tls12: string[] = [];
  for (const name of goNames) {
    const openssl = GO_TO_OPENSSL.get(name);
    if (openssl === undefined) throw new CipherSuiteError(`unexpected TLS cipher suite "${name}"`);
    if (openssl === null) continue;
    if (!available.has(openssl)) throw new CipherSuiteError(`TLS cipher suite "${name}" (OpenSSL ${openssl}) is not available in this Node's OpenSSL`);
    if (!tls12.includes(openssl)) tls12.push(openssl);
  }
  // Only TLS 1.3 names: Go then has no TLS 1.2 suite left, so only TLS 1.3 handshakes succeed.
  if (tls12.length === 0) return { ciphers: TLS13_SUITES, minVersion: "TLSv1.3" };
  return { ciphers: `${TLS13_SUITES}:${tls12.join(":")}`, minVersion: "TLSv1.2" };
}
