import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import {
  CLIENT_PREFACE,
  EMPTY_SETTINGS,
  Flag,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  frameHeader,
  type Frame,
  type HeaderBlock,
} from "../../server/embed/h2-frames.js";
import { HpackTable, decodeHeaderBlock, encodeString } from "../../server/embed/hpack-authority.js";
import { AuthorityRewriter, FirstRequestInspector, MAX_INSPECTED_BYTES, type Handover } from "../../server/embed/h2-handshake.js";
import { SniffingListener } from "../../server/embed/sniffing-listener.js";
import { freePort } from "../support/ports.js";

const frame = (type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)) => Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
const str = (s: string, huffman = false) => encodeString(Buffer.from(s, "latin1"), huffman);
const SETTINGS = frame(FrameType.SETTINGS, 0, 0, Buffer.from([0, 4, 0, 0x40, 0, 0])); // INITIAL_WINDOW_SIZE 4 MiB
const ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);
const WINDOW_UPDATE = frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0x3f, 0, 1]));
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

/** The header blocks in a client->server byte stream, decoded in order as nghttp2 would (one HPACK table). */
function decodeRequests(bytes: Buffer): { frames: Frame[]; blocks: [string, string][][] } {
  const frames = new FrameSplitter().push(bytes);
  const a = new HeaderBlockAssembler();
  const table = new HpackTable();
  const blocks: [string, string][][] = [];
  for (const f of frames) {
    const r = a.accept(f);
    if (typeof r !== "string") blocks.push(decodeHeaderBlock(r.block, table));
  }
  return { frames, blocks };
}
const authorityOf = (list: [string, string][]) => list.find(([n]) => n === ":authority")?.[1];

function feed(inspector: FirstRequestInspector, bytes: Buffer, step = bytes.length): Handover | undefined {
  for (let i = 0; i < bytes.length; i += step) {
    const h = inspector.push(bytes.subarray(i, i + step));
    if (h) {
      assert.equal(i + step >= bytes.length, true, "decided before the last byte");
      return h;
    }
  }
  return undefined;
}

