/**
 * The caller's identity from its client certificate: the subject CN of a certificate the listener verified
 * (--client-cert-auth or --trusted-ca-file on an https client URL), which etcd uses as the user name when auth is on
 * (auth.AuthInfoFromTLS). Nothing here decides anything: request handling asks, the auth layer decides.
 *
 *   identityOf(req)    an HTTP/1.1 request of the JSON gateway (or /health, ...): its connection's identity.
 *   peerIdentity(call) a gRPC call: its connection's identity.
 *
 * Both are undefined for a plaintext connection, a TLS connection without a verified client certificate, or when the
 * connection cannot be told apart (below). Note: etcd itself never takes the CN for a gateway request (its gateway
 * proxies over gRPC with the server's own certificate and AuthInfoFromTLS ignores "grpcgateway-accept" calls);
 * whether etcd-ts's gateway should is the auth layer's call.
 *
 * How a call finds its connection: grpc-js gives handlers no way to their socket, only `call.getPeer()`
 * ("address:port" of the session's socket), and some connections reach grpc-js through a stream wrapper
 * (embed/h2-handshake.ts's RewritingConnection), which grpc-js cannot see TLS through. So the listener registers
 * every connection it hands to grpc-js under that same "address:port" with its identity (or none); while two live
 * connections share one key (a client reusing a source port towards two of our listeners), the key answers
 * undefined rather than guess.
 */
import type { IncomingMessage } from "node:http";
import type { ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { commonNameOf } from "./verify-policy.js";

export interface CallerIdentity {
  /** The verified client certificate's subject CN ("" when the certificate has none). */
  readonly commonName: string;
  /** SHA-256 fingerprint of that certificate (colon-separated hex, as Node prints it). */
  readonly fingerprint256: string;
}

/** Anything with the address fields grpc-js builds getPeer() from. */
export interface PeerAddressed {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
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
 * The identity of the connection a gRPC call came on. Asked for every call: while no registered
 * connection has an identity (plaintext, or no verified client certificate) the answer is known
 * without building the call's peer string (grpc-js's getPeer goes through the http2 session's socket proxy).
 */
export function peerIdentity(call: { getPeer(): string }): CallerIdentity | undefined {
  if (identified === 0) return undefined;
  const e = byPeer.get(call.getPeer());
  return e && e.live === 1 ? e.identity : undefined;
}

const byPeer = new Map<string, { identity: CallerIdentity | undefined; live: number }>();
/** How many entries of byPeer have an identity. */
let identified = 0;

/** grpc-js's getPeer() for this socket-like object. */
export function peerKey(s: PeerAddressed): string | undefined {
  if (!s.remoteAddress) return undefined;
  return s.remotePort ? `${s.remoteAddress}:${s.remotePort}` : s.remoteAddress;
}

/**
 * Registers a connection handed to grpc-js with its identity until `closed` fires. `session` is the HTTP/2 session
 * grpc-js made for it, `socket` the connection's socket (the TLS socket, or the TCP socket in plaintext).
 *
 * A connection handed over through a stream wrapper reaches Node's http2 as a JSStreamSocket, which has no address
 * (grpc-js's getPeer() then says "unknown"): it is given the socket's address (net.Socket's cached peer name, which
 * remoteAddress falls back to for a socket without a native handle). If that ever stops working, the key stays
 * unknown and such calls simply have no identity.
 */
export function trackCallerConnection(session: ServerHttp2Session, socket: Socket, identity: CallerIdentity | undefined, closed: (cb: () => void) => void): void {
  const seen = session.socket as unknown as PeerAddressed & { _peername?: unknown };
  if (!seen.remoteAddress && socket.remoteAddress) {
    try {
      seen._peername = { address: socket.remoteAddress, port: socket.remotePort, family: socket.remoteFamily };
    } catch {
      /* left unknown: no identity for this connection */
    }
  }
  const key = peerKey(seen);
  if (key === undefined) return;
  const e = byPeer.get(key);
  if (e) {
    e.live++;
    if (e.identity) identified--;
    e.identity = undefined; // shared key: no answer while both live
  } else {
    byPeer.set(key, { identity, live: 1 });
    if (identity) identified++;
  }
  closed(() => {
    const cur = byPeer.get(key);
    if (!cur) return;
    if (--cur.live > 0) return;
    byPeer.delete(key);
    if (cur.identity) identified--;
  });
}
