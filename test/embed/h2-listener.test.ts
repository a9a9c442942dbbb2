/**
 * The client port's listener in front of the gRPC server (server/grpcwire's own HTTP/2): real clients and a raw
 * HTTP/2 client through SniffingListener, HTTP/1 on the same port, and etcdctl 3.4's ":authority: http://host:port"
 * (etcd accepts it; Node's nghttp2 reset it, which is one reason the server has its own HTTP/2).
 */
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  CLIENT_PREFACE,
  Flag,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  frameHeader,
  type Frame,
  type HeaderBlock,
} from "../../server/grpcwire/h2/frames.js";
import { HpackTable, decodeHeaderBlock, encodeString } from "../../server/grpcwire/h2/hpack.js";
import { SniffingListener } from "../../server/embed/sniffing-listener.js";
import { freePort } from "../support/ports.js";

const frame = (type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)) => Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
const str = (s: string, huffman = false) => encodeString(Buffer.from(s, "latin1"), huffman);
const SETTINGS = frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0x40, 0, 0])); // INITIAL_WINDOW_SIZE 4 MiB
const ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);
const PING = frame(FrameType.PING, 0, 0, Buffer.alloc(8, 1));

/** A gRPC request's header block as grpc-go writes it: :method POST, :scheme http, :path, :authority, content-type, te. */
function requestBlock(path: string, authority: string, huffman = true): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86, 0x44]), str(path, huffman),
    Buffer.from([0x41]), str(authority, huffman),
    Buffer.from([0x5f]), str("application/grpc", huffman),
    Buffer.from([0x40]), str("te"), str("trailers", huffman),
  ]);
}
const headers = (streamId: number, block: Buffer, flags: number = Flag.END_HEADERS) => frame(FrameType.HEADERS, flags, streamId, block);
const grpcMessage = (msg: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]).fill(msg.length, 4, 5);
const data = (streamId: number, msg: string) => frame(FrameType.DATA, Flag.END_STREAM, streamId, grpcMessage(Buffer.from(msg)));


const id = (b: Buffer) => b;
const unary = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id });
const ECHO = { host: unary("/test.Echo/Host"), echo: unary("/test.Echo/Echo") } satisfies grpc.ServiceDefinition;

/** A raw HTTP/2 client: sends what it is told, ACKs the server's SETTINGS (unless told not to), decodes responses. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly responses = new Map<number, { headers: [string, string][][]; data: Buffer[]; rst?: number }>();
  goaway: number | undefined;
  private readonly splitter = new FrameSplitter();
  private readonly blocks = new HeaderBlockAssembler();
  private readonly table = new HpackTable();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    private readonly autoAck: boolean,
  ) {
    socket.on("data", (chunk: Buffer) => {
      for (const f of this.splitter.push(chunk)) this.onFrame(f);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on("close", () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(port: number, opts: { autoAck?: boolean; waitForSettings?: boolean } = {}): Promise<RawClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const c = new RawClient(socket, opts.autoAck ?? true);
    socket.write(Buffer.concat([CLIENT_PREFACE, SETTINGS]));
    if (opts.waitForSettings ?? true) await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK)), "the server's SETTINGS");
    return c;
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK) && this.autoAck) this.socket.write(ACK);
    if (f.type === FrameType.GOAWAY) this.goaway = f.payload.readUInt32BE(4);
    const r = this.blocks.accept(f);
    const resp = () => {
      let x = this.responses.get(f.streamId);
      if (!x) this.responses.set(f.streamId, (x = { headers: [], data: [] }));
      return x;
    };
    if (typeof r !== "string") resp().headers.push(decodeHeaderBlock((r as HeaderBlock).block, this.table));
    else if (f.type === FrameType.DATA) resp().data.push(f.payload);
    else if (f.type === FrameType.RST_STREAM) resp().rst = f.payload.readUInt32BE(0);
  }

  async until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline || this.socket.destroyed) assert.fail(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** One unary call on streamId: the response message, or the RST_STREAM code. */
  async call(streamId: number, authority: string, opts: { huffman?: boolean } = {}): Promise<string | { rst: number }> {
    this.socket.write(Buffer.concat([headers(streamId, requestBlock("/test.Echo/Host", authority, opts.huffman ?? true)), data(streamId, "ping")]));
    await this.until(() => {
      const r = this.responses.get(streamId);
      return r !== undefined && (r.rst !== undefined || r.headers.length === 2);
    }, `stream ${streamId}'s response`);
    const r = this.responses.get(streamId)!;
    if (r.rst !== undefined) return { rst: r.rst };
    const trailers = Object.fromEntries(r.headers[1]!);
    assert.equal(trailers["grpc-status"], "0", JSON.stringify(trailers));
    return Buffer.concat(r.data).subarray(5).toString();
  }

  close(): void {
    this.socket.destroy();
  }
}

