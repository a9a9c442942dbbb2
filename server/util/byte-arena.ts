/**
 * Byte arrays for data that lives long and dies in the order it was made: the raft log's entry
 * data (kept from proposal until a snapshot compacts the log, 100,000 entries by default).
 *
 * Why not Buffer.allocUnsafe: small Buffers are slices of Node's shared 8 KiB pool, which every
 * short-lived allocation of a request (gRPC framing, protobuf encodes, stored rows) also takes
 * from. One live entry keeps its whole slab alive, so a raft log of 300-byte entries pinned about
 * 2-3 times its size in slabs that were otherwise garbage (bench/figures/2026-12-05-memory-2.md).
 * Here entries are packed into chunks of their own: a chunk is freed once every entry in it is
 * compacted away, which, as the log is trimmed from its head, happens chunk after chunk.
 *
 * Pure (no node:* import): the raft core uses it too. Bump allocation, as the pool's.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;

export class ByteArena {
  private chunk: ArrayBuffer | undefined;
  private used = 0;
  /** Arrays larger than this get an ArrayBuffer of their own (no chunk wasted on them). */
  private readonly ownAbove: number;

  constructor(private readonly chunkBytes = DEFAULT_CHUNK_BYTES) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 64) throw new RangeError(`byte arena: chunk of ${chunkBytes} bytes`);
    this.ownAbove = chunkBytes >>> 3;
  }

  /** `n` bytes of their own (zeroed: a chunk is new, and no two arrays share a byte). */
  alloc(n: number): Uint8Array {
    if (n > this.ownAbove) return new Uint8Array(n);
    if (this.chunk === undefined || this.used + n > this.chunkBytes) {
      this.chunk = new ArrayBuffer(this.chunkBytes);
      this.used = 0;
    }
    const out = new Uint8Array(this.chunk, this.used, n);
    this.used += (n + 7) & ~7; // 8-byte aligned, as Node's pool
    return out;
  }

  /** A copy of `src[start, end)` in the arena. */
  copyOf(src: Uint8Array, start = 0, end = src.byteLength): Uint8Array {
    const out = this.alloc(end - start);
    out.set(src.subarray(start, end));
    return out;
  }
}
