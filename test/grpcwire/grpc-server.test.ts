/**
 * server/grpcwire/grpc-server.ts: the gRPC HTTP/2 protocol as grpc-go's server answers it, read with a bare HTTP/2
 * client (node:http2) so every header, status and reset is seen as sent; and a real gRPC client (grpc-js) for the
 * ordinary paths.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { gzipSync } from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import type { ServerCall } from "../../server/grpcwire/server-call.js";
import { frameMessage } from "../../server/grpcwire/message-reader.js";
import { listenGrpc } from "../support/grpcwire-listen.js";

const id = (b: Buffer) => b;
const spec = (path: string, kind: MethodSpec<Buffer, Buffer>["kind"]): MethodSpec<Buffer, Buffer> => ({ path, kind, decode: id, encode: id });
const strict: MethodSpec<Buffer, Buffer> = {
  path: "/t.T/Strict",
  kind: "unary",
  decode: (b) => {
    if (b[0] !== 1) throw new Error("first byte must be 1");
    return b;
  },
  encode: id,
};

interface Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  messages: Buffer[];
  rstCode: number;
}

/** One request on a bare HTTP/2 stream: headers, then `body` (already framed), END_STREAM unless `keepOpen`. */
function call(session: ClientHttp2Session, path: string, body: Buffer, extra: Record<string, string> = {}, keepOpen = false): Promise<Answer> & { stream: ReturnType<ClientHttp2Session["request"]> } {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra }, { endStream: false });
  const p = new Promise<Answer>((resolve) => {
    const a: Answer = { headers: {}, trailers: {}, messages: [], rstCode: 0 };
    let data = Buffer.alloc(0);
    stream.on("response", (h) => (a.headers = h));
    stream.on("trailers", (t) => (a.trailers = t));
    stream.on("data", (c: Buffer) => (data = Buffer.concat([data, c])));
    stream.on("error", () => undefined);
    stream.on("close", () => {
      a.rstCode = stream.rstCode ?? 0;
      for (let at = 0; at + 5 <= data.length; ) {
        const len = data.readUInt32BE(at + 1);
        a.messages.push(data.subarray(at + 5, at + 5 + len));
        at += 5 + len;
      }
      resolve(a);
    });
  });
  if (body.length) stream.write(body);
  if (!keepOpen) stream.end();
  return Object.assign(p, { stream });
}

/** The status a response carried: from the trailers, or from a Trailers-Only response's headers. */
const status = (a: Answer) => ({ code: Number(a.trailers["grpc-status"] ?? a.headers["grpc-status"]), message: String(a.trailers["grpc-message"] ?? a.headers["grpc-message"] ?? "") });

