/**
 * A user's permissions merged over its roles (etcd's range_perm_cache.go), and the checks of a key
 * or a range against them. Keys compare bytewise; an empty end stands for "to the end of the key
 * space" (etcd's BytesAffineComparable), so a permission with range end "\0" covers every key from
 * its key on, and one without a range end covers its key alone.
 */

/** etcd's authpb.Permission_Type. */
export enum PermType {
  Read = 0,
  Write = 1,
  ReadWrite = 2,
}

export interface Permission {
  readonly permType: number;
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
}

/** A half-open interval [begin, end); an empty `end` is +infinity. */
interface Interval {
  readonly begin: Buffer;
  readonly end: Buffer;
}

/** etcd's BytesAffineComparable: the empty value is greater than every other. */
function cmpAffine(a: Buffer, b: Buffer): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return Buffer.compare(a, b);
}

const ZERO = Buffer.from([0]);
const isZeroEnd = (b: Buffer) => b.length === 1 && b[0] === 0;

function pointOf(key: Buffer): Interval {
  return { begin: key, end: Buffer.concat([key, ZERO]) };
}

function overlaps(a: Interval, b: Interval): boolean {
  return cmpAffine(a.begin, b.end) < 0 && cmpAffine(b.begin, a.end) < 0;
}

/** The intervals a permission grants (as getMergedPerms builds them). */
function intervalOf(p: Permission): Interval {
  if (p.rangeEnd.length === 0) return pointOf(p.key);
  return { begin: p.key, end: isZeroEnd(p.rangeEnd) ? Buffer.alloc(0) : p.rangeEnd };
}

export class UnifiedPerms {
  private readonly read: Interval[] = [];
  private readonly write: Interval[] = [];

  constructor(perms: Iterable<Permission>) {
    for (const p of perms) {
      const ivl = intervalOf(p);
      if (p.permType === PermType.Read || p.permType === PermType.ReadWrite) this.read.push(ivl);
      if (p.permType === PermType.Write || p.permType === PermType.ReadWrite) this.write.push(ivl);
    }
    const byBegin = (a: Interval, b: Interval) => cmpAffine(a.begin, b.begin) || cmpAffine(a.end, b.end);
    this.read.sort(byBegin);
    this.write.sort(byBegin);
  }

  /** Whether `type` (Read or Write) is granted on `key`, or on all of [key, rangeEnd) when rangeEnd is given ("\0": to the end). */
  permits(type: PermType.Read | PermType.Write, key: Buffer, rangeEnd: Buffer): boolean {
    const set = type === PermType.Read ? this.read : this.write;
    if (rangeEnd.length === 0) {
      const pt = pointOf(key);
      return set.some((i) => overlaps(i, pt));
    }
    return covers(set, { begin: key, end: isZeroEnd(rangeEnd) ? Buffer.alloc(0) : rangeEnd });
  }
}

/** etcd's IntervalTree.Contains: the intervals meeting `want` are contiguous and span all of it. */
function covers(sorted: readonly Interval[], want: Interval): boolean {
  let minBegin: Buffer | undefined;
  let maxEnd: Buffer | undefined;
  for (const i of sorted) {
    if (!overlaps(i, want)) continue;
    if (minBegin === undefined || maxEnd === undefined) {
      minBegin = i.begin;
      maxEnd = i.end;
      continue;
    }
    if (cmpAffine(maxEnd, i.begin) < 0) return false;
    if (cmpAffine(i.end, maxEnd) > 0) maxEnd = i.end;
  }
  return minBegin !== undefined && maxEnd !== undefined && cmpAffine(maxEnd, want.end) >= 0 && cmpAffine(minBegin, want.begin) <= 0;
}
