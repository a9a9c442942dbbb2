/**
 * What the Maintenance service does to this member's backend: Defragment and Snapshot.
 *
 * Snapshot (etcd's maintenanceServer.Snapshot): a consistent copy of the backend (lmdb's compacting
 * copy, taken in one read transaction after every write applied so far has committed), streamed in
 * chunks of 32 KiB with the bytes still to come, then one last message whose blob is the SHA-256 of
 * everything sent before it. A file of the blobs, in order, is an lmdb environment followed by its
 * 32-byte digest; its size is a multiple of the 4 KiB page, hence (size % 512) == 32, which is how
 * etcdctl recognises the digest. (The format: server/etcdserver/backup/README.md.)
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Backend } from "../backend/index.js";
import type { Logger } from "../log/logger.js";
import type { MvccStore } from "../mvcc/index.js";
import { DEFAULT_IGNORES, digestBackend } from "./backup/backend-hash.js";

/** etcd's snapshotSendBufferSize. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

export interface SnapshotChunk {
  readonly remainingBytes: number;
  readonly blob: Buffer;
}

export interface BackendMaintenanceDeps {
  readonly store: MvccStore;
  readonly backend: Backend;
  /** Where the copy is staged (the member's snap dir: a copy left by a crash is removed at start). */
  readonly snapDir: string;
  readonly logger: Logger;
}

export class BackendMaintenance {
  constructor(private readonly d: BackendMaintenanceDeps) {}

  /** etcd's Defragment: gives the backend's free pages back to the file system. */
  async defragment(): Promise<{ before: number; after: number }> {
    const log = this.d.logger;
    log.info("starting defragment");
    const started = Date.now();
    try {
      const r = await this.d.store.defrag();
      log.info({ "current-db-size-bytes": r.before, "current-db-size-bytes-after": r.after, took: `${Date.now() - started}ms` }, "finished defragment");
      return r;
    } catch (e) {
      log.warn({ error: e instanceof Error ? e.message : String(e) }, "failed to defragment");
      throw e;
    }
  }

  /** etcd's Hash: CRC-32C of the whole committed backend but the consistent index, and the revision. */
  async hash(): Promise<{ hash: number; revision: number }> {
    await this.d.backend.committed();
    const revision = this.d.store.currentRevision();
    return { hash: digestBackend(this.d.backend, DEFAULT_IGNORES).hash, revision };
  }

  /** The snapshot stream: data chunks, then the SHA-256 trailer. Stops (and removes the copy) when `signal` aborts. */
  async *snapshot(signal: AbortSignal): AsyncGenerator<SnapshotChunk> {
    const file = join(this.d.snapDir, `outgoing-${process.hrtime.bigint()}.db`);
    const log = this.d.logger;
    try {
      await this.d.backend.backup(file, { compact: true });
      const fh = await open(file, "r");
      try {
        const total = (await fh.stat()).size;
        log.info({ "total-bytes": total }, "sending database snapshot to client");
        const sha = createHash("sha256");
        let sent = 0;
        while (sent < total) {
          signal.throwIfAborted();
          const blob = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK_BYTES, total - sent));
          const { bytesRead } = await fh.read(blob, 0, blob.length, sent);
          if (bytesRead !== blob.length) throw new Error(`snapshot copy shrank while being read (${sent + bytesRead} of ${total} bytes)`);
          sent += bytesRead;
          sha.update(blob);
          yield { remainingBytes: total - sent, blob };
        }
        log.info({ "total-bytes": total, "checksum-size": 32 }, "sending database sha256 checksum to client");
        yield { remainingBytes: 0, blob: sha.digest() };
        log.info({ "total-bytes": total }, "successfully sent database snapshot to client");
      } finally {
        await fh.close();
      }
    } finally {
      await rm(file, { force: true });
    }
  }
}
