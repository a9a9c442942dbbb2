/**
 * Range watchers indexed by their key range, for stabbing by one key (etcd's adt.IntervalTree in
 * mvcc/watcher_group.go). Keys are latin1 strings (one char per byte, so string order is byte order);
 * a range is `[key, end)`, or every key `>= key` when `end` is "" (etcd's "\0" range end).
 *
 * An interval tree: a treap ordered by (low, high), each node holding the largest `high` of its
 * subtree, so a lookup skips every subtree that ends at or before the key and stops at the first
 * range that starts after it: O(log n + matches) expected instead of a scan of every range. Watchers
 * of one range share a node, in a Set. Priorities come from a fixed-seed generator: the same
 * sequence of changes builds the same tree (and ranges are always reported in (low, high) order).
 * Why not a library: see README.md beside this file.
 */

/** Above every latin1 string (chars 0..255): the high end of "every key >= key". */
const UNBOUNDED = "\u0100";

interface RangeNode<W> {
  readonly low: string;
  /** Exclusive; UNBOUNDED for a from-key range. */
  readonly high: string;
  readonly prio: number;
  readonly members: Set<W>;
  left: RangeNode<W> | undefined;
  right: RangeNode<W> | undefined;
  /** The largest `high` in this subtree. */
  maxHigh: string;
}

/** (low, high) order: < 0 when a sorts before b. */
function order(aLow: string, aHigh: string, bLow: string, bHigh: string): number {
  if (aLow !== bLow) return aLow < bLow ? -1 : 1;
  if (aHigh !== bHigh) return aHigh < bHigh ? -1 : 1;
  return 0;
}

function update<W>(n: RangeNode<W>): void {
  let m = n.high;
  if (n.left && n.left.maxHigh > m) m = n.left.maxHigh;
  if (n.right && n.right.maxHigh > m) m = n.right.maxHigh;
  n.maxHigh = m;
}

/** Splits t into the nodes ordered before (low, high) and the others. */
function split<W>(t: RangeNode<W> | undefined, low: string, high: string): [RangeNode<W> | undefined, RangeNode<W> | undefined] {
  if (!t) return [undefined, undefined];
  if (order(t.low, t.high, low, high) < 0) {
    const [l, r] = split(t.right, low, high);
    t.right = l;
    update(t);
    return [t, r];
  }
  const [l, r] = split(t.left, low, high);
  t.left = r;
  update(t);
  return [l, t];
}

/** Joins two treaps, every node of `a` ordered before every node of `b`. */
function merge<W>(a: RangeNode<W> | undefined, b: RangeNode<W> | undefined): RangeNode<W> | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    update(a);
    return a;
  }
  b.left = merge(a, b.left);
  update(b);
  return b;
}

/** Removes the node `n` (by its order) from t. */
function remove<W>(t: RangeNode<W> | undefined, n: RangeNode<W>): RangeNode<W> | undefined {
  if (!t) return undefined;
  const c = order(n.low, n.high, t.low, t.high);
  if (c === 0) return merge(t.left, t.right);
  if (c < 0) t.left = remove(t.left, n);
  else t.right = remove(t.right, n);
  update(t);
  return t;
}

function stab<W>(t: RangeNode<W> | undefined, k: string, f: (w: W) => void): void {
  // nothing in this subtree ends after k (ends are exclusive)
  if (!t || t.maxHigh <= k) return;
  stab(t.left, k, f);
  if (t.low > k) return; // this node and its right subtree start after k
  if (k < t.high) for (const w of t.members) f(w);
  stab(t.right, k, f);
}

export class KeyRangeIndex<W> {
  private root: RangeNode<W> | undefined;
  /** Each range's node, by rangeId. */
  private readonly nodes = new Map<string, RangeNode<W>>();
  private seed = 0x2545f491;

  /** Distinct ranges held. */
  get size(): number {
    return this.nodes.size;
  }

  /** `end` "": every key >= key. */
  add(key: string, end: string, w: W): void {
    const id = rangeId(key, end);
    let n = this.nodes.get(id);
    if (!n) {
      const high = end === "" ? UNBOUNDED : end;
      n = { low: key, high, prio: this.nextPrio(), members: new Set(), left: undefined, right: undefined, maxHigh: high };
      const [l, r] = split(this.root, key, high);
      this.root = merge(merge(l, n), r);
      this.nodes.set(id, n);
    }
    n.members.add(w);
  }

  /** False if `w` was not held under that range. */
  delete(key: string, end: string, w: W): boolean {
    const id = rangeId(key, end);
    const n = this.nodes.get(id);
    if (!n || !n.members.delete(w)) return false;
    if (n.members.size === 0) {
      this.root = remove(this.root, n);
      this.nodes.delete(id);
    }
    return true;
  }

  /** Calls f for each member of every range holding `k`, ranges in (key, end) order. */
  forEachContaining(k: string, f: (w: W) => void): void {
    stab(this.root, k, f);
  }

  /** xorshift32: a fixed sequence, so the tree's shape depends only on the changes made. */
  private nextPrio(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }
}

/** One string per (key, end) pair: the key's length first, so no two pairs collide. */
function rangeId(key: string, end: string): string {
  return `${key.length}:${key}${end}`;
}
