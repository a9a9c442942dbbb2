import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { ServerHttp2Session } from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log/logger.js";
import { ConnectionGuard, type TrackedConnection } from "./connection-guard.js";
import { CLIENT_PREFACE, EMPTY_SETTINGS } from "./h2-frames.js";
import { FIRST_REQUEST_WAIT_MS, FirstRequestInspector, RewritingConnection, type Handover } from "./h2-handshake.js";
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
  readonly firstRequestWaitMs?: number;
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
 * port's snapshots). It returns the HTTP/2 session it made for the connection (synchronously), which the listener
 * follows.
 */
export interface H2Host {
  attach(connection: Socket | RewritingConnection): ServerHttp2Session | undefined;
}

/** The first byte of a TLS handshake record. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * One TCP port, two protocols, as etcd's cmux (client and peer ports alike): connections that open with the HTTP/2 preface go
 * to gRPC; anything else is HTTP/1.1 (health, version, metrics, the JSON gateway). Without a gRPC server (the metrics
 * port) every connection is HTTP/1.1.
 *
 * An HTTP/2 connection is not handed to the gRPC server at once: the listener sends an empty SETTINGS and reads up to the first
 * request's header block, to catch an :authority Node's HTTP/2 would refuse (etcdctl 3.4 sends "http://host:port" for
 * endpoint status/hash and move-leader; etcd accepts it). The usual connection then goes to the H2Host as the raw socket
 * (nghttp2 reads the native handle, no per-byte cost); one with such an :authority goes through a RewritingConnection
 * that fixes that value in every request. The design, and why it is hand-written, is in h2-handshake.ts and
 * hpack-authority.ts.
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
        this.inspectFirstRequest(conn, socket, head.subarray(CLIENT_PREFACE.length));
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

  /** After the preface: our SETTINGS out, client frames in until FirstRequestInspector decides, then the H2Host. */
  private inspectFirstRequest(conn: TrackedConnection, socket: Socket, afterPreface: Buffer): void {
    socket.write(EMPTY_SETTINGS);
    const inspector = new FirstRequestInspector();
    const handOver = (h: Handover) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      if (h.mode === "raw") {
        // nghttp2 takes over the native handle and drains what is buffered itself: resuming the JS stream here would
        // steal bytes from it.
        socket.unshift(Buffer.concat([CLIENT_PREFACE, h.bytes]));
        this.inject(conn, socket, socket);
      } else this.inject(conn, socket, new RewritingConnection(socket, h.bytes));
    };
    const push = (chunk: Buffer) => {
      const h = inspector.push(chunk);
      if (inspector.sawClientSettings) conn.handshakeDone();
      return h;
    };
    const onData = (chunk: Buffer) => {
      const h = push(chunk);
      if (h) handOver(h);
    };
    const onClose = () => clearTimeout(timer);
    const timer = setTimeout(() => handOver(inspector.giveUp()), this.opts.firstRequestWaitMs ?? FIRST_REQUEST_WAIT_MS);
    socket.on("close", onClose);
    const first = push(afterPreface);
    if (first) handOver(first);
    else socket.on("data", onData);
  }

  /** Hands the connection to the H2Host and follows its session: open streams, and the keepalive policy. */
  private inject(conn: TrackedConnection, socket: Socket, connection: Socket | RewritingConnection): void {
    const session = this.h2!.attach(connection);
    if (this.opts.trackIdentities && session) registerSession(session, identityOfSocket(socket));
    if (!session) {
      // No session seen (an H2Host that made none synchronously): never take it for idle, it may carry streams.
      conn.begin();
      return;
    }
    session.on("stream", (stream) => {
      conn.begin();
      stream.once("close", () => conn.end());
    });
    if (this.opts.keepalive) enforceKeepalivePolicy(session, socket, this.opts.keepalive, () => conn.active);
  }

  /** Stops listening and closes its connections (the H2Host's owner closes the host). */
  close(): Promise<void> {
    for (const c of this.guard.connections()) c.socket.destroy();
    this.http.close();
    return new Promise((resolve) => this.net.close(() => resolve()));
  }
}
