/**
 * Where `etcdkit pki` writes, relative to its directory (README.md of this folder shows the tree):
 *
 *   ca.crt, ca.key                          the cluster's CA
 *   members/<name>/server.crt, server.key   the member's client-port certificate (--cert-file, --key-file)
 *   members/<name>/peer.crt, peer.key       the member's peer certificate (--peer-cert-file, --peer-key-file)
 *   clients/<user>.crt, <user>.key          a client certificate, CN = <user> (etcdctl --cert/--key); "root" always
 *
 * Directories are 0700, keys 0600, certificates 0644.
 */
import { join } from "node:path";

export const CA_CERT = "ca.crt";
export const CA_KEY = "ca.key";

export interface LeafPaths {
  readonly cert: string;
  readonly key: string;
}

export function memberDir(dir: string, member: string): string {
  return join(dir, "members", member);
}

export function serverPaths(dir: string, member: string): LeafPaths {
  return { cert: join(memberDir(dir, member), "server.crt"), key: join(memberDir(dir, member), "server.key") };
}

export function peerPaths(dir: string, member: string): LeafPaths {
  return { cert: join(memberDir(dir, member), "peer.crt"), key: join(memberDir(dir, member), "peer.key") };
}

export function clientPaths(dir: string, user: string): LeafPaths {
  return { cert: join(dir, "clients", `${user}.crt`), key: join(dir, "clients", `${user}.key`) };
}

export function caPaths(dir: string): LeafPaths {
  return { cert: join(dir, CA_CERT), key: join(dir, CA_KEY) };
}

/** The server flags of a member for this PKI (both sides verify the other side against the CA). */
export function memberTlsFlags(dir: string, member: string): string[] {
  const s = serverPaths(dir, member);
  const p = peerPaths(dir, member);
  const ca = join(dir, CA_CERT);
  return [
    `--cert-file=${s.cert}`,
    `--key-file=${s.key}`,
    `--trusted-ca-file=${ca}`,
    "--client-cert-auth",
    `--peer-cert-file=${p.cert}`,
    `--peer-key-file=${p.key}`,
    `--peer-trusted-ca-file=${ca}`,
    "--peer-client-cert-auth",
  ];
}
