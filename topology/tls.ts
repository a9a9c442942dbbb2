/**
 * TLS in the topology model. Every deployment is TLS unless `insecure` is set: https:// client and
 * peer URLs, each member with its server and peer certificate from `etcdkit pki` (pki/layout.ts),
 * client certificates required on both ports (--client-cert-auth, --peer-client-cert-auth), and
 * clients on the deploying machine using the PKI's root client certificate.
 *
 * Where a member finds its files depends on the target (pure: only paths, nothing is read):
 *  - local: the PKI directory itself (the members run on the deploying machine);
 *  - docker, hosts, kubernetes: `<memberPkiDir>/<member>/` (default /etc/etcdkit/pki), holding
 *    ca.crt, server.crt, server.key, peer.crt, peer.key, copied or mounted there from the PKI.
 *    One folder per member, because several members may share a host.
 */
import { join } from "node:path";
import { NO_TRANSPORT_SECURITY, type TransportSecurity } from "../server/config/member-config.js";
import { caPaths, clientPaths, peerPaths, serverPaths } from "../pki/layout.js";
import { checkHostPath, checkNoControl } from "./safe-values.js";

export const DEFAULT_MEMBER_PKI_DIR = "/etc/etcdkit/pki";

/** The five files a member needs, as the member sees them. */
export interface MemberTlsPaths {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly peerCert: string;
  readonly peerKey: string;
}

/** One file to put in place: from the PKI on the deploying machine to the member's path; keys are private. */
export interface TlsFile {
  readonly source: string;
  readonly target: string;
  readonly private: boolean;
}

export interface MemberTls {
  readonly paths: MemberTlsPaths;
  /** What to copy, mount or put in a Secret (empty for the local target: the member reads the PKI in place). */
  readonly files: readonly TlsFile[];
}

/** What a client on the deploying machine uses (etcdctl --cacert/--cert/--key). */
export interface ClientTls {
  readonly pkiDir: string;
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export function scheme(insecure: boolean): "http" | "https" {
  return insecure ? "http" : "https";
}

/** The deploying machine's PKI directory of a stack (etcdkit pki's default). */
export function defaultPkiDir(stackName: string): string {
  return join(".etcdkit", "pki", stackName);
}

export function clientTlsOf(pkiDir: string): ClientTls {
  const root = clientPaths(pkiDir, "root");
  return { pkiDir, ca: caPaths(pkiDir).cert, cert: root.cert, key: root.key };
}

/** A member's files: in place for local, else under `<memberPkiDir>/<name>/`. */
export function memberTlsOf(target: string, pkiDir: string, memberPkiDir: string, name: string): MemberTls {
  const s = serverPaths(pkiDir, name);
  const p = peerPaths(pkiDir, name);
  const ca = caPaths(pkiDir).cert;
  if (target === "local") {
    checkNoControl("PKI directory", pkiDir);
    return { paths: { ca, cert: s.cert, key: s.key, peerCert: p.cert, peerKey: p.key }, files: [] };
  }
  const dir = `${checkHostPath("member PKI directory", memberPkiDir)}/${name}`;
  const paths: MemberTlsPaths = { ca: `${dir}/ca.crt`, cert: `${dir}/server.crt`, key: `${dir}/server.key`, peerCert: `${dir}/peer.crt`, peerKey: `${dir}/peer.key` };
  return {
    paths,
    files: [
      { source: ca, target: paths.ca, private: false },
      { source: s.cert, target: paths.cert, private: false },
      { source: s.key, target: paths.key, private: true },
      { source: p.cert, target: paths.peerCert, private: false },
      { source: p.key, target: paths.peerKey, private: true },
    ],
  };
}

/** Client and peer side settings: certificates from the PKI, the other side's certificate required and checked against the CA. */
export function securityOf(paths: MemberTlsPaths): { clientSecurity: TransportSecurity; peerSecurity: TransportSecurity } {
  return {
    clientSecurity: { ...NO_TRANSPORT_SECURITY, certFile: paths.cert, keyFile: paths.key, trustedCaFile: paths.ca, clientCertAuth: true },
    peerSecurity: { ...NO_TRANSPORT_SECURITY, certFile: paths.peerCert, keyFile: paths.peerKey, trustedCaFile: paths.ca, clientCertAuth: true },
  };
}

/** `--cacert=... --cert=... --key=...` for etcdctl (quoted when a path needs it). */
export function etcdctlTlsFlags(t: ClientTls): string {
  const q = (p: string) => (/^[A-Za-z0-9_./:,=@%+-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  return `--cacert=${q(t.ca)} --cert=${q(t.cert)} --key=${q(t.key)}`;
}

/** The line a deployment prints when it runs without TLS, so an opt-out is never silent. */
export function plaintextNotice(stackName: string): string {
  return `${stackName}: --insecure: the cluster is PLAINTEXT (http://, no certificates, anyone who reaches a port can read and write)`;
}
