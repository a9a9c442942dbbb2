/**
 * The caller's identity from its client certificate: the subject CN of a certificate the listener verified
 * (--client-cert-auth or --trusted-ca-file on an https client URL), which etcd uses as the user name when auth is on
 * (auth.AuthInfoFromTLS). Nothing here decides anything: request handling asks, the auth layer decides.
 *
 *   identityOf(req)    an HTTP/1.1 request of the JSON gateway (or /health, ...): its connection's identity.
 *   identityOfSession  a gRPC call's connection (its HTTP/2 session): its identity.
 *
 * Both are undefined for a plaintext connection, or a TLS connection without a verified client certificate. Note: etcd itself never takes the CN for a gateway request (its gateway
 * proxies over gRPC with the server's own certificate and AuthInfoFromTLS ignores "grpcgateway-accept" calls);
 * whether etcd-ts's gateway should is the auth layer's call.
 *
 * A gRPC call finds its connection through its HTTP/2 connection object, which the listener registers when it hands
 * the connection to the gRPC server.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { commonNameOf } from "./verify-policy.js";

export interface CallerIdentity {
  /** The verified client certificate's subject CN ("" when the certificate has none). */
  readonly commonName: string;
  /** SHA-256 fingerprint of that certificate (colon-separated hex, as Node prints it). */
  readonly fingerprint256: string;
}

const verified = new WeakMap<object, CallerIdentity>();

/** Called by the TLS acceptor for a connection whose client certificate passed every check. */
export function markVerified(socket: TLSSocket): CallerIdentity | undefined {
  const leaf = socket.getPeerX509Certificate();
  if (!leaf) return undefined;
  const id: CallerIdentity = { commonName: commonNameOf(leaf), fingerprint256: leaf.fingerprint256 };
  verified.set(socket, id);
  socket.authorized = true; // as tls.Server sets it: code that asks Node sees the same answer
  return id;
}

/** The verified identity of a socket (the TLS socket the listener accepted), if any. */
export function identityOfSocket(socket: object): CallerIdentity | undefined {
  return verified.get(socket);
}

/** The identity of the connection an HTTP request came on. */
export function identityOf(req: IncomingMessage): CallerIdentity | undefined {
  return verified.get(req.socket);
}

/**
 * The identity of the connection a gRPC call came on: the listener registers each HTTP/2 session it hands to the
 * gRPC server (server/grpcwire) with its connection's identity.
 */
export function identityOfSession(session: object): CallerIdentity | undefined {
  return bySession.get(session);
}

const bySession = new WeakMap<object, CallerIdentity>();

/** Registers a gRPC connection's session with the identity of its (TLS) socket, if it has one. */
export function registerSession(session: object, identity: CallerIdentity | undefined): void {
  if (identity) bySession.set(session, identity);
}