describe("h2-handshake: FirstRequestInspector", () => {
  const clean = headers(1, requestBlock("/etcdserverpb.KV/Range", "127.0.0.1:2379"));
  const bad = headers(1, requestBlock("/etcdserverpb.Maintenance/Status", "http://127.0.0.1:2379"));

  test("grpc-go order (SETTINGS, ACK, HEADERS), clean :authority: raw, every byte but the ACK, at any chunking", () => {
    const stream = Buffer.concat([SETTINGS, WINDOW_UPDATE, ACK, clean, data(1, "req")]);
    for (const step of [1, 7, stream.length]) {
      const i = new FirstRequestInspector();
      const h = feed(i, stream.subarray(0, stream.length - data(1, "req").length), step);
      assert.equal(h?.mode, "raw", `step ${step}`);
      assert.ok(h!.bytes.equals(Buffer.concat([SETTINGS, WINDOW_UPDATE, clean])), `step ${step}: the ACK removed, nothing else`);
      assert.equal(i.outcome, "fine");
    }
  });

  test("the bad :authority (Huffman or raw): rewrite, with every byte received", () => {
    for (const huffman of [true, false]) {
      const b = headers(1, requestBlock("/x", "http://127.0.0.1:2379", huffman));
      const stream = Buffer.concat([SETTINGS, ACK, b]);
      const i = new FirstRequestInspector();
      const h = feed(i, stream, 5);
      assert.deepEqual(h && { mode: h.mode, same: h.bytes.equals(stream) }, { mode: "rewrite", same: true });
      assert.equal(i.outcome, "refused");
    }
  });

  test("HEADERS before the ACK (grpc-js, curl: no wait for the server's SETTINGS): waits for the ACK, keeps the DATA between", () => {
    const i = new FirstRequestInspector();
    assert.equal(i.push(Buffer.concat([SETTINGS, clean, data(1, "req")])), undefined);
    assert.equal(i.outcome, "fine");
    assert.equal(i.push(PING), undefined, "a PING after the request does not end the wait for the ACK");
    const h = i.push(Buffer.concat([ACK, WINDOW_UPDATE]));
    assert.equal(h?.mode, "raw");
    assert.ok(h!.bytes.equals(Buffer.concat([SETTINGS, clean, data(1, "req"), PING, WINDOW_UPDATE])));
    // and only the first ACK is ours
    const j = new FirstRequestInspector();
    const h2 = j.push(Buffer.concat([ACK, SETTINGS, ACK, clean]));
    assert.ok(h2!.bytes.equals(Buffer.concat([SETTINGS, ACK, clean])));
  });

  test("a bad :authority before the ACK: rewrite at once (the rewriter removes the ACK when it comes)", () => {
    const i = new FirstRequestInspector();
    const h = i.push(Buffer.concat([SETTINGS, bad]));
    assert.equal(h?.mode, "rewrite");
  });

  test("PADDED + PRIORITY HEADERS and CONTINUATIONs, the :authority split across frames", () => {
    const block = requestBlock("/p", "http://[::1]:2379", false);
    const at = block.indexOf(Buffer.from("http"));
    const prio = Buffer.from([0, 0, 0, 0, 15]);
    const stream = Buffer.concat([
      SETTINGS,
      ACK,
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 3, Buffer.concat([Buffer.from([4]), prio, block.subarray(0, at + 3), Buffer.alloc(4)])),
      frame(FrameType.CONTINUATION, 0, 3, block.subarray(at + 3, at + 9)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block.subarray(at + 9)),
    ]);
    const i = new FirstRequestInspector();
    assert.equal(feed(i, stream, 3)?.mode, "rewrite");
    const j = new FirstRequestInspector();
    const cleanBlock = requestBlock("/p", "h:1", false);
    const cleanStream = Buffer.concat([
      SETTINGS,
      ACK,
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 3, Buffer.concat([Buffer.from([2]), prio, cleanBlock.subarray(0, 10), Buffer.alloc(2)])),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, cleanBlock.subarray(10)),
    ]);
    assert.equal(j.push(cleanStream)?.mode, "raw");
    assert.equal(j.outcome, "fine");
  });

  test("another frame before the request (PING of an idle client, GOAWAY, RST_STREAM): raw, unexamined, once the ACK is in", () => {
    for (const first of [PING, frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8)), frame(FrameType.RST_STREAM, 0, 1, Buffer.alloc(4))]) {
      const i = new FirstRequestInspector();
      assert.equal(i.push(Buffer.concat([SETTINGS, first])), undefined, "the ACK is still due");
      const h = i.push(Buffer.concat([ACK, bad]));
      assert.equal(h?.mode, "raw");
      assert.ok(h!.bytes.equals(Buffer.concat([SETTINGS, first, bad])));
      assert.equal(i.outcome, "unexamined");
    }
  });

  test("malformed framing: raw, unexamined (nghttp2 judges it)", () => {
    const i = new FirstRequestInspector();
    const h = i.push(Buffer.concat([SETTINGS, ACK, frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, Buffer.from([0x82]))]));
    assert.equal(h?.mode, "raw");
    assert.equal(i.outcome, "unexamined");
    const j = new FirstRequestInspector();
    assert.equal(j.push(Buffer.concat([SETTINGS, ACK, headers(1, Buffer.from([0x80]))]))?.mode, "raw", "HPACK index 0");
  });

  test("giveUp (no request in time): raw when the ACK was seen, rewrite when not; the byte limit gives up too", () => {
    const i = new FirstRequestInspector();
    assert.equal(i.push(Buffer.concat([SETTINGS, ACK, WINDOW_UPDATE])), undefined);
    const h = i.giveUp();
    assert.deepEqual({ mode: h.mode, bytes: h.bytes.equals(Buffer.concat([SETTINGS, WINDOW_UPDATE])) }, { mode: "raw", bytes: true });
    assert.equal(i.outcome, "unexamined");
    const j = new FirstRequestInspector();
    j.push(SETTINGS);
    assert.equal(j.giveUp().mode, "rewrite");
    const k = new FirstRequestInspector();
    k.push(Buffer.concat([SETTINGS, ACK]));
    const big = frame(FrameType.HEADERS, 0, 1, Buffer.alloc(16_000, 0x82));
    let got: Handover | undefined;
    for (let n = 0; !got && n * big.length <= MAX_INSPECTED_BYTES + big.length; n++) got = k.push(n === 0 ? big : frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(16_000, 0x82)));
    assert.equal(got?.mode, "raw", "an endless header block is handed over as is");
  });
});

