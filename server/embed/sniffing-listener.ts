import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log/logger.js";
import { ConnectionGuard, type TrackedConnection } from "./connection-guard.js";
import type { H2Connection } from "../grpcwire/h2/connection.js";
import { CLIENT_PREFACE } from "../grpcwire/h2/frames.js";
import { createHttp1Server, withBodyDeadline, type HttpHandler } from "./http1-server.js";
import { enforceKeepalivePolicy, type KeepalivePolicy } from "./keepalive-enforcement.js";
import { DEFAULT_TIMEOUTS, type ListenerTimeouts } from "./listener-limits.js";
import type { TlsAcceptor } from "../tls/tls-acceptor.js";
import { identityOfSocket, registerSession } from "../tls/identity.js";

export interface ListenerOptions {
  /** What the listener serves, for log lines: "client", "peer", "metrics". */
  readonly name?: string;
  readonly logger?: Logger;
  readonly timeouts?: Partial<ListenerTimeouts>;
  /** Connections kept open at most (see ConnectionGuard); default unlimited. */
  readonly connectionLimit?: number;
  /** Enforced on every HTTP/2 connection's client PINGs (etcd's --grpc-keepalive-min-time). */
  readonly keepalive?: KeepalivePolicy;
  /** HTTP/1 paths whose request body is a long-lived stream (gateway watch, lease keepalive): no body deadline. */
  readonly streamingBodies?: ReadonlySet<string>;
  /** https: every connection (or, with `plaintext`, every one that opens with a TLS record) is TLS (server/tls). */
  readonly tls?: TlsAcceptor;
  /** With `tls`: plaintext connections are served too (an http:// and an https:// URL on one address, as etcd allows). */
  readonly plaintext?: boolean;
  /** Register each gRPC connection's client-certificate identity for identityOfSession (the client port). */
  readonly trackIdentities?: boolean;
  /**
   * HTTP/1.1 upgrade requests (the peer port's raft streams): the handler owns the connection from then on. The
   * connection counts as busy until it closes. Without it, an upgrade request is answered as any other request.
   */
  readonly upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/**
 * What serves a listener's HTTP/2 connections: a gRPC server of server/grpcwire (the client port's services, the peer
 * port's snapshots). `head` is what the listener read of the connection (the preface, maybe more); `follow` gets the
 * HTTP/2 connection before any of it is read, so the listener sees every event of it.
 */
export interface H2Host {
  attach(connection: Socket, head: Buffer, follow: (c: H2Connection) => void): H2Connection;
}

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * One TCP port, two protocols, as etcd's cmux (client and peer ports alike): connections that open with the HTTP/2 preface go
 * to gRPC; anything else is HTTP/1.1 (health, version, metrics, the JSON gateway). Without a gRPC server (the metrics
 * port) every connection is HTTP/1.1.
 *
 * An HTTP/2 connection's handshake ends with the client's first SETTINGS, which the gRPC server's connection reports.
 *
 * Every connection is admitted by a ConnectionGuard (limit, idle eviction) and must finish its handshake in time; the
 * timeouts are in listener-limits.ts and the README ("Connections and timeouts").
 *
 * With TLS (an https:// URL), the TLS handshake comes first (server/tls/tls-acceptor.ts) and counts into the
 * connection's handshake time; everything above then runs on the decrypted stream, unchanged.
 */
export class SniffingListener {
  private readonly net: NetServer;
  private readonly http: HttpServer;
  private readonly guard: ConnectionGuard;
  private readonly timeouts: ListenerTimeouts;
  /** The decrypted stream of each TLS connection, to its tracked (TCP) connection. */
  private readonly decrypted = new WeakMap<Socket, TrackedConnection>();

  constructor(
    private readonly h2: H2Host | undefined,
    httpHandler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly opts: ListenerOptions = {},
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.guard = new ConnectionGuard(opts.connectionLimit ?? Number.MAX_SAFE_INTEGER, this.timeouts.handshakeMs, { listener: opts.name ?? "listener", address: "" }, opts.logger);
    this.http = createHttp1Server(this.trackRequests(withBodyDeadline(httpHandler, this.timeouts.bodyMs, opts.streamingBodies ?? new Set())), this.timeouts);
    const upgrade = opts.upgrade;
    if (upgrade) {
      this.http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const conn = this.guard.of(socket as Socket) ?? this.decrypted.get(socket as Socket);
        if (conn) {
          conn.begin();
          socket.once("close", () => conn.end());
        }
        upgrade(req, socket, head);
      });
    }
    this.net = createNetServer({ noDelay: true }, (socket) => this.route(socket));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once("error", reject);
      this.net.listen({ host, port, backlog: 4096 }, () => {
        this.net.off("error", reject);
        const a = this.net.address();
        this.guard.describe.address = typeof a === "object" && a ? `${a.address}:${a.port}` : `${host}:${port}`;
        resolve();
      });
    });
  }

  /** The port it listens on (useful when listening on port 0). */
  get port(): number {
    const a = this.net.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Open connections (for tests and metrics). */
  get connections(): number {
    return this.guard.size;
  }

  private route(socket: Socket): void {
    socket.on("error", () => socket.destroy());
    const conn = this.guard.admit(socket);
    if (!conn) return;
    const tls = this.opts.tls;
    if (!tls) return this.sniff(conn, socket);
    const secured = (s: Socket) => {
      this.decrypted.set(s, conn);
      this.sniff(conn, s);
    };
    if (!this.opts.plaintext) return tls.accept(socket, secured);
    socket.once("data", (head: Buffer) => {
      socket.pause();
      socket.unshift(head);
      if (head[0] === TLS_HANDSHAKE_RECORD) tls.accept(socket, secured);
      else this.sniff(conn, socket);
    });
  }

  /** Routes a connection by its first bytes: the HTTP/2 preface to gRPC, anything else to HTTP/1.1. */
  private sniff(conn: TrackedConnection, socket: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, CLIENT_PREFACE.length);
      const isH2 = this.h2 !== undefined && head.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n));
      if (isH2 && head.length < CLIENT_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      if (isH2) {
        conn.protocol = "h2";
        socket.pause();
        this.inject(conn, socket, head);
        return;
      }
      // The HTTP/1 server reads through the stream: give the bytes back and let it flow. The handshake ends with
      // the first request's headers (trackRequests).
      conn.protocol = "http1";
      socket.pause();
      socket.unshift(head);
      this.http.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
    socket.resume(); // a socket paused to look at its first byte (a port serving http and https)
  }

  /** Counts each HTTP/1 request as in flight on its connection until its response is done. */
  private trackRequests(handler: HttpHandler): HttpHandler {
    return (req, res) => {
      const conn = this.guard.of(req.socket) ?? this.decrypted.get(req.socket);
      if (conn) {
        conn.begin();
        res.once("close", () => conn.end());
      }
      handler(req, res);
    };
  }

  /** Hands the connection to the H2Host and follows it: the handshake, open streams, identity and keepalive policy. */
  private inject(conn: TrackedConnection, socket: Socket, head: Buffer): void {
    this.h2!.attach(socket, head, (connection) => {
      if (this.opts.trackIdentities) registerSession(connection, identityOfSocket(socket));
      connection.onClientSettings = () => conn.handshakeDone();
      connection.on("streamOpen", () => conn.begin());
      connection.on("streamClose", () => conn.end());
      if (this.opts.keepalive) enforceKeepalivePolicy(connection, this.opts.keepalive, () => conn.active);
    });
  }

  /** Stops listening and closes its connections (the H2Host's owner closes the host). */
  close(): Promise<void> {
    for (const c of this.guard.connections()) c.socket.destroy();
    this.http.close();
    return new Promise((resolve) => this.net.close(() => resolve()));
  }
}
