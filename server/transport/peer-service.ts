import * as grpc from "@grpc/grpc-js";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log/logger.js";
import { decodeMessage } from "../raft/message-codec.js";
import type { Message } from "../raft/types.js";
import { checkIdentity, readIdentity, REMOVED_MESSAGE } from "./handshake.js";

export interface PeerReceiver {
  localIdentity(): { clusterId: bigint; memberId: bigint; removed: ReadonlySet<bigint> };
  /** Steps a message from a peer into raft. */
  receive(m: Message): void;
  /** A snapshot arrived: its database is in `dbFile` (the receiver owns the file from now on). */
  receiveSnapshot(m: Message, dbFile: string): Promise<void>;
  /** Where incoming snapshot databases are written. */
  snapshotDir(): string;
  /** Registers a callback for members removed from the cluster (their open streams are then closed). */
  onMemberRemoved(listener: (id: bigint) => void): void;
}

/** The receiving side of the peer transport. */
export function peerService(r: PeerReceiver, logger: Logger): grpc.UntypedServiceImplementation {
  // Open incoming streams by sender: a removed member is told at once, as etcd's peers do (410 Gone),
  // since it may have nothing more to send (a learner never campaigns).
  const open = new Map<bigint, Set<() => void>>();
  r.onMemberRemoved((id) => {
    for (const refuse of open.get(id) ?? []) refuse();
    open.delete(id);
  });
  return {
    Stream(call: grpc.ServerReadableStream<{ messages: Buffer[] }, object>, callback: grpc.sendUnaryData<object>) {
      const refusal = checkIdentity(readIdentity(call.metadata), r.localIdentity());
      if (refusal) {
        logger.warn({ error: refusal.message }, "refused a peer stream");
        callback({ code: refusal.code, details: refusal.message });
        return;
      }
      call.sendMetadata(new grpc.Metadata());
      const from = readIdentity(call.metadata)!.from;
      let done = false;
      const refuse = () => {
        if (done) return;
        done = true;
        callback({ code: grpc.status.PERMISSION_DENIED, details: REMOVED_MESSAGE });
      };
      const mine = open.get(from) ?? new Set<() => void>();
      mine.add(refuse);
      open.set(from, mine);
      call.on("close", () => mine.delete(refuse));
      call.on("data", (batch: { messages: Buffer[] }) => {
        if (done) return;
        if (r.localIdentity().removed.has(from)) return refuse();
        for (const b of batch.messages) {
          try {
            r.receive(decodeMessage(b));
          } catch (e) {
            logger.warn({ error: (e as Error).message }, "dropping an undecodable raft message");
          }
        }
      });
      call.on("end", () => {
        if (!done) callback(null, {});
      });
      call.on("error", () => undefined);
    },

    Snapshot(call: grpc.ServerReadableStream<{ message: Buffer; db: Buffer }, object>, callback: grpc.sendUnaryData<object>) {
      const refusal = checkIdentity(readIdentity(call.metadata), r.localIdentity());
      if (refusal) {
        callback({ code: refusal.code, details: refusal.message });
        return;
      }
      const file = join(r.snapshotDir(), `incoming-${process.hrtime.bigint()}.db`);
      const out = createWriteStream(file, { mode: 0o600 }); // the received database: private, as every data file
      let msg: Message | undefined;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        out.destroy();
        void rm(file, { force: true });
        callback({ code: grpc.status.INTERNAL, details: e.message });
      };
      call.on("data", (chunk: { message: Buffer; db: Buffer }) => {
        if (chunk.message.length > 0) msg = decodeMessage(chunk.message);
        if (chunk.db.length > 0 && !out.write(chunk.db)) {
          call.pause();
          out.once("drain", () => call.resume());
        }
      });
      call.on("error", (e) => fail(e));
      call.on("end", () => {
        out.end(() => {
          if (failed) return;
          if (!msg) return fail(new Error("snapshot without a raft message"));
          r.receiveSnapshot(msg, file).then(
            () => callback(null, {}),
            (e: Error) => fail(e),
          );
        });
      });
    },
  };
}
