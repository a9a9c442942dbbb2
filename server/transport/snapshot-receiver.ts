/**
 * The receiving end of one Snapshot call: the first chunk carries the raft MsgSnap, the others the
 * backend database, written to disk chunk by chunk (the call is paused while a chunk is written, so
 * at most one chunk per call is in memory). The database is committed at its known path before raft
 * sees the message, as etcd's snapshotHandler does.
 */
import * as grpc from "@grpc/grpc-js";
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
    readonly code: grpc.status,
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
    private readonly call: grpc.ServerReadableStream<Chunk, object>,
    private readonly callback: grpc.sendUnaryData<object>,
  ) {
    call.on("data", (c: Chunk) => this.onChunk(c));
    call.on("end", () => this.enqueue(() => this.finish()));
    call.on("error", () => this.fail(new Refused(grpc.status.CANCELLED, "snapshot call failed")));
    call.on("cancelled", () => this.fail(new Refused(grpc.status.CANCELLED, "snapshot call cancelled")));
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
        this.fail(e instanceof Refused ? e : new Refused(grpc.status.INTERNAL, (e as Error).message));
      }
    });
  }

  private async handle(c: Chunk): Promise<void> {
    if (c.db.length > MAX_SNAPSHOT_CHUNK_BYTES) {
      throw new Refused(grpc.status.RESOURCE_EXHAUSTED, `snapshot chunk of ${c.db.length} bytes is over the limit of ${MAX_SNAPSHOT_CHUNK_BYTES}`);
    }
    if (c.message.length > 0) {
      if (this.msg) throw new Refused(grpc.status.INVALID_ARGUMENT, "a second raft message in one snapshot call");
      let m: Message;
      try {
        m = decodeMessage(c.message);
      } catch (e) {
        throw new Refused(grpc.status.INVALID_ARGUMENT, `failed to decode raft message (${(e as Error).message})`);
      }
      const why = checkSnapshotMessage(m, this.sink.from, this.sink.localId);
      if (why) throw new Refused(grpc.status.INVALID_ARGUMENT, why);
      this.msg = m;
      this.db = await SnapDbReceiver.open(this.sink.dir, m.snapshot!.metadata.index);
    }
    if (c.db.length > 0) {
      if (!this.db) throw new Refused(grpc.status.INVALID_ARGUMENT, "snapshot data before its raft message");
      await this.db.write(c.db);
    }
  }

  private async finish(): Promise<void> {
    if (!this.msg || !this.db) throw new Refused(grpc.status.INVALID_ARGUMENT, "snapshot without a raft message");
    await this.db.commit();
    failpoint("snapDbAfterRename");
    await this.sink.deliver(this.msg);
    this.settled = true;
    this.callback(null, {});
  }

  private fail(e: Refused): void {
    if (this.settled) return;
    this.settled = true;
    void this.db?.abort();
    this.callback({ code: e.code, details: e.message });
  }
}