describe("GrpcServer", () => {
  let server: GrpcServer;
  let net: Awaited<ReturnType<typeof listenGrpc>>;
  let session: ClientHttp2Session;
  const handled: string[] = [];
  let chatCall: ServerCall<Buffer, Buffer> | undefined;
  const chatEvents: string[] = [];
  let gateCall: ServerCall<Buffer, Buffer> | undefined;
  const gateGot: number[] = [];

  before(async () => {
    server = new GrpcServer({ maxReceiveBytes: 1024, maxConcurrentStreams: 100, pingIntervalMs: 2 ** 31 - 1, pingTimeoutMs: 20_000, idleMs: 60_000 });
    server.unary(spec("/t.T/Echo", "unary"), (c, req) => {
      handled.push(`echo ${req.toString()}`);
      c.reply(req);
    });
    server.unary(strict, (c, req) => c.reply(req));
    server.unary(spec("/t.T/Fail", "unary"), (c) => c.fail({ code: 14, message: "etcdserver: 100% unavailable" }));
    server.unary(spec("/t.T/Three", "server_stream"), (c, req) => {
      for (let i = 0; i < 3; i++) c.write(Buffer.from(`${req.toString()}${i}`));
      c.end();
    });
    server.stream(spec("/t.T/Chat", "bidi_stream"), (c) => {
      chatCall = c;
      c.onMessage = (m) => {
        chatEvents.push(`msg ${m.toString()}`);
        c.write(Buffer.from(`re ${m.toString()}`));
      };
      c.onHalfClose = () => {
        chatEvents.push("half-close");
        c.end();
      };
      c.onCancel(() => chatEvents.push("cancel"));
    });
    // as Watch: a half-close ends nothing, only the client going away does
    server.stream(spec("/t.T/Hold", "bidi_stream"), (c) => {
      chatCall = c;
      c.onMessage = (m) => chatEvents.push(`msg ${m.toString()}`);
      c.onHalfClose = () => chatEvents.push("half-close");
      c.onCancel(() => chatEvents.push("cancel"));
    });
    // reads one message, then pauses until the test resumes it
    server.stream(spec("/t.T/Gate", "client_stream"), (c) => {
      gateCall = c;
      c.onMessage = (m) => {
        gateGot.push(m.length);
        if (gateGot.length === 1) c.pause();
      };
      c.onHalfClose = () => c.reply(Buffer.from(String(gateGot.length)));
    });
    net = await listenGrpc(server);
    session = connect(`http://${net.endpoint}`);
  });
  after(async () => {
    session.destroy();
    await net.close();
  });

  test("a unary call: headers, the message, then status 0 in the trailers (grpc-go's headers)", async () => {
    const a = await call(session, "/t.T/Echo", frameMessage(Buffer.from("hi")));
    assert.equal(a.headers[":status"], 200);
    assert.equal(a.headers["content-type"], "application/grpc");
    assert.deepEqual(a.messages.map(String), ["hi"]);
    assert.deepEqual(status(a), { code: 0, message: "" });
    assert.equal(a.trailers["grpc-message"], undefined, "no empty grpc-message");
  });

  test("an error before any message is a Trailers-Only response, its message percent-encoded", async () => {
    const a = await call(session, "/t.T/Fail", frameMessage(Buffer.from("x")));
    assert.equal(a.headers["grpc-status"], "14");
    assert.equal(a.headers["grpc-message"], "etcdserver: 100%25 unavailable");
    assert.deepEqual(a.messages, []);
  });

  test("unknown service, unknown method, malformed path: grpc-go's codes and texts", async () => {
    assert.deepEqual(status(await call(session, "/x.Y/Z", frameMessage(Buffer.from("")))), { code: 12, message: "unknown service x.Y" });
    assert.deepEqual(status(await call(session, "/t.T/Nope", frameMessage(Buffer.from("")))), { code: 12, message: "unknown method Nope for service t.T" });
    assert.deepEqual(status(await call(session, "/nope", frameMessage(Buffer.from("")))), { code: 8, message: 'malformed method name: "/nope"' });
  });

  test("not gRPC (content-type) or a malformed grpc-timeout: the stream is reset, as grpc-go does", async () => {
    const a = await call(session, "/t.T/Echo", frameMessage(Buffer.from("x")), { "content-type": "application/json" });
    assert.equal(a.rstCode, constants.NGHTTP2_PROTOCOL_ERROR);
    const b = await call(session, "/t.T/Echo", frameMessage(Buffer.from("x")), { "grpc-timeout": "5seconds" });
    assert.equal(b.rstCode, constants.NGHTTP2_PROTOCOL_ERROR);
    const c = await call(session, "/t.T/Echo", frameMessage(Buffer.from("ok")), { "content-type": "application/grpc+proto" });
    assert.deepEqual(c.messages.map(String), ["ok"], "a content-subtype is gRPC");
  });

  test("a unary call without its message: Unknown \"EOF\"; cut inside it: \"unexpected EOF\"; the handler never runs", async () => {
    const before = handled.length;
    assert.deepEqual(status(await call(session, "/t.T/Echo", Buffer.alloc(0))), { code: 2, message: "EOF" });
    assert.deepEqual(status(await call(session, "/t.T/Echo", frameMessage(Buffer.from("abc")).subarray(0, 6))), { code: 2, message: "unexpected EOF" });
    assert.equal(handled.length, before);
  });

  test("a message over the limit: RESOURCE_EXHAUSTED from its prefix, before the body comes; the stream is then reset NO_ERROR", async () => {
    const a = await call(session, "/t.T/Echo", Buffer.from([0, 0, 0, 4, 1]), {}, true); // 1025 announced, none sent, not half-closed
    assert.deepEqual(status(a), { code: 8, message: "grpc: received message larger than max (1025 vs. 1024)" });
    assert.equal(a.rstCode, constants.NGHTTP2_NO_ERROR);
  });

  test("a request that does not decode: Internal, grpc-go's text", async () => {
    assert.deepEqual(status(await call(session, "/t.T/Strict", frameMessage(Buffer.from([2])))), { code: 13, message: "grpc: error unmarshalling request: first byte must be 1" });
    assert.deepEqual((await call(session, "/t.T/Strict", frameMessage(Buffer.from([1, 7])))).messages.map((m) => [...m]), [[1, 7]]);
  });

  test("gzip requests are read; an encoding without a decompressor is grpc-go's Unimplemented", async () => {
    const z = gzipSync(Buffer.from("zipped"));
    const framed = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), z]);
    framed.writeUInt32BE(z.length, 1);
    assert.deepEqual((await call(session, "/t.T/Echo", framed, { "grpc-encoding": "gzip" })).messages.map(String), ["zipped"]);
    assert.deepEqual(status(await call(session, "/t.T/Echo", framed, { "grpc-encoding": "br" })), { code: 12, message: 'grpc: Decompressor is not installed for grpc-encoding "br"' });
  });

  test("a server stream: every message, then OK", async () => {
    const a = await call(session, "/t.T/Three", frameMessage(Buffer.from("n")));
    assert.deepEqual(a.messages.map(String), ["n0", "n1", "n2"]);
    assert.deepEqual(status(a), { code: 0, message: "" });
  });

  test("a bidi stream: messages in order, the half-close reaches the handler", async () => {
    chatEvents.length = 0;
    const a = await call(session, "/t.T/Chat", Buffer.concat([frameMessage(Buffer.from("a")), frameMessage(Buffer.from("b"))]));
    assert.deepEqual(a.messages.map(String), ["re a", "re b"]);
    assert.deepEqual(chatEvents, ["msg a", "msg b", "half-close"]);
  });

  // (Node's client, like grpc-js's, half-closes before it resets: the handler may see both)
  test("a client that resets its stream cancels the call: onCancel runs, later sends do nothing", { timeout: 5000 }, async () => {
    chatEvents.length = 0;
    const p = call(session, "/t.T/Hold", frameMessage(Buffer.from("x")), {}, true);
    while (!chatEvents.includes("msg x")) await new Promise((r) => setTimeout(r, 5));
    p.stream.close(constants.NGHTTP2_CANCEL);
    await p;
    while (!chatEvents.includes("cancel")) await new Promise((r) => setTimeout(r, 5));
    assert.equal(chatCall!.done, true);
    assert.equal(chatCall!.write(Buffer.from("late")), false);
  });

  test("a paused call reads nothing more: no message is handed on and the client's window stays closed; resume() hands on the rest in order", { timeout: 20_000 }, async () => {
    const n = 1024; // 1000-byte messages (the server's limit is 1024): about 1 MiB in all
    const body = Buffer.concat(Array.from({ length: n }, (_, i) => frameMessage(Buffer.alloc(1000, i))));
    const sentBefore = session.socket.bytesWritten;
    const p = call(session, "/t.T/Gate", body, {}, false);
    // the connection carries other calls meanwhile: echo round trips until neither the gate's count nor what the
    // client manages to write moves (beyond the echoes themselves) for three round trips
    let still = 0;
    let last = { got: -1, written: -1 };
    for (let i = 0; i < 500 && still < 3; i++) {
      await call(session, "/t.T/Echo", frameMessage(Buffer.from("tick")));
      const now = { got: gateGot.length, written: session.socket.bytesWritten };
      still = now.got > 0 && now.got === last.got && now.written - last.written < 1024 ? still + 1 : 0;
      last = now;
    }
    const sent = session.socket.bytesWritten - sentBefore;
    assert.deepEqual(gateGot, [1000], "one message, then nothing while paused");
    assert.ok(sent < body.length / 4, `the client could send ${sent} of ${body.length} bytes: the paused stream's window stays closed`);
    gateCall!.resume();
    const a = await p;
    assert.deepEqual(status(a), { code: 0, message: "" });
    assert.deepEqual(a.messages.map(String), [String(n)]);
    assert.equal(gateGot.length, n);
  });

  test("a real client (grpc-js): unary and a server stream", async () => {
    const def = {
      echo: { path: "/t.T/Echo", requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
      three: { path: "/t.T/Three", requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
    } satisfies grpc.ServiceDefinition;
    const Client = grpc.makeGenericClientConstructor(def, "T");
    const c = new Client(net.endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      echo(b: Buffer, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: Error | null, v?: Buffer) => void): void;
      three(b: Buffer): grpc.ClientReadableStream<Buffer>;
    };
    try {
      const v = await new Promise<Buffer>((resolve, reject) => c.echo(Buffer.from("js"), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r!))));
      assert.equal(v.toString(), "js");
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = c.three(Buffer.from("s"));
        s.on("data", (b: Buffer) => got.push(b.toString()));
        s.on("end", resolve);
        s.on("error", reject);
      });
      assert.deepEqual(got, ["s0", "s1", "s2"]);
    } finally {
      c.close();
    }
  });
});
