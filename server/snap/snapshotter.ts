/**
 * Raft snapshot files, modelled on etcd's etcdserver/api/snap: one file per snapshot named
 * `%016x-%016x.snap` (term, index), written atomically and checksummed; the newest file whose
 * checksum verifies is loaded, a damaged one is renamed `*.broken` and an older one used.
 *
 * File layout (all integers little-endian):
 *    0  4 bytes  magic "ETSS"
 *    4  u8       format version (1)
 *    5  3 bytes  reserved, zero
 *    8  u32      CRC-32 (zlib polynomial) of every byte from offset 12 to the end of the file
 *   12  u64      term
 *   20  u64      index
 *   28  u32      V, number of voters
 *   32  u32      L, number of learners
 *   36  V x u64  voter IDs, then L x u64 learner IDs (uint64, exact)
 *    .  u64      D, length of data
 *    .  D bytes  data (opaque)
 * The file length must be exactly 44 + 8(V+L) + D.
 */
import { mkdir, open, readFile, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Snapshot } from "../raft/types.js";
import { crc32 } from "../wal/crc32.js";
import type { WalLogger, WalSnapshot } from "../wal/wal.js";
import { hitFailpoint } from "../util/failpoint.js";
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from "../util/file-modes.js";
import { fsyncDir } from "../util/fsync.js";

export const SNAP_SUFFIX = ".snap";
const MAGIC = Buffer.from("ETSS", "latin1");
const VERSION = 1;
const FIXED = 44;
const TWO32 = 4294967296;
const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export class SnapError extends Error {
  override readonly name = "SnapError";
  constructor(
    message: string,
    readonly code: "ECRC" | "EFORMAT" | "EEMPTY",
    readonly file?: string,
  ) {
    super(message);
  }
}

