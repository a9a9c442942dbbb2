/**
 * The start-up check of one side's TLS files: everything that would make every handshake fail is refused before
 * anything listens, with the flag, the file and the reason (Go's words where etcd has them). etcd checks less at
 * start (it starts serving, then fails with "listener failed", or only fails handshakes): etcd-ts also refuses an
 * expired certificate and a certificate that --trusted-ca-file / --peer-trusted-ca-file did not sign (README).
 */
import { ConfigError } from "../config/errors.js";
import type { TransportSecurity } from "../config/member-config.js";
import { chainsTo, keyPairOf, parseCertificates, readCrlSerials, readTlsFileSync, TlsFileError, validityProblem, validityText } from "./cert-files.js";

export type Side = "client" | "peer";

/** The flag names of a side's settings. */
export function flagsOf(side: Side): { cert: string; key: string; ca: string; crl: string; cn: string; hostname: string } {
  return side === "client"
    ? { cert: "--cert-file", key: "--key-file", ca: "--trusted-ca-file", crl: "--client-crl-file", cn: "(allowed CN)", hostname: "--client-cert-allowed-hostname" }
    : { cert: "--peer-cert-file", key: "--peer-key-file", ca: "--peer-trusted-ca-file", crl: "--peer-crl-file", cn: "--peer-cert-allowed-cn", hostname: "--peer-cert-allowed-hostname" };
}

/**
 * Checks a side whose certificate will be served or presented. `selfSigned`: an auto-TLS certificate (not expected
 * to chain to the trusted CA, which then only verifies the other side).
 */
export async function checkSideFiles(side: Side, s: TransportSecurity, selfSigned: boolean, now: Date): Promise<void> {
  const f = flagsOf(side);
  if (s.certFile === "" || s.keyFile === "") throw new ConfigError(`KeyFile and CertFile must both be present[key: ${s.keyFile}, cert: ${s.certFile}]`);
  if (s.allowedCn !== "" && s.allowedHostname !== "") {
    throw new ConfigError(`AllowedCN and AllowedHostname are mutually exclusive (cn=${JSON.stringify(s.allowedCn)}, hostname=${JSON.stringify(s.allowedHostname)})`);
  }
  const at = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof TlsFileError) throw new ConfigError(`${what}: ${e.message}`);
      throw e;
    }
  };
  const pairWhere = `${f.cert}=${s.certFile}, ${f.key}=${s.keyFile}`;
  let pair!: ReturnType<typeof keyPairOf>;
  at(pairWhere, () => (pair = keyPairOf(readTlsFileSync(s.certFile), readTlsFileSync(s.keyFile))));
  const leaf = pair.chain[0]!;
  if (validityProblem(leaf, now) === "expired") throw new ConfigError(`${f.cert}=${s.certFile}: ${validityText(leaf, now)}`);
  if (s.trustedCaFile !== "") {
    const caWhere = `${f.ca}=${s.trustedCaFile}`;
    let anchors!: ReturnType<typeof parseCertificates>;
    at(caWhere, () => (anchors = parseCertificates(readTlsFileSync(s.trustedCaFile), "CA")));
    if (!selfSigned && !chainsTo(pair.chain, anchors)) {
      throw new ConfigError(`${f.cert}=${s.certFile}: x509: certificate signed by unknown authority (not signed by a certificate in ${caWhere})`);
    }
  }
  if (s.crlFile !== "") {
    try {
      await readCrlSerials(readTlsFileSync(s.crlFile));
    } catch (e) {
      if (e instanceof TlsFileError) throw new ConfigError(`${f.crl}=${s.crlFile}: ${e.message}`);
      throw e;
    }
  }
}

/** etcd's TLSInfo.String(), as its "starting with ... TLS" lines print it. */
export function tlsInfoText(s: TransportSecurity): string {
  return `cert = ${s.certFile}, key = ${s.keyFile}, trusted-ca = ${s.trustedCaFile}, client-cert-auth = ${s.clientCertAuth}, crl-file = ${s.crlFile}`;
}