describe("h2-handshake: AuthorityRewriter", () => {
  test("removes the first SETTINGS ACK only; clean blocks and other frames pass byte for byte", () => {
    const clean = headers(1, requestBlock("/a", "h:1"));
    const stream = Buffer.concat([SETTINGS, ACK, clean, data(1, "x"), ACK, PING]);
    for (const step of [1, 10, stream.length]) {
      const r = new AuthorityRewriter();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) {
        const o = r.push(stream.subarray(i, i + step));
        if (o) out.push(o);
      }
      assert.ok(Buffer.concat(out).equals(Buffer.concat([SETTINGS, clean, data(1, "x"), ACK, PING])), `step ${step}`);
      assert.equal(r.rewrites, 0);
    }
  });

  test("rewrites every bad :authority on the connection; flags kept (END_STREAM, PRIORITY), padding and CONTINUATIONs folded", () => {
    const r = new AuthorityRewriter();
    const prio = Buffer.from([0x80, 0, 0, 1, 200]);
    const b3 = requestBlock("/c", "http://h:3", false);
    const input = Buffer.concat([
      SETTINGS,
      ACK,
      headers(1, requestBlock("/a", "http://h:1")),
      data(1, "one"),
      frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 3, Buffer.concat([Buffer.from([9]), prio, requestBlock("/b", "http://h:1"), Buffer.alloc(9)])),
      frame(FrameType.HEADERS, 0, 5, b3.subarray(0, 12)),
      frame(FrameType.CONTINUATION, Flag.END_HEADERS, 5, b3.subarray(12)),
      headers(7, requestBlock("/d", "fine:4")),
    ]);
    const out = r.push(input)!;
    const { frames, blocks } = decodeRequests(out);
    assert.deepEqual(blocks.map(authorityOf), ["http:__h:1", "http:__h:1", "http:__h:3", "fine:4"]);
    assert.deepEqual(blocks.map((l) => l.find(([n]) => n === ":path")![1]), ["/a", "/b", "/c", "/d"]);
    assert.deepEqual(frames.map((f) => [f.type, f.streamId]), [[4, 0], [1, 1], [0, 1], [1, 3], [1, 5], [1, 7]], "no ACK, one HEADERS per block");
    const h3 = frames[3]!;
    assert.equal(h3.flags, Flag.END_HEADERS | Flag.PRIORITY | Flag.END_STREAM);
    assert.ok(h3.payload.subarray(0, 5).equals(prio));
    assert.equal(frames[4]!.flags, Flag.END_HEADERS);
    assert.equal(r.rewrites, 3);
  });

  test("a rewritten block that outgrows 16384 bytes goes out as HEADERS + CONTINUATION", () => {
    // a block of exactly 16384 bytes with a Huffman-coded bad authority: written raw, the value takes more bytes
    const core = requestBlock("/big", "http://127.0.0.1:23790");
    const block = Buffer.concat([core, Buffer.from([0x00]), str("x-pad"), encodeString(Buffer.alloc(16_384 - core.length - 10, 0x61))]);
    assert.equal(block.length, 16_384);
    const r = new AuthorityRewriter();
    const out = r.push(Buffer.concat([ACK, headers(1, block, Flag.END_HEADERS | Flag.END_STREAM)]))!;
    const { frames, blocks } = decodeRequests(out);
    assert.deepEqual(frames.map((f) => f.type), [FrameType.HEADERS, FrameType.CONTINUATION]);
    assert.equal(frames[0]!.flags, Flag.END_STREAM);
    assert.equal(authorityOf(blocks[0]!), "http:__127.0.0.1:23790");
  });

  test("after a block that does not decode, everything passes as received (nghttp2 ends the connection)", () => {
    const r = new AuthorityRewriter();
    const broken = headers(1, Buffer.from([0x80]));
    const later = headers(3, requestBlock("/a", "http://h:1"));
    assert.ok(r.push(Buffer.concat([ACK, broken, later]))!.equals(Buffer.concat([broken, later])));
  });
});

// ---- against the real thing: SniffingListener in front of the client port's gRPC server (Node's http2: nghttp2)

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

