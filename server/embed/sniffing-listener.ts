import * as grpc from "@grpc/grpc-js";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { CLIENT_PREFACE, EMPTY_SETTINGS } from "./h2-frames.js";
import { FIRST_REQUEST_WAIT_MS, FirstRequestInspector, RewritingConnection, type Handover } from "./h2-handshake.js";

/**
 * One TCP port, two protocols, as etcd's cmux (client and peer ports alike): connections that open with the HTTP/2 preface go
 * to gRPC; anything else is HTTP/1.1 (health, version, metrics, the JSON gateway).
 *
 * An HTTP/2 connection is not handed to grpc-js at once: the listener sends an empty SETTINGS and reads up to the first
 * request's header block, to catch an :authority Node's HTTP/2 would refuse (etcdctl 3.4 sends "http://host:port" for
 * endpoint status/hash and move-leader; etcd accepts it). The usual connection then goes to grpc-js as the raw socket
 * (nghttp2 reads the native handle, no per-byte cost); one with such an :authority goes through a RewritingConnection
 * that fixes that value in every request. The design, and why it is hand-written, is in h2-handshake.ts and
 * hpack-authority.ts.
 */
export class SniffingListener {
  private readonly net: NetServer;
  private readonly injector: grpc.ConnectionInjector;
  private readonly http;
  private readonly sockets = new Set<Socket>();

  constructor(
    grpcServer: grpc.Server,
    httpHandler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly opts: { firstRequestWaitMs?: number } = {},
  ) {
    this.injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.http = createHttpServer({ keepAlive: true }, httpHandler);
    this.net = createNetServer({ noDelay: true }, (socket) => this.route(socket));
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.net.once("error", reject);
      this.net.listen({ host, port, backlog: 4096 }, () => {
        this.net.off("error", reject);
        resolve();
      });
    });
  }

  private route(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, CLIENT_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n));
      if (isH2 && head.length < CLIENT_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      if (isH2) {
        this.inspectFirstRequest(socket, head.subarray(CLIENT_PREFACE.length));
        return;
      }
      // The HTTP/1 server reads through the stream: give the bytes back and let it flow.
      socket.pause();
      socket.unshift(head);
      this.http.emit("connection", socket);
      socket.resume();
    };
    socket.on("data", onData);
  }

  /** After the preface: our SETTINGS out, client frames in until FirstRequestInspector decides, then grpc-js. */
  private inspectFirstRequest(socket: Socket, afterPreface: Buffer): void {
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
        this.injector.injectConnection(socket);
      } else this.injector.injectConnection(new RewritingConnection(socket, h.bytes));
    };
    const onData = (chunk: Buffer) => {
      const h = inspector.push(chunk);
      if (h) handOver(h);
    };
    const onClose = () => clearTimeout(timer);
    const timer = setTimeout(() => handOver(inspector.giveUp()), this.opts.firstRequestWaitMs ?? FIRST_REQUEST_WAIT_MS);
    socket.on("close", onClose);
    const first = inspector.push(afterPreface);
    if (first) handOver(first);
    else socket.on("data", onData);
  }

  close(): Promise<void> {
    this.injector.drain(0);
    for (const s of this.sockets) s.destroy();
    this.injector.destroy();
    return new Promise((resolve) => this.net.close(() => resolve()));
  }
}
