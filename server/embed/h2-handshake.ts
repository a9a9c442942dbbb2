/**
 * The client port's look at a gRPC connection's first request, before the gRPC server (server/grpcwire, nghttp2) gets the connection.
 *
 * Why: etcdctl 3.4's per-endpoint commands (endpoint status/hash, move-leader, given --endpoints=http://host:port)
 * send ":authority: http://host:port". nghttp2 refuses a '/' in :authority and resets the stream (PROTOCOL_ERROR);
 * etcd's Go server takes it. So the listener reads up to the first request's header block, and only a connection
 * whose :authority nghttp2 would refuse pays for a rewriting stream in front of the gRPC server; every other connection is
 * handed over as the raw socket, as before, with no cost per byte afterwards.
 *
 * How it sees the request at all: grpc-go sends nothing after its preface and SETTINGS until it has the server's
 * SETTINGS. HTTP/2 lets a server send SETTINGS more than once, so the listener sends an empty one (every setting
 * keeps its value) and nghttp2 later sends its own. The client ACKs ours; nghttp2 never sent it and would take that
 * ACK as a connection error, so the first SETTINGS ACK is removed from what nghttp2 gets.
 *
 * FirstRequestInspector decides (pure: bytes in, a handover out); AuthorityRewriter is the client->server byte
 * transform of the slow path; RewritingConnection is the Duplex the gRPC server gets on that path.
 */
import { Duplex } from "node:stream";
import type { Socket } from "node:net";
import {
  CLIENT_PREFACE,
  FrameError,
  FrameSplitter,
  FrameType,
  HeaderBlockAssembler,
  encodeHeaderBlock,
  isSettingsAck,
  type Frame,
} from "./h2-frames.js";
import { HpackError, HpackTable, hasUnacceptableAuthority, rewriteAuthority } from "./hpack-authority.js";

/**
 * How long the listener waits for the first request's header block (and the ACK of its SETTINGS) before handing the
 * connection over without looking. A client with a call to make sends it right after the SETTINGS exchange (well
 * under a millisecond on one host), so this only runs out on a connection opened ahead of use; waiting costs such a
 * connection nothing (it has nothing in flight to delay), and the longer the wait, the fewer of them are handed over
 * unlooked (a later bad :authority on those would still be refused). A client with keepalive sends a PING first,
 * which ends the wait at once.
 */
export const FIRST_REQUEST_WAIT_MS = 10_000;
/** Bytes the inspector holds at most (before the first request only SETTINGS, WINDOW_UPDATE and PRIORITY are expected). */
export const MAX_INSPECTED_BYTES = 256 * 1024;
/** A header block larger than this is passed through unexamined (nghttp2 applies its own limits). */
const MAX_HEADER_BLOCK = 256 * 1024;

/** What the listener gives the gRPC server: the socket itself with these bytes unshifted, or a RewritingConnection replaying them. */
export type Handover = { mode: "raw"; bytes: Buffer } | { mode: "rewrite"; bytes: Buffer };

/** Frames a client may send before its first request without telling anything about it. */
const HARMLESS_BEFORE_REQUEST = new Set<number>([FrameType.SETTINGS, FrameType.WINDOW_UPDATE, FrameType.PRIORITY]);

/**
 * Fed the client's bytes after the preface; push() returns undefined while it needs more, then the handover:
 * - the first header block's :authority is fine (or it could not look: another frame came first, a malformed frame)
 *   and the ACK of the listener's SETTINGS has been seen: "raw", the bytes without that ACK;
 * - the :authority is one nghttp2 refuses: "rewrite", every byte received (the rewriter removes the ACK itself);
 * giveUp() (time or size limit) hands over as things stand: "raw" if the ACK was seen, else "rewrite".
 */
export class FirstRequestInspector {
  private readonly splitter = new FrameSplitter();
  private readonly blocks = new HeaderBlockAssembler(MAX_HEADER_BLOCK);
  private readonly received: Buffer[] = [];
  private receivedLength = 0;
  /** Offset of the next whole frame in the received bytes. */
  private offset = 0;
  /** Offset of the ACK of the listener's SETTINGS, once seen. */
  private ackAt = -1;
  private verdict: "pending" | "fine" | "refused" | "unexamined" = "pending";
  /** The client's own SETTINGS (the end of its connection preface, RFC 9113 §3.4) has arrived. */
  sawClientSettings = false;

  push(chunk: Buffer): Handover | undefined {
    if (chunk.length === 0) return undefined;
    this.received.push(chunk);
    this.receivedLength += chunk.length;
    for (const f of this.splitter.push(chunk)) {
      this.onFrame(f);
      this.offset += f.raw.length;
    }
    if (this.verdict === "refused") return this.handover();
    if (this.verdict !== "pending" && this.ackAt >= 0) return this.handover();
    if (this.receivedLength > MAX_INSPECTED_BYTES) return this.giveUp();
    return undefined;
  }

