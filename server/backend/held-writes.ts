/**
 * Writes held back while the backend is being defragmented. A defragmentation copies the committed
 * environment into a new file and then switches to it: a write committed to the old file during the
 * copy would be lost with it. So from the moment the copy starts, writes are not given to lmdb but
 * kept here, in issue order, all under ONE batch number; once the new file is in place they are
 * written to it in one event turn (hence one lmdb transaction, which keeps the atomicity of every
 * revision and its consistent index) and their batch is reported committed when that transaction is.
 * Readers see them meanwhile through their own overlays, as any uncommitted write (README.md).
 */
export interface HeldWrite {
  /** Writes to this lmdb database: put when `value` is given, delete otherwise. */
  readonly apply: (key: Buffer, value: Buffer | undefined) => Promise<unknown>;
  readonly key: Buffer;
  readonly value: Buffer | undefined;
}

export class HeldWrites {
  private readonly writes: HeldWrite[] = [];
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  /** Resolves when the held writes are committed to the new file (what `committed()` waits on meanwhile). */
  readonly done: Promise<void>;

  constructor(
    /** The batch number every held write joins. */
    readonly batch: number,
  ) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // the backend reports a failure through its own listeners
  }

  /** Holds a write (the key is copied now, as lmdb-js copies keys at put). */
  hold(apply: HeldWrite["apply"], key: Buffer, value: Buffer | undefined): number {
    this.writes.push({ apply, key: Buffer.from(key), value });
    return this.batch;
  }

  get size(): number {
    return this.writes.length;
  }

  /**
   * Issues every held write, synchronously and in order, against the databases `apply` now points
   * at; `onCommitted`/`onFailed` are told about the batch before anything issued later in this turn.
   */
  release(onCommitted: () => void, onFailed: (err: unknown) => void): void {
    let last: Promise<unknown> | undefined;
    for (const w of this.writes) last = w.apply(w.key, w.value);
    this.writes.length = 0;
    if (!last) {
      onCommitted();
      this.settle.resolve();
      return;
    }
    last.then(
      () => {
        onCommitted();
        this.settle.resolve();
      },
      (err: unknown) => {
        onFailed(err);
        this.settle.reject(err);
      },
    );
  }
}
