/**
 * Per-key revision history (etcd's keyIndex semantics, mvcc/key_index.go).
 *
 * A key's life is a list of generations. A generation starts with the put that creates the key
 * and ends with the tombstone that deletes it; the last generation is open (possibly empty,
 * right after a tombstone). Example: put@1.0 put@2.0 tombstone@3.0 put@4.0 tombstone@5.0
 *   generations [{1.0 2.0 3.0(t)}, {4.0 5.0(t)}, {}]
 * Versions count puts from 1 within a generation; `ver` is the count of revs in the generation
 * (including its tombstone), adjusted by compaction-free arithmetic in `get`.
 */
export class Generation {
  /** Version of the last rev in this generation (a tombstone counts, like etcd). */
  ver: number;
  createdMain: number;
  createdSub: number;
  /** How many revisions the generation holds: mainAt(0 .. size-1), in ascending order. */
  size = 0;
  /**
   * The revisions, laid out for the common key, written once and never in a multi-key txn (one
   * array object costs ~56 bytes, and the key index holds a generation per key): the first main
   * inline, the later ones in `rest`; the subs only once one is not 0 (a sub above 0 only comes
   * from a txn that writes several keys).
   */
  private first = 0;
  private rest: number[] | undefined;
  private subs: number[] | undefined;

  constructor(ver = 0, createdMain = 0, createdSub = 0, mains: readonly number[] = [], subs: readonly number[] = []) {
    this.ver = ver;
    this.createdMain = createdMain;
    this.createdSub = createdSub;
    for (let i = 0; i < mains.length; i++) this.push(mains[i]!, subs[i] ?? 0);
  }

  isEmpty(): boolean {
    return this.size === 0;
  }

  mainAt(i: number): number {
    return i === 0 ? this.first : this.rest![i - 1]!;
  }

  subAt(i: number): number {
    return this.subs === undefined ? 0 : this.subs[i]!;
  }

  /** The newest main revision; NaN (no order with any revision) when the generation is empty. */
  lastMain(): number {
    return this.size === 0 ? NaN : this.mainAt(this.size - 1);
  }

  /** The main revisions as an array (a copy). */
  mains(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.mainAt(i));
    return out;
  }

  /** Appends a revision (main, sub). */
  push(main: number, sub: number): void {
    if (sub !== 0 && this.subs === undefined) this.subs = new Array<number>(this.size).fill(0);
    if (this.size === 0) this.first = main;
    else if (this.rest === undefined) this.rest = [main]; // fresh one-element array: a push onto [] reserves 17 slots
    else this.rest.push(main);
    this.subs?.push(sub);
    this.size++;
  }

  /** Removes the newest revision. */
  pop(): void {
    if (this.size === 0) return;
    this.size--;
    if (this.size > 0) this.rest!.pop();
    if (this.size <= 1) this.rest = undefined;
    if (this.size === 0) this.first = 0;
    this.subs?.pop();
  }

  /** Drops the revisions before index `from`. */
  dropBefore(from: number): void {
    if (from <= 0) return;
    const mains = this.mains().slice(from);
    const subs = mains.map((_, i) => this.subAt(from + i));
    this.size = 0;
    this.first = 0;
    this.rest = undefined;
    this.subs = undefined;
    for (let i = 0; i < mains.length; i++) this.push(mains[i]!, subs[i]!);
  }

  /** Index of the newest rev with main <= atRev, or -1. */
  newestAtOrBelow(atRev: number): number {
    for (let i = this.size - 1; i >= 0; i--) if (this.mainAt(i) <= atRev) return i;
    return -1;
  }
}

/** What `get` finds for a key at a revision. */
export interface KeyRev {
  readonly main: number;
  readonly sub: number;
  readonly createdMain: number;
  readonly version: number;
}

export class KeyIndex {
  /** The key as a latin1 string: one char per byte, so JS string order is bytewise order. */
  readonly key: string;
  modMain = 0;
  modSub = 0;
  gens: Generation[];

  constructor(key: string) {
    this.key = key;
    this.gens = [new Generation()];
  }

  /** A key never written, or compacted away entirely. */
  isEmpty(): boolean {
    return this.gens.length === 1 && this.gens[0]!.isEmpty();
  }

  /** Is the key live (not deleted) at the newest revision? */
  isLive(): boolean {
    return !this.gens[this.gens.length - 1]!.isEmpty();
  }

  put(main: number, sub: number): void {
    if (main < this.modMain || (main === this.modMain && sub <= this.modSub)) {
      throw new Error(`mvcc: keyIndex put with smaller revision ${main}.${sub} <= ${this.modMain}.${this.modSub}`);
    }
    const g = this.gens[this.gens.length - 1]!;
    if (g.size === 0) {
      g.createdMain = main;
      g.createdSub = sub;
    }
    g.push(main, sub);
    g.ver++;
    this.modMain = main;
    this.modSub = sub;
  }

  /** Restore from a stored row whose earlier history was compacted (etcd's keyIndex.restore). */
  restore(createdMain: number, modMain: number, modSub: number, ver: number): void {
    if (!this.isEmpty()) throw new Error("mvcc: cannot restore a non-empty keyIndex");
    this.modMain = modMain;
    this.modSub = modSub;
    this.gens = [new Generation(ver, createdMain, 0, [modMain], [modSub])];
  }