describe("h2-handshake: SniffingListener in front of the gRPC server (nghttp2)", () => {
  let server: GrpcServer;
  let listener: SniffingListener;
  let port: number;
  const WAIT_MS = 300;

  before(async () => {
    server = new GrpcServer({ maxReceiveBytes: 4 << 20, maxConcurrentStreams: 100, pingIntervalMs: 2 ** 31 - 1, pingTimeoutMs: 20_000, idleMs: 60_000 });
    const spec = (path: string): MethodSpec<Buffer, Buffer> => ({ path, kind: "unary", decode: id, encode: id });
    server.unary(spec(ECHO.host.path), (call) => call.reply(Buffer.from(String(call.headers[":authority"]))));
    server.unary(spec(ECHO.echo.path), (call, req) => call.reply(req));
    listener = new SniffingListener(server, (_req, res) => res.end("http/1"), { firstRequestWaitMs: WAIT_MS });
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

  test("grpc-js with the usual :authority: answered, the host as sent (the raw-socket path)", async () => {
    assert.deepEqual(await grpcJs({}), Array(3).fill(`127.0.0.1:${port}`));
  });

  test("grpc-js with :authority http://host:port (nghttp2 alone resets it): answered, every call", async () => {
    assert.deepEqual(await grpcJs({ "grpc.default_authority": `http://127.0.0.1:${port}` }), Array(3).fill(`http:__127.0.0.1:${port}`));
  });

  test("the rewriting path carries large messages both ways, many calls at once (flow control, backpressure)", async () => {
    const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": `http://127.0.0.1:${port}` });
    try {
      const echo = (b: Buffer) => new Promise<Buffer>((resolve, reject) => c.echo(b, (err: Error | null, v?: Buffer) => (err ? reject(err) : resolve(v!))));
      const msgs = Array.from({ length: 12 }, (_, i) => Buffer.alloc(i === 0 ? 3 << 20 : 100_000 * i, i + 1));
      const got = await Promise.all(msgs.map(echo));
      got.forEach((g, i) => assert.ok(g.equals(msgs[i]!), `message ${i}`));
      const host = await new Promise<string>((resolve, reject) => c.host(Buffer.alloc(0), (err: Error | null, v?: Buffer) => (err ? reject(err) : resolve(v!.toString()))));
      assert.equal(host, `http:__127.0.0.1:${port}`, "it was the rewriting path");
    } finally {
      c.close();
    }
  });

  test("grpc-go's way (waits for SETTINGS, ACKs ours): clean and bad :authority answered, no GOAWAY after both ACKs", async () => {
    for (const [authority, expected] of [[`127.0.0.1:${port}`, `127.0.0.1:${port}`], [`http://127.0.0.1:${port}`, `http:__127.0.0.1:${port}`]] as const) {
      const c = await RawClient.open(port);
      try {
        assert.ok(c.frames[0]!.raw.equals(EMPTY_SETTINGS), "the listener's empty SETTINGS comes first");
        assert.equal(await c.call(1, authority), expected);
        // the second request is indexed from the dynamic table on the client's side
        assert.equal(await c.call(3, authority), expected);
        assert.equal(await c.call(5, authority, { huffman: false }), expected);
        await c.until(() => c.frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK), "the ACK of our SETTINGS");
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(c.goaway, undefined, "nghttp2 saw no stray SETTINGS ACK");
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

  test("no request within the wait: handed over raw (a later bad :authority is refused: the limitation), unless our ACK never came", async () => {
    const c = await RawClient.open(port);
    try {
      await new Promise((r) => setTimeout(r, WAIT_MS + 200));
      assert.equal(await c.call(1, `127.0.0.1:${port}`), `127.0.0.1:${port}`);
      assert.deepEqual(await c.call(3, `http://127.0.0.1:${port}`), { rst: 1 }, "PROTOCOL_ERROR, as without the listener's help");
    } finally {
      c.close();
    }
    const d = await RawClient.open(port, { autoAck: false });
    try {
      await new Promise((r) => setTimeout(r, WAIT_MS + 200));
      d.socket.write(Buffer.concat([ACK, ACK])); // ours (removed by the rewriting path), then nghttp2's
      assert.equal(await d.call(1, `http://127.0.0.1:${port}`), `http:__127.0.0.1:${port}`);
      assert.equal(d.goaway, undefined);
    } finally {
      d.close();
    }
  });

  test("a PING before any request (an idle client's keepalive): raw handover, answered", async () => {
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
