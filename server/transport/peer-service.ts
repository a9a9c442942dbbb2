import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import { decodeMessage } from "../raft/message-codec.js";
import { MessageType, type Message } from "../raft/types.js";
import { checkIdentity, readIdentity, REMOVED_MESSAGE } from "./handshake.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { SnapshotReception, type Chunk } from "./snapshot-receiver.js";
import { trace, TRACING } from "../util/latency-trace.js";

/** At most one warning per kind of refusal and sender in this long. */
export const PEER_WARNING_INTERVAL_MS = 5000;

export interface PeerReceiver {
  localIdentity(): { clusterId: bigint; memberId: bigint; removed: ReadonlySet<bigint> };
  /** Is `id` a member of the cluster now? Messages from anyone else are dropped. */
  isMember(id: bigint): boolean;
  /** Steps a message from a peer into raft. */
  receive(m: Message): void;
  /** A snapshot arrived; its database is already at snapDbPath(snapshotDir(), index). */
  receiveSnapshot(m: Message): Promise<void>;
  /** Where incoming snapshot databases are written. */
  snapshotDir(): string;
  /** Registers a callback for members removed from the cluster (their open streams are then closed). */
  onMemberRemoved(listener: (id: bigint) => void): void;
}

/**
 * Why a message on a sender's stream is not stepped into raft, or undefined. A peer speaks only for
 * itself and only to us; snapshots come only on the Snapshot call, after their database is on disk.
 */
export function checkStreamMessage(m: Message, from: bigint, localId: bigint): string | undefined {
  if (m.from !== from) return `message claims sender ${idToHex(m.from)} on the stream of ${idToHex(from)}`;
  if (m.to !== localId) return `message for member ${idToHex(m.to)}`;
  if (m.type === MessageType.Snap) return "snapshot message outside the snapshot call";
  return undefined;
}

/**
 * The receiving side of the peer transport. Until peers authenticate with TLS, the cluster ID and
 * member IDs in the call metadata are all a member has to go by: every call and every message is
 * checked against the current membership, and what fails is dropped with a rate-limited warning.
 */
// Long: its two calls (Stream, Snapshot) share the table of open streams and the rate-limited log.
export function peerService(r: PeerReceiver, logger: Logger): grpc.UntypedServiceImplementation {
  // Open incoming streams by sender: a removed member is told at once, as etcd's peers do (410 Gone),
  // since it may have nothing more to send (a learner never campaigns).
  const open = new Map<bigint, Set<() => void>>();
  // a peer sending garbage must not flood the log: one line per kind and sender per interval, with a count of the rest
  const limited = new RateLimitedLog(logger, PEER_WARNING_INTERVAL_MS);
  r.onMemberRemoved((id) => {
    for (const refuse of open.get(id) ?? []) refuse();
    open.delete(id);
  });
  const dropNonMember = (from: bigint, what: string) =>
    limited.log(`non-member:${from}`, { "remote-peer-id": idToHex(from), what }, "dropping peer traffic from a sender that is not a member of the cluster");

  const onBatch = (from: bigint, batch: { messages: Buffer[] }) => {
    if (!r.isMember(from)) return dropNonMember(from, "raft messages");
    const localId = r.localIdentity().memberId;
    for (const b of batch.messages) {
      let m: Message;
      try {
        m = decodeMessage(b);
      } catch (e) {
        limited.log(`undecodable:${from}`, { "remote-peer-id": idToHex(from), error: (e as Error).message }, "dropping an undecodable raft message");
        continue;
      }
      const why = checkStreamMessage(m, from, localId);
      if (why) {
        limited.log(`refused:${from}`, { "remote-peer-id": idToHex(from), reason: why }, "dropping a raft message");
        continue;
      }
      if (TRACING) trace(`recv${m.type}`, m.entries.at(-1)?.index ?? m.index, m.from);
      r.receive(m);
    }
  };

  return {
    Stream(call: grpc.ServerReadableStream<{ messages: Buffer[] }, object>, callback: grpc.sendUnaryData<object>) {
      const refusal = checkIdentity(readIdentity(call.metadata), r.localIdentity());
      if (refusal) {
        limited.log(`stream:${refusal.message}`, { error: refusal.message }, "refused a peer stream");
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
        onBatch(from, batch);
      });
      call.on("end", () => {
        if (!done) callback(null, {});
      });
      call.on("error", () => undefined);
    },

    Snapshot(call: grpc.ServerReadableStream<Chunk, object>, callback: grpc.sendUnaryData<object>) {
      const id = readIdentity(call.metadata);
      const refusal = checkIdentity(id, r.localIdentity());
      if (refusal) {
        callback({ code: refusal.code, details: refusal.message });
        return;
      }
      if (!r.isMember(id!.from)) {
        dropNonMember(id!.from, "a snapshot");
        callback({ code: grpc.status.PERMISSION_DENIED, details: `sender ${idToHex(id!.from)} is not a member of the cluster` });
        return;
      }
      new SnapshotReception({ dir: r.snapshotDir(), localId: r.localIdentity().memberId, from: id!.from, deliver: (m) => r.receiveSnapshot(m) }, call, (err, v) => {
        if (err) limited.log(`snapshot:${id!.from}`, { "remote-peer-id": idToHex(id!.from), error: err.details ?? "" }, "failed to receive a database snapshot");
        callback(err, v);
      });
    },
  };
}
