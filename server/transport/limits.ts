/**
 * Size bounds of the peer transport. etcd bounds what a peer may make it read (rafthttp's
 * messageDecoder refuses a length prefix over its limit before allocating; the snapshot body is
 * streamed to a file, never held in memory) and raft bounds what a leader packs into one append
 * (MaxSizePerMsg, 1 MiB). etcd-ts does the same on raft streams (frames.ts) and with gRPC's
 * per-message limit for snapshots, both derived from what a member can legitimately send.
 */

/** raft's MaxSizePerMsg, as etcd's (entries per MsgApp, except that a single entry always goes). */
export const MAX_SIZE_PER_MSG = 1024 * 1024;

/** Database bytes per snapshot chunk the sender writes. */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/** A received snapshot chunk may carry at most this many database bytes. */
export const MAX_SNAPSHOT_CHUNK_BYTES = 4 * SNAPSHOT_CHUNK_BYTES;

/** Headroom for framing: message headers, entry headers, the proposal header, protobuf tags. */
const FRAMING_BYTES = 64 * 1024;

/**
 * The largest raft message (a raft stream frame) or snapshot chunk message a peer may send us: an
 * append of MAX_SIZE_PER_MSG, a single append carrying one entry as large as a client request may
 * be (--max-request-bytes), or a snapshot chunk, whichever is larger. Members of one cluster
 * should share --max-request-bytes (etcd's advice too): an entry larger than a follower's limit
 * could not be replicated to it.
 */
export function peerMaxMessageBytes(maxRequestBytes: number): number {
  return Math.max(MAX_SIZE_PER_MSG, maxRequestBytes, MAX_SNAPSHOT_CHUNK_BYTES) + FRAMING_BYTES;
}

/** Concurrent gRPC calls per peer connection: a member needs, now and then, a snapshot. */
export const MAX_CONCURRENT_STREAMS = 16;
