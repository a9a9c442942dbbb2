/**
 * The receiving end of one Snapshot call: the first chunk carries the raft MsgSnap, the others the
 * backend database, written to disk chunk by chunk (the call is paused while a chunk is written, so
 * at most one chunk per call is in memory and the sender waits on HTTP/2 flow control). The database
 * is committed at its known path before raft sees the message, as etcd's snapshotHandler does.
 *
 * When the call ends any other way (refused, cancelled, the connection gone, a message the gRPC layer
 * refused) the partial database is removed. A Node or grpc-js client's cancel sends END_STREAM and then
 * RST_STREAM, so a half-close does not by itself mean the snapshot is whole: before committing, the
 * receiver makes a PING round trip on the connection (frames arrive in order: a reset sent with the
 * half-close has then been read and has cancelled the call), and it asks again once the data is durable
 * (before the rename) and before raft gets the message.
 */
import type { ServerCall } from "../grpcwire/server-call.js";
import { Code } from "../grpcwire/status.js";
import { decodeMessage } from "../raft/message-codec.js";
import { MessageType, type Message } from "../raft/types.js";
import { SnapDbReceiver } from "../snap/db-file.js";
import { failpoint } from "../util/failpoint.js";
import { idToHex } from "../membership/ids.js";
import { MAX_SNAPSHOT_CHUNK_BYTES } from "./limits.js";

export interface SnapshotSink {
  /** The snap directory (received databases go there). */
  readonly dir: string;
  readonly localId: bigint;
  /** The sender, as the call's identity says. */
  readonly from: bigint;
  /** The database is at snapDbPath(dir, index): step the message into raft. */
  deliver(m: Message): Promise<void>;
}

export interface Chunk {
  readonly message: Buffer;
  readonly db: Buffer;
}

class Refused extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Why a decoded message cannot be this call's snapshot (etcd: "wrong raft message type"), or undefined. */
export function checkSnapshotMessage(m: Message, from: bigint, localId: bigint): string | undefined {
  if (m.type !== MessageType.Snap) return `wrong raft message type ${MessageType[m.type] ?? m.type} on the snapshot call`;
  if (m.from !== from || m.to !== localId) return `snapshot message from ${idToHex(m.from)} to ${idToHex(m.to)} on a call from ${idToHex(from)} to ${idToHex(localId)}`;
  if (!m.snapshot || m.snapshot.metadata.index === 0) return "snapshot message without a snapshot";
  return undefined;
}

export class SnapshotReception {
  private msg: Message | undefined;
  private db: SnapDbReceiver | undefined;
  private chain: Promise<void> = Promise.resolve();
  private settled = false;

  constructor(
    private readonly sink: SnapshotSink,
    private readonly call: ServerCall<Chunk, object>,
    /** Why the reception failed, for the log (the call's own answer is sent here). */
    private readonly onFailed: (why: string) => void,
  ) {
    call.onMessage = (c) => this.onChunk(c);
    call.onHalfClose = () => this.enqueue(() => this.finish());
    // any other end: cancelled, the connection gone, or refused by the gRPC layer (a message over the limit)
    call.onDone(() => this.abandon(call.cancelled ? "snapshot call cancelled" : `snapshot call failed: ${call.endedWith?.message ?? ""}`));
  }

  /** Bytes of database written so far. */
  get received(): number {
    return this.db?.received ?? 0;
  }

  private onChunk(c: Chunk): void {
    if (this.settled) return;
    this.call.pause();
    this.enqueue(async () => {
      await this.handle(c);
      if (!this.settled) this.call.resume();
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.settled) return;
      try {
        await step();
      } catch (e) {
        this.fail(e instanceof Refused ? e : new Refused(Code.INTERNAL, (e as Error).message));
      }
    });
  }

  private async handle(c: Chunk): Promise<void> {
    if (c.db.length > MAX_SNAPSHOT_CHUNK_BYTES) {
      throw new Refused(Code.RESOURCE_EXHAUSTED, `snapshot chunk of ${c.db.length} bytes is over the limit of ${MAX_SNAPSHOT_CHUNK_BYTES}`);
    }
    if (c.message.length > 0) {
      if (this.msg) throw new Refused(Code.INVALID_ARGUMENT, "a second raft message in one snapshot call");
      let m: Message;
      try {
        m = decodeMessage(c.message);
      } catch (e) {
        throw new Refused(Code.INVALID_ARGUMENT, `failed to decode raft message (${(e as Error).message})`);
      }
      const why = checkSnapshotMessage(m, this.sink.from, this.sink.localId);
      if (why) throw new Refused(Code.INVALID_ARGUMENT, why);
      this.msg = m;
      this.db = await SnapDbReceiver.open(this.sink.dir, m.snapshot!.metadata.index);
      if (this.settled) return void this.db.abort(); // the call ended while the file was being created
    }
    if (c.db.length > 0) {
      if (!this.db) throw new Refused(Code.INVALID_ARGUMENT, "snapshot data before its raft message");
      await this.db.write(c.db);
    }
  }

  /** The client half-closed: the snapshot is whole unless a reset follows (see the module comment). */
  private async finish(): Promise<void> {
    if (!this.msg || !this.db) throw new Refused(Code.INVALID_ARGUMENT, "snapshot without a raft message");
    if (!(await this.call.roundTrip())) throw new Refused(Code.UNAVAILABLE, "the connection closed before the snapshot was committed");
    if (this.settled) return;
    const path = await this.db.commit(() => !this.settled);
    // cancelled meanwhile: the file was removed, or (cancelled after the rename) stays at its path as after a crash
    // there, unknown to raft: replaced by the next reception for that index, or released (releaseSnapDbs) by a later
    // snapshot install or start-up once the backend is past its index
    if (path === undefined || this.settled) return;
    failpoint("snapDbAfterRename");
    await this.sink.deliver(this.msg);
    this.settled = true;
    this.call.reply({});
  }

  private fail(e: Refused): void {
    if (this.settled) return;
    this.abandon(e.message);
    this.call.fail({ code: e.code, message: e.message });
  }

  private abandon(why: string): void {
    if (this.settled) return;
    this.settled = true;
    void this.db?.abort();
    this.onFailed(why);
  }
}
