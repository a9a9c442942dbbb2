/** The watch layer's vocabulary: what a watch asks for, what a stream is handed, where it goes. */
import type { Event } from "../pb/kv.js";

/** etcd's mvcc.ErrEmptyWatcherRange (a watch create's cancel_reason). */
export class ErrEmptyWatcherRange extends Error {
  constructor() {
    super("mvcc: watcher range is empty");
  }
}
/** etcd's mvcc.ErrWatcherDuplicateID. */
export class ErrWatcherDuplicateID extends Error {
  constructor() {
    super("mvcc: duplicate watch ID provided on the WatchStream");
  }
}

/** etcd's clientv3.AutoWatchID: ask the stream to choose the ID. */
export const AUTO_WATCH_ID = 0;

export interface WatchRequestSpec {
  readonly key: Buffer;
  /** undefined: the single key; empty: every key >= key; otherwise [key, end). */
  readonly end: Buffer | undefined;
  /** First revision to deliver; <= current revision makes the watcher catch up from history. */
  readonly startRev: number;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** Deliver each event's previous KeyValue (when the key existed before it). */
  readonly prevKv?: boolean;
}

/** What the store hands a stream (etcd's mvcc.WatchResponse). */
export interface StoreWatchResponse {
  readonly watchId: number;
  /**
   * Shared, not to be modified: every watcher handed the same events of a revision with the same
   * filters and prev_kv choice gets the same array (so consumers can encode it once, by identity).
   */
  readonly events: readonly Event[];
  /** The store revision this response reflects (header revision); 0 on a compaction cancel, as etcd. */
  readonly revision: number;
  /** Set (non-zero) when the watcher was canceled because its next revision is compacted. */
  readonly compactRevision: number;
}

/** Where a stream's responses go (a gRPC stream, an HTTP response, a test). */
export interface WatchSink {
  /** False while the consumer is backed up: the stream's watchers then wait (unsynced) instead of queueing. */
  writable(): boolean;
  send(r: StoreWatchResponse): void;
  /** Optional: some of the stream's watchers left the unsynced group (caught up, or canceled by compaction). */
  synced?(): void;
}