export function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}${SNAP_SUFFIX}`;
}

function putU64(buf: Buffer, off: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`snap: ${n} is not a non-negative safe integer`);
  buf.writeUInt32LE(n >>> 0, off);
  buf.writeUInt32LE(Math.floor(n / TWO32), off + 4);
}

function getU64(buf: Buffer, off: number): number {
  const hi = buf.readUInt32LE(off + 4);
  if (hi > 0x1fffff) throw new RangeError("u64 beyond Number.MAX_SAFE_INTEGER");
  return hi * TWO32 + buf.readUInt32LE(off);
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const { voters, learners } = s.metadata.confState;
  const size = FIXED + 8 * (voters.length + learners.length) + s.data.length;
  const buf = Buffer.alloc(size);
  MAGIC.copy(buf, 0);
  buf[4] = VERSION;
  putU64(buf, 12, s.metadata.term);
  putU64(buf, 20, s.metadata.index);
  buf.writeUInt32LE(voters.length, 28);
  buf.writeUInt32LE(learners.length, 32);
  let off = 36;
  for (const id of voters) {
    buf.writeBigUInt64LE(id, off);
    off += 8;
  }
  for (const id of learners) {
    buf.writeBigUInt64LE(id, off);
    off += 8;
  }
  putU64(buf, off, s.data.length);
  off += 8;
  buf.set(s.data, off);
  buf.writeUInt32LE(crc32(buf.subarray(12)), 8);
  return buf;
}

/** Decodes and verifies a snapshot file's bytes; anything else than a whole, intact file is a SnapError. */
export function decodeSnapshot(buf: Buffer, file = "<buffer>"): Snapshot {
  if (buf.length === 0) throw new SnapError(`snap: empty snapshot file ${file}`, "EEMPTY", file);
  if (buf.length < FIXED || !buf.subarray(0, 4).equals(MAGIC) || buf[4] !== VERSION || buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) {
    throw new SnapError(`snap: not a snapshot file (bad magic, version, reserved bytes or size): ${file}`, "EFORMAT", file);
  }
  if (buf.readUInt32LE(8) !== crc32(buf.subarray(12))) throw new SnapError(`snap: crc mismatch in ${file}`, "ECRC", file);
  const u64 = (off: number, what: string): number => {
    try {
      return getU64(buf, off);
    } catch {
      throw new SnapError(`snap: ${what} beyond 2^53 in ${file}`, "EFORMAT", file);
    }
  };
  const term = u64(12, "term");
  const index = u64(20, "index");
  const nv = buf.readUInt32LE(28);
  const nl = buf.readUInt32LE(32);
  let off = 36;
  if (off + 8 * (nv + nl) + 8 > buf.length) throw new SnapError(`snap: truncated conf state in ${file}`, "EFORMAT", file);
  const voters: bigint[] = [];
  const learners: bigint[] = [];
  for (let i = 0; i < nv; i++, off += 8) voters.push(buf.readBigUInt64LE(off));
  for (let i = 0; i < nl; i++, off += 8) learners.push(buf.readBigUInt64LE(off));
  const dlen = u64(off, "data length");
  off += 8;
  if (off + dlen !== buf.length) throw new SnapError(`snap: data length ${dlen} does not match the file size in ${file}`, "EFORMAT", file);
  const data = new Uint8Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + dlen));
  return { metadata: { term, index, confState: { voters, learners } }, data };
}

export class Snapshotter {
  private tmpSeq = 0;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly logger?: WalLogger,
  ) {}

  /**
   * Writes the snapshot as `%016x-%016x.snap` (term-index): to a temp file, fdatasync, rename,
   * fsync of the directory. A snapshot with index 0 is empty and not written (as etcd).
   */
  async save(snapshot: Snapshot): Promise<void> {
    if (snapshot.metadata.index === 0) return;
    const buf = encodeSnapshot(snapshot);
    await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const name = snapName(snapshot.metadata.term, snapshot.metadata.index);
    const path = join(this.dir, name);
    const tmpName = `${name}.${process.pid}.${this.tmpSeq++}.tmp`;
    const tmp = join(this.dir, tmpName);
    this.inFlight.add(tmpName);
    try {
      const h = await open(tmp, "w", PRIVATE_FILE_MODE);
      try {
        hitFailpoint("snapWrite");
        let done = 0;
        while (done < buf.length) done += (await h.write(buf, done, buf.length - done, done)).bytesWritten;
        await h.datasync();
      } finally {
        await h.close();
      }
      await rename(tmp, path);
      await fsyncDir(this.dir);
    } catch (err) {
      this.logger?.warn(`snap: failed to write ${path}: ${String(err)}`, { path, error: String(err) });
      await unlink(tmp).catch(() => undefined);
      throw err;
    } finally {
      this.inFlight.delete(tmpName);
    }
  }

  /** Reads and verifies one snapshot file. */
  static async read(path: string): Promise<Snapshot> {
    return decodeSnapshot(await readFile(path), path);
  }

  /** The newest snapshot whose checksum verifies; a file that fails is renamed `<name>.broken`. undefined when none. */
  async loadNewest(): Promise<Snapshot | undefined> {
    return this.loadMatching(() => true);
  }

  /**
   * The newest verifying snapshot that is also one of `walSnaps` (from Wal.validSnapshotEntries):
   * etcd's LoadNewestAvailable, which skips a snapshot file written just before a crash whose WAL
   * marker never made it to disk (Wal.open would not find that marker).
   */
  async loadNewestAvailable(walSnaps: readonly WalSnapshot[]): Promise<Snapshot | undefined> {
    return this.loadMatching((s) => walSnaps.some((w) => w.index === s.metadata.index && w.term === s.metadata.term));
  }

  /** Deletes all but the newest `keep` snapshot files (0 keeps all), and leftover temp files of interrupted saves. */
  async purge(keep: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const victims: string[] = names.filter((n) => n.endsWith(".tmp") && n.includes(`${SNAP_SUFFIX}.`) && !this.inFlight.has(n));
    if (keep > 0) victims.push(...this.snapNames(names).slice(keep));
    for (const n of victims) {
      try {
        await unlink(join(this.dir, n));
        this.logger?.info(`snap: purged ${join(this.dir, n)}`, { path: join(this.dir, n) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  }

  /** Snapshot file names, newest first (by term, then index, as the fixed-width hex names sort). */
  private snapNames(names: readonly string[]): string[] {
    return names.filter((n) => SNAP_RE.test(n)).sort().reverse();
  }

  private async loadMatching(match: (s: Snapshot) => boolean): Promise<Snapshot | undefined> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    for (const name of this.snapNames(names)) {
      const path = join(this.dir, name);
      let snap: Snapshot;
      try {
        snap = await Snapshotter.read(path);
        const expected = snapName(snap.metadata.term, snap.metadata.index);
        if (expected !== name) throw new SnapError(`snap: ${path} holds snapshot ${expected}`, "EFORMAT", path);
      } catch (err) {
        if (!(err instanceof SnapError) && !(err instanceof RangeError)) throw err;
        const broken = `${path}.broken`;
        this.logger?.warn(`snap: ${err.message}; renaming to ${broken}`, { path, brokenPath: broken, error: err.message });
        await rename(path, broken);
        continue;
      }
      if (match(snap)) return snap;
    }
    return undefined;
  }
}