  /** End the current generation with a tombstone at (main, sub). False if the key is not live. */
  tombstone(main: number, sub: number): boolean {
    if (this.isEmpty()) throw new Error(`mvcc: tombstone on empty keyIndex ${JSON.stringify(this.key)}`);
    if (this.gens[this.gens.length - 1]!.isEmpty()) return false;
    this.put(main, sub);
    this.gens.push(new Generation());
    return true;
  }

  /** The generation holding the key's state at atRev, or undefined (absent at atRev). */
  private findGeneration(atRev: number): Generation | undefined {
    const last = this.gens.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.gens[i]!;
      if (g.size === 0) continue;
      if (i !== last && g.lastMain() <= atRev) return undefined; // deleted by then
      if (g.mainAt(0) <= atRev) return g;
    }
    return undefined;
  }

  /** The key's revision visible at atRev (modified rev, creation, version), or undefined. */
  get(atRev: number): KeyRev | undefined {
    // Fast path: live key read at/after its last modification.
    const lastG = this.gens[this.gens.length - 1]!;
    if (lastG.size !== 0 && this.modMain <= atRev) {
      return { main: this.modMain, sub: this.modSub, createdMain: lastG.createdMain, version: lastG.ver };
    }
    const g = this.findGeneration(atRev);
    if (!g) return undefined;
    const n = g.newestAtOrBelow(atRev);
    if (n < 0) return undefined;
    return { main: g.mainAt(n), sub: g.subAt(n), createdMain: g.createdMain, version: g.ver - (g.size - n - 1) };
  }

  /**
   * Revisions with main >= rev that a watcher from `rev` must see, newest sub per main
   * (etcd's keyIndex.since). For the watch layer.
   */
  since(rev: number): Array<{ main: number; sub: number }> {
    let gi = this.gens.length - 1;
    for (; gi > 0; gi--) {
      const g = this.gens[gi]!;
      if (g.isEmpty()) continue;
      // since (rev,0) > created ?
      if (rev > g.createdMain || (rev === g.createdMain && 0 > g.createdSub)) break;
    }
    const out: Array<{ main: number; sub: number }> = [];
    let last = 0;
    for (; gi < this.gens.length; gi++) {
      const g = this.gens[gi]!;
      for (let i = 0; i < g.size; i++) {
        const m = g.mainAt(i);
        if (m < rev) continue;
        if (m === last) {
          out[out.length - 1] = { main: m, sub: g.subAt(i) };
          continue;
        }
        out.push({ main: m, sub: g.subAt(i) });
        last = m;
      }
    }
    return out;
  }

  /**
   * etcd's doCompact: the generation index to compact from and, in it, the index of the newest
   * rev <= atRev (-1 if none), which is added to `available` (as revId strings).
   */
  private doCompact(atRev: number, available: Set<string>, idOf: (main: number, sub: number) => string): [number, number] {
    let genIdx = 0;
    let g = this.gens[0]!;
    while (genIdx < this.gens.length - 1) {
      const tomb = g.lastMain();
      if (tomb > atRev) break;
      genIdx++;
      g = this.gens[genIdx]!;
    }
    const revIndex = g.newestAtOrBelow(atRev);
    if (revIndex >= 0) available.add(idOf(g.mainAt(revIndex), g.subAt(revIndex)));
    return [genIdx, revIndex];
  }

  /**
   * Drop history older than atRev (etcd's keyIndex.compact): keeps, per key, the newest revision
   * <= atRev unless it is a tombstone; `available` collects the kept rows' revIds.
   */
  compact(atRev: number, available: Set<string>, idOf: (main: number, sub: number) => string): void {
    if (this.isEmpty()) throw new Error(`mvcc: compact on empty keyIndex ${JSON.stringify(this.key)}`);
    let [genIdx, revIndex] = this.doCompact(atRev, available, idOf);
    const g = this.gens[genIdx]!;
    if (!g.isEmpty()) {
      if (revIndex !== -1) {
        g.dropBefore(revIndex);
      }
      if (g.size === 1 && genIdx !== this.gens.length - 1) {
        available.delete(idOf(g.mainAt(0), g.subAt(0)));
        genIdx++;
      }
    }
    if (genIdx > 0) this.gens = this.gens.slice(genIdx);
  }

  /** etcd's keyIndex.keep: what compact(atRev) would keep, without changing anything. */
  keep(atRev: number, available: Set<string>, idOf: (main: number, sub: number) => string): void {
    if (this.isEmpty()) return;
    const [genIdx, revIndex] = this.doCompact(atRev, available, idOf);
    const g = this.gens[genIdx]!;
    if (!g.isEmpty() && revIndex === g.size - 1 && genIdx !== this.gens.length - 1) {
      available.delete(idOf(g.mainAt(revIndex), g.subAt(revIndex)));
    }
  }

  /** Undo the last put (used to roll back a failed write transaction). */
  undoPut(): void {
    const g = this.gens[this.gens.length - 1]!;
    g.pop();
    g.ver--;
    if (g.size === 0) {
      g.createdMain = 0;
      g.createdSub = 0;
    }
    this.resetModified();
  }

  /** Undo the last tombstone (rollback). */
  undoTombstone(): void {
    this.gens.pop();
    this.undoPut();
  }

  private resetModified(): void {
    for (let i = this.gens.length - 1; i >= 0; i--) {
      const g = this.gens[i]!;
      if (g.size) {
        this.modMain = g.lastMain();
        this.modSub = g.subAt(g.size - 1);
        return;
      }
    }
    this.modMain = 0;
    this.modSub = 0;
  }
}
