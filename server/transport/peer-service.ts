import type { StreamHandler } from "../grpcwire/grpc-server.js";
import { Code } from "../grpcwire/status.js";
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import { MessageType, type Message } from "../raft/types.js";
import { checkIdentity, identityFromHeaders } from "./handshake.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { SnapshotReception, type Chunk } from "./snapshot-receiver.js";

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
  /** Registers a callback for members removed from the cluster (their open raft streams are then closed). */
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
 * The peer port's gRPC method: Snapshot, one call per database snapshot (raft messages travel on
 * raft streams, raft-stream-receiver.ts). The sender's identity is checked against the cluster and
 * its membership before a byte of the database is written.
 */
export function snapshotHandler(r: PeerReceiver, logger: Logger): StreamHandler<Chunk, object> {
  const limited = new RateLimitedLog(logger, PEER_WARNING_INTERVAL_MS);
  const dropNonMember = (from: bigint, what: string) =>
    limited.log(`non-member:${from}`, { "remote-peer-id": idToHex(from), what }, "dropping peer traffic from a sender that is not a member of the cluster");

  return (call) => {
    const id = identityFromHeaders((k) => call.metadata(k));
    const refusal = checkIdentity(id, r.localIdentity());
    if (refusal) return call.fail({ code: refusal.code, message: refusal.message });
    if (!r.isMember(id!.from)) {
      dropNonMember(id!.from, "a snapshot");
      return call.fail({ code: Code.PERMISSION_DENIED, message: `sender ${idToHex(id!.from)} is not a member of the cluster` });
    }
    const sink = { dir: r.snapshotDir(), localId: r.localIdentity().memberId, from: id!.from, deliver: (m: Message) => r.receiveSnapshot(m) };
    new SnapshotReception(sink, call, (why) => limited.log(`snapshot:${id!.from}`, { "remote-peer-id": idToHex(id!.from), error: why }, "failed to receive a database snapshot"));
  };
}
