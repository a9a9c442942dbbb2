import * as grpc from "@grpc/grpc-js";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * One TCP port, two protocols, as etcd's cmux (client and peer ports alike): connections that open with the HTTP/2 preface go
 * to gRPC; anything else is HTTP/1.1 (health, version, metrics, the JSON gateway).
 */
export class SniffingListener {
  private readonly net: NetServer;
  private readonly injector: grpc.ConnectionInjector;
  private readonly http;
  private readonly sockets = new Set<Socket>();

  constructor(grpcServer: grpc.Server, httpHandler: (req: IncomingMessage, res: ServerResponse) => void) {
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
      const n = Math.min(head.length, HTTP2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
      if (isH2 && head.length < HTTP2_PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      // HTTP/2 takes over the native handle and drains what is buffered itself: resuming the JS
      // stream here would steal bytes from it. The HTTP/1 server reads through the stream, so resume.
      if (isH2) this.injector.injectConnection(socket);
      else {
        this.http.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  close(): Promise<void> {
    this.injector.drain(0);
    for (const s of this.sockets) s.destroy();
    this.injector.destroy();
    return new Promise((resolve) => this.net.close(() => resolve()));
  }
}