  giveUp(): Handover {
    if (this.verdict === "pending") this.verdict = "unexamined";
    return this.handover();
  }

  /** What was decided about the first request (for logs and tests). */
  get outcome(): "pending" | "fine" | "refused" | "unexamined" {
    return this.verdict;
  }

  private onFrame(f: Frame): void {
    if (f.type === FrameType.SETTINGS && !isSettingsAck(f)) this.sawClientSettings = true;
    if (this.ackAt < 0 && isSettingsAck(f)) {
      this.ackAt = this.offset;
      return;
    }
    if (this.verdict !== "pending") return;
    try {
      const r = this.blocks.accept(f);
      if (r === "partial") return;
      if (r === "other") {
        if (!HARMLESS_BEFORE_REQUEST.has(f.type)) this.verdict = "unexamined";
        return;
      }
      this.verdict = hasUnacceptableAuthority(r.block, new HpackTable()) ? "refused" : "fine";
    } catch (e) {
      if (!(e instanceof FrameError || e instanceof HpackError)) throw e;
      this.verdict = "unexamined"; // nghttp2 will have its say on it
    }
  }

  private handover(): Handover {
    const all = this.received.length === 1 ? this.received[0]! : Buffer.concat(this.received, this.receivedLength);
    if (this.verdict === "refused" || this.ackAt < 0) return { mode: "rewrite", bytes: all };
    return { mode: "raw", bytes: Buffer.concat([all.subarray(0, this.ackAt), all.subarray(this.ackAt + 9)]) };
  }
}

/**
 * The client->server transform of the slow path, for the whole connection (after the preface): removes the ACK of
 * the listener's SETTINGS (the first SETTINGS ACK) and rewrites, in every header block, the :authority values
 * nghttp2 refuses (hpack-authority.ts), re-framing a changed block as HEADERS (+ CONTINUATION). Other frames, and
 * unchanged blocks, go through as received. A block that does not parse is passed through and so is everything after
 * it: nghttp2 will end the connection over it, and the HPACK table can't be followed past it anyway.
 */
export class AuthorityRewriter {
  private readonly splitter = new FrameSplitter();
  private readonly blocks = new HeaderBlockAssembler(MAX_HEADER_BLOCK);
  private readonly table = new HpackTable();
  private ackPending = true;
  private broken = false;
  /** The frames of a header block waiting for its END_HEADERS. */
  private held: Buffer[] = [];
  /** Header blocks rewritten so far (for tests and logs). */
  rewrites = 0;

  push(chunk: Buffer): Buffer | undefined {
    const out: Buffer[] = [];
    for (const f of this.splitter.push(chunk)) {
      if (this.ackPending && isSettingsAck(f)) {
        this.ackPending = false;
        continue;
      }
      if (this.broken) {
        out.push(f.raw);
        continue;
      }
      this.onFrame(f, out);
    }
    if (out.length === 0) return undefined;
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  private onFrame(f: Frame, out: Buffer[]): void {
    let r: ReturnType<HeaderBlockAssembler["accept"]>;
    try {
      r = this.blocks.accept(f);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.breakWith(out, f.raw);
      return;
    }
    if (r === "other") out.push(f.raw);
    else if (r === "partial") this.held.push(f.raw);
    else {
      this.held = [];
      let rewritten: { block: Buffer; changed: boolean };
      try {
        rewritten = rewriteAuthority(r.block, this.table);
      } catch (e) {
        if (!(e instanceof HpackError)) throw e;
        this.breakWith(out, ...r.frames.map((x) => x.raw));
        return;
      }
      if (!rewritten.changed) for (const x of r.frames) out.push(x.raw);
      else {
        this.rewrites++;
        out.push(encodeHeaderBlock(r.streamId, r.flags, r.priority, rewritten.block));
      }
    }
  }

  private breakWith(out: Buffer[], ...raw: Buffer[]): void {
    this.broken = true;
    out.push(...this.held, ...raw);
    this.held = [];
  }
}

/**
 * The slow path's stand-in for the socket: the gRPC server (Node's http2, through its JS stream wrapper) reads the client's
 * bytes through an AuthorityRewriter and writes straight to the socket.
 */
export class RewritingConnection extends Duplex {
  private readonly rewriter = new AuthorityRewriter();

  /** received: the client's bytes after the preface so far; the preface itself goes to nghttp2 first, as sent. */
  constructor(
    private readonly socket: Socket,
    received: Buffer,
  ) {
    super({ allowHalfOpen: false });
    this.push(CLIENT_PREFACE);
    this.forward(received);
    socket.on("data", (chunk: Buffer) => this.forward(chunk));
    socket.on("end", () => this.push(null));
    socket.on("close", () => this.destroy());
    socket.on("error", (err) => this.destroy(err));
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  /** How many header blocks had their :authority rewritten. */
  get rewrites(): number {
    return this.rewriter.rewrites;
  }

  private forward(chunk: Buffer): void {
    const out = this.rewriter.push(chunk);
    if (out && !this.push(out)) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
