import { status } from "@grpc/grpc-js";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "../log/logger.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { idToHex } from "../membership/ids.js";
import { decodeMessage } from "../raft/message-codec.js";
import type { Message } from "../raft/types.js";
import { trace, TRACING } from "../util/latency-trace.js";
import { encodeFrames, FrameError, FrameKind, FrameReader } from "./frames.js";
import { checkIdentity, identityFromHeaders, REMOVED_MESSAGE, type Refusal } from "./handshake.js";
import { checkStreamMessage, PEER_WARNING_INTERVAL_MS, type PeerReceiver } from "./peer-service.js";

/** The peer port's path for a raft stream, and the protocol its upgrade names. */
export const RAFT_STREAM_PATH = "/etcdts/raft/stream";
export const RAFT_STREAM_PROTOCOL = "etcdts-raft/1";

/** A sender pings every 10 s (peer-sender.ts); a stream silent for this long is gone (a partition, a paused peer). */
export const STREAM_IDLE_MS = 30_000;

/** etcd's rafthttp answers: 412 for another cluster or member, 410 Gone for a removed member. */
const HTTP_STATUS: Partial<Record<status, number>> = { [status.INVALID_ARGUMENT]: 400, [status.FAILED_PRECONDITION]: 412, [status.PERMISSION_DENIED]: 410 };
const REASON: Record<number, string> = { 400: "Bad Request", 404: "Not Found", 410: "Gone", 412: "Precondition Failed" };

const PONG = encodeFrames([{ kind: FrameKind.Pong, payload: Buffer.alloc(0) }]);
/** Pongs a sender has not read beyond this many bytes: it pings without reading (hostile), and is cut off. */
const MAX_UNREAD_ANSWERS = 64 * 1024;

/**
 * The receiving side of raft streams: an HTTP upgrade on the peer port (after TLS and the listener's
 * connection limits), then length-prefixed raft messages on the bare connection (frames.ts). Until
 * peers authenticate with TLS, the identity headers are all a member has to go by: every stream and
 * every message is checked against the current membership, and what fails is dropped with a
 * rate-limited warning. It replaces a gRPC stream, whose framing cost about as much CPU per message
 * as the message itself (bench/figures/2026-12-05-raft-stream.md).
 */
export class RaftStreamReceiver {
  /** Open streams by sender: a removed member is told at once (it may have nothing more to send: a learner never campaigns). */
  private readonly open = new Map<bigint, Set<() => void>>();
  // a peer sending garbage must not flood the log: one line per kind and sender per interval, with a count of the rest
  private readonly limited: RateLimitedLog;

  constructor(
    private readonly r: PeerReceiver,
    logger: Logger,
    private readonly maxFrameBytes: number,
    private readonly idleMs = STREAM_IDLE_MS,
  ) {
    this.limited = new RateLimitedLog(logger, PEER_WARNING_INTERVAL_MS);
    r.onMemberRemoved((id) => {
      for (const refuse of this.open.get(id) ?? []) refuse();
      this.open.delete(id);
    });
  }

  /** Is this upgrade request a raft stream (else the listener answers it as an unknown path)? */
  static wants(req: IncomingMessage): boolean {
    return (req.url ?? "").split("?")[0] === RAFT_STREAM_PATH && (req.headers.upgrade ?? "").toLowerCase() === RAFT_STREAM_PROTOCOL;
  }

  /** Takes over an upgraded connection: refuses it with an HTTP answer, or serves it as a raft stream. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (!RaftStreamReceiver.wants(req)) return refuseHttp(socket, 404, "not found");
    const id = identityFromHeaders((k) => headerValue(req.headers[k]));
    const refusal = checkIdentity(id, this.r.localIdentity());
    if (refusal) {
      this.limited.log(`stream:${refusal.message}`, { error: refusal.message }, "refused a peer stream");
      return refuseHttp(socket, statusOf(refusal), refusal.message);
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${RAFT_STREAM_PROTOCOL}\r\n\r\n`);
    this.serve(id!.from, socket, head);
  }

  private serve(from: bigint, socket: Duplex, head: Buffer): void {
    const s = socket as Duplex & { setNoDelay?: (b: boolean) => void; setTimeout?: (ms: number, cb: () => void) => void };
    s.setNoDelay?.(true);
    s.setTimeout?.(this.idleMs, () => socket.destroy());
    const reader = new FrameReader(this.maxFrameBytes);
    let done = false;
    const refuse = () => {
      if (done) return;
      done = true;
      socket.end(encodeFrames([{ kind: FrameKind.Removed, payload: Buffer.from(REMOVED_MESSAGE) }]));
    };
    const mine = this.open.get(from) ?? new Set<() => void>();
    mine.add(refuse);
    this.open.set(from, mine);
    socket.once("close", () => mine.delete(refuse));
    socket.on("end", () => socket.end());
    const onData = (chunk: Buffer) => {
      if (done) return;
      if (this.r.localIdentity().removed.has(from)) return refuse();
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (e) {
        if (!(e instanceof FrameError)) throw e;
        this.limited.log(`frame:${from}`, { "remote-peer-id": idToHex(from), error: e.message }, "closing a raft stream");
        done = true;
        socket.destroy();
        return;
      }
      if (frames.length === 0) return;
      const member = this.r.isMember(from);
      const localId = this.r.localIdentity().memberId;
      for (const f of frames) {
        if (f.kind === FrameKind.Ping) {
          if (socket.writableLength > MAX_UNREAD_ANSWERS) {
            this.limited.log(`frame:${from}`, { "remote-peer-id": idToHex(from), error: "pings whose answers are not read" }, "closing a raft stream");
            done = true;
            return void socket.destroy();
          }
          socket.write(PONG);
        } else if (f.kind !== FrameKind.Message) {
          this.limited.log(`frame:${from}`, { "remote-peer-id": idToHex(from), error: `frame kind ${f.kind} from a sender` }, "closing a raft stream");
          done = true;
          return void socket.destroy();
        } else if (!member) this.dropNonMember(from);
        else this.receive(from, localId, f.payload);
      }
    };
    socket.on("data", onData);
    if (head.length > 0) onData(head);
  }

  private dropNonMember(from: bigint): void {
    this.limited.log(`non-member:${from}`, { "remote-peer-id": idToHex(from), what: "raft messages" }, "dropping peer traffic from a sender that is not a member of the cluster");
  }

  private receive(from: bigint, localId: bigint, bytes: Buffer): void {
    let m: Message;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      this.limited.log(`undecodable:${from}`, { "remote-peer-id": idToHex(from), error: (e as Error).message }, "dropping an undecodable raft message");
      return;
    }
    const why = checkStreamMessage(m, from, localId);
    if (why) {
      this.limited.log(`refused:${from}`, { "remote-peer-id": idToHex(from), reason: why }, "dropping a raft message");
      return;
    }
    if (TRACING) trace(`recv${m.type}`, m.entries.at(-1)?.index ?? m.index, m.from);
    this.r.receive(m);
  }
}

function statusOf(r: Refusal): number {
  return HTTP_STATUS[r.code] ?? 400;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** An HTTP answer on a connection that asked for an upgrade, then close (etcd's rafthttp answers refusals in plain text). */
function refuseHttp(socket: Duplex, status: number, text: string): void {
  const body = Buffer.from(`${text}\n`);
  socket.end(`HTTP/1.1 ${status} ${REASON[status] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString()}`);
}
