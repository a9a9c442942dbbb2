import * as grpc from "@grpc/grpc-js";
import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { H2Host } from "./sniffing-listener.js";

/**
 * The HTTP/2 session grpc-js creates for a connection the listener injects (the peer port's gRPC server, which serves
 * snapshots; the client port's gRPC server is server/grpcwire, which hands its sessions over itself). grpc-js has no public way to reach it,
 * and the listener needs it for two things grpc-js does not do: count a connection's open streams (so the
 * connection limit knows which connections are idle) and enforce etcd's keepalive policy on client PINGs
 * (keepalive-enforcement.ts).
 *
 * How: grpc-js builds the Node http2 server behind each connection injector with its (TypeScript-private)
 * createHttp2Server method; the tap wraps that method on the one grpc.Server instance to listen to each new
 * server's "session" event. Injecting a connection emits that event synchronously (Node's http2 connection
 * listener creates the session and emits it before returning), so capture() knows which connection it belongs to.
 * If a grpc-js upgrade renames the method, sessionTap() throws at start-up rather than losing the hooks quietly.
 */
export class SessionTap {
  private sink: ((s: ServerHttp2Session) => void) | undefined;

  /** Runs inject() and returns the session it created (undefined if none was created synchronously). */
  capture(inject: () => void): ServerHttp2Session | undefined {
    let got: ServerHttp2Session | undefined;
    this.sink = (s) => (got = s);
    try {
      inject();
    } finally {
      this.sink = undefined;
    }
    return got;
  }

  /** Called for every session of every http2 server of the tapped grpc.Server. */
  onSession(s: ServerHttp2Session): void {
    this.sink?.(s);
  }
}

const taps = new WeakMap<grpc.Server, SessionTap>();

type WithCreate = { createHttp2Server?: (this: grpc.Server, credentials: grpc.ServerCredentials) => Http2Server };

/** The tap of this grpc.Server, installed on first use; call before createConnectionInjector. */
export function sessionTap(server: grpc.Server): SessionTap {
  const existing = taps.get(server);
  if (existing) return existing;
  const target = server as unknown as WithCreate;
  const create = target.createHttp2Server;
  if (typeof create !== "function") {
    throw new Error("@grpc/grpc-js no longer has Server.createHttp2Server: update server/embed/grpc-session-tap.ts");
  }
  const tap = new SessionTap();
  target.createHttp2Server = function (this: grpc.Server, credentials: grpc.ServerCredentials): Http2Server {
    const h2 = create.call(this, credentials);
    h2.on("session", (s: ServerHttp2Session) => tap.onSession(s));
    return h2;
  };
  taps.set(server, tap);
  return tap;
}

/** A listener's way into a grpc-js server: its own connection injector, and the tap that sees each session. */
export function grpcJsHost(server: grpc.Server): H2Host {
  const tap = sessionTap(server); // before the injector: it creates the http2 server the tap hooks
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  return { attach: (connection) => tap.capture(() => injector.injectConnection(connection)) };
}