describe("SniffingListener in front of the gRPC server", () => {
  let server: GrpcServer;
  let listener: SniffingListener;
  let port: number;

  before(async () => {
    server = new GrpcServer({ maxReceiveBytes: 4 << 20, maxConcurrentStreams: 100, pingIntervalMs: 2 ** 31 - 1, pingTimeoutMs: 20_000, idleMs: 60_000 });
    const spec = (path: string): MethodSpec<Buffer, Buffer> => ({ path, kind: "unary", decode: id, encode: id });
    server.unary(spec(ECHO.host.path), (call) => call.reply(Buffer.from(String(call.headers[":authority"]))));
    server.unary(spec(ECHO.echo.path), (call, req) => call.reply(req));
    listener = new SniffingListener(server, (_req, res) => res.end("http/1"));
    port = await freePort();
    await listener.listen("127.0.0.1", port);
  });
  after(async () => {
    await listener.close();
    server.destroy();
  });

  const Client = grpc.makeGenericClientConstructor(ECHO, "Echo");
  async function grpcJs(options: grpc.ChannelOptions): Promise<string[]> {
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    try {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) out.push(await new Promise<string>((resolve, reject) => c.host(Buffer.from("x"), (err: Error | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString())))));
      return out;
    } finally {
      c.close();
    }
  }

  test("grpc-js with the usual :authority: answered, the host as sent", async () => {
    assert.deepEqual(await grpcJs({}), Array(3).fill(`127.0.0.1:${port}`));
  });

  test("grpc-js with :authority http://host:port (etcdctl 3.4's; nghttp2 resets it): answered, every call, the value as sent", async () => {
    assert.deepEqual(await grpcJs({ "grpc.default_authority": `http://127.0.0.1:${port}` }), Array(3).fill(`http://127.0.0.1:${port}`));
  });

  test("large messages both ways, many calls at once (flow control, backpressure)", async () => {
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": `http://127.0.0.1:${port}` });
    try {
      const echo = (b: Buffer) => new Promise<Buffer>((resolve, reject) => c.echo(b, (err: Error | null, v?: Buffer) => (err ? reject(err) : resolve(v!))));
      const msgs = Array.from({ length: 12 }, (_, i) => Buffer.alloc(i === 0 ? 3 << 20 : 100_000 * i, i + 1));
      const got = await Promise.all(msgs.map(echo));
      got.forEach((g, i) => assert.ok(g.equals(msgs[i]!), `message ${i}`));
      const host = await new Promise<string>((resolve, reject) => c.host(Buffer.alloc(0), (err: Error | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString()))));
      assert.equal(host, `http://127.0.0.1:${port}`);
    } finally {
      c.close();
    }
  });

  test("grpc-go's way (waits for SETTINGS, ACKs ours): either :authority answered, indexed and literal, no GOAWAY", async () => {
    for (const authority of [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`]) {
      const expected = authority;
      const c = await RawClient.open(port);
      try {
        assert.equal(c.frames[0]!.type, FrameType.SETTINGS, "the server's SETTINGS comes first");
        assert.equal(await c.call(1, authority), expected);
        // the second request is indexed from the dynamic table on the client's side
        assert.equal(await c.call(3, authority), expected);
        assert.equal(await c.call(5, authority, { huffman: false }), expected);
        await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK), "the ACK of our SETTINGS");
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(c.goaway, undefined);
        assert.equal(c.socket.destroyed, false);
      } finally {
        c.close();
      }
    }
  });

  test("HTTP/1 on the same port still answers", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(await res.text(), "http/1");
  });

  test("a request long after the handshake, any :authority: answered", async () => {
    const c = await RawClient.open(port);
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await c.call(1, `127.0.0.1:${port}`), `127.0.0.1:${port}`);
      assert.equal(await c.call(3, `http://127.0.0.1:${port}`), `http://127.0.0.1:${port}`);
    } finally {
      c.close();
    }
  });

  test("a PING before any request (an idle client's keepalive): answered, then the request", async () => {
    const c = await RawClient.open(port);
    try {
      c.socket.write(PING);
      await c.until(() => c.frames.some((f) => f.type === FrameType.PING && f.flags & Flag.ACK), "the PING ACK");
      assert.equal(await c.call(1, `127.0.0.1:${port}`), `127.0.0.1:${port}`);
    } finally {
      c.close();
    }
  });
});
