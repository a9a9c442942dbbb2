import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sessionTimersOf, type GrpcKeepalive } from "../../server/embed/grpc-keepalive.js";
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import type { KeepalivePolicy } from "../../server/embed/keepalive-enforcement.js";
import type { ListenerTimeouts } from "../../server/embed/listener-limits.js";
import { SniffingListener } from "../../server/embed/sniffing-listener.js";
import type { Logger } from "../../server/log/logger.js";
import { freePort } from "../support/ports.js";
import { identityOf, identityOfSession } from "../../server/tls/identity.js";
import type { TlsAcceptor } from "../../server/tls/tls-acceptor.js";

const id = (b: Buffer) => b;
const method = (path: string, responseStream: boolean) => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});
/**
 * Echo: unary. Hold: a server stream that sends one message and stays open until the client cancels. Who: the
 * caller's client-certificate CN (identityOfSession), "-" without one.
 */
export const TEST_SERVICE = { echo: method("/test.T/Echo", false), hold: method("/test.T/Hold", true), who: method("/test.T/Who", false) } satisfies grpc.ServiceDefinition;
export const TestClient = grpc.makeGenericClientConstructor(TEST_SERVICE, "T");

export interface Fixture {
  readonly port: number;
  readonly listener: SniffingListener;
  readonly logs: Array<Record<string, unknown>>;
  /** HTTP requests to /hang wait until this is called. */
  releaseHanging(): void;
  close(): Promise<void>;
}

export interface FixtureOptions {
  timeouts?: Partial<ListenerTimeouts>;
  connectionLimit?: number;
  keepalive?: KeepalivePolicy;
  /** Server pings and the idle timeout of connections without streams. */
  grpc?: { pingIntervalMs?: number; pingTimeoutMs?: number; idleMs?: number };
  /** Serve TLS (server/tls), with `plaintext` also plaintext on the same port. */
  tls?: TlsAcceptor;
  plaintext?: boolean;
}

/**
 * A SniffingListener in front of a small gRPC service (server/grpcwire, as the client port) and an HTTP handler, on 127.0.0.1:<any port>:
 * GET / answers "ok"; POST /body reads the body then answers; POST /stream (a streaming route) answers after its
 * body ends; /hang answers when releaseHanging() is called.
 */
export async function startFixture(o: FixtureOptions = {}): Promise<Fixture> {
  const logs: Array<Record<string, unknown>> = [];
  const logger: Logger = pino({ level: "info", base: null }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  const keep: GrpcKeepalive = {
    policy: o.keepalive ?? { minTimeMs: 5 * 60_000, permitWithoutStream: false },
    pingIntervalMs: o.grpc?.pingIntervalMs ?? 2 ** 31 - 1,
    pingTimeoutMs: o.grpc?.pingTimeoutMs ?? 20_000,
  };
  const server = new GrpcServer({ maxReceiveBytes: 4 << 20, maxConcurrentStreams: 2 ** 31 - 1, ...sessionTimersOf(keep, o.grpc?.idleMs ?? 60_000) });
  const spec = (path: string, kind: "unary" | "server_stream"): MethodSpec<Buffer, Buffer> => ({ path, kind, decode: id, encode: id });
  server.unary(spec(TEST_SERVICE.echo.path, "unary"), (call, req) => call.reply(req));
  server.unary(spec(TEST_SERVICE.who.path, "unary"), (call) => call.reply(Buffer.from(identityOfSession(call.session)?.commonName ?? "-")));
  server.unary(spec(TEST_SERVICE.hold.path, "server_stream"), (call) => {
    call.write(Buffer.from("held"));
  });
  const hanging: ServerResponse[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/hang") {
      hanging.push(res);
      return;
    }
    if (path === "/body" || path === "/stream") {
      let n = 0;
      req.on("data", (c: Buffer) => (n += c.length));
      req.on("end", () => res.end(`read ${n}`));
      return;
    }
    if (path === "/who") return void res.end(identityOf(req)?.commonName ?? "-");
    res.end("ok");
  };
  const listener = new SniffingListener(server, handler, {
    name: "client",
    logger,
    timeouts: o.timeouts,
    connectionLimit: o.connectionLimit,
    keepalive: o.keepalive,
    streamingBodies: new Set(["/stream"]),
    trackIdentities: true,
    ...(o.tls ? { tls: o.tls, plaintext: o.plaintext ?? false } : {}),
  });
  const port = await freePort();
  await listener.listen("127.0.0.1", port);
  return {
    port,
    listener,
    logs,
    releaseHanging: () => {
      for (const r of hanging.splice(0)) r.end("released");
    },
    async close() {
      for (const r of hanging.splice(0)) r.destroy();
      await listener.close();
      server.destroy();
    },
  };
}

/** A grpc-js client of the test service on the fixture. */
export function testClient(port: number): grpc.Client & {
  echo(b: Buffer, cb: (e: Error | null, v?: Buffer) => void): void;
  hold(b: Buffer): grpc.ClientReadableStream<Buffer>;
} {
  return new TestClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as never;
}

export function echo(c: ReturnType<typeof testClient>, text: string): Promise<string> {
  return new Promise((resolve, reject) => c.echo(Buffer.from(text), (e, v) => (e ? reject(e) : resolve(v!.toString()))));
}
