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
}

/** The receiving side of the peer transport. */
export function peerService(r: PeerReceiver, logger: Logger): grpc.UntypedServiceImplementation {
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
      call.on("data", (batch: { messages: Buffer[] }) => {
        if (done) return;
        // A member removed while its stream was open learns it on its next message, as etcd's do.
        if (r.localIdentity().removed.has(from)) {
          done = true;
          callback({ code: grpc.status.PERMISSION_DENIED, details: REMOVED_MESSAGE });
          return;
        }
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
      const out = createWriteStream(file);
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
