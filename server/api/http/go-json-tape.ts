/**
 * A parsed JSON value that keeps every value's raw bytes, as Go's json.RawMessage does: the
 * gateway's decoding (jsonpb) looks at raw number text, raw string bytes and raw enum names, so
 * nothing may pass through JS numbers or JS strings. The input must be a valid JSON value (the
 * Go scanner checked it). The tape is flat (typed arrays, one entry per value or key) and built
 * without recursion, so a deeply nested or very long value costs linear time and bounded memory.
 */

export const enum Kind {
  Object,
  Array,
  String,
  Number,
  True,
  False,
  Null,
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

export class JsonTape {
  private count = 0;
  private kinds: Uint8Array;
  private starts: Int32Array;
  private ends: Int32Array;
  /** Index of the first node after this node's subtree. */
  private nexts: Int32Array;

  constructor(readonly buf: Buffer) {
    const cap = 16;
    this.kinds = new Uint8Array(cap);
    this.starts = new Int32Array(cap);
    this.ends = new Int32Array(cap);
    this.nexts = new Int32Array(cap);
    this.build();
  }

  kind(n: number): Kind {
    return this.kinds[n]! as Kind;
  }
  start(n: number): number {
    return this.starts[n]!;
  }
  end(n: number): number {
    return this.ends[n]!;
  }
  /** The raw bytes of node n (a string keeps its quotes). */
  raw(n: number): Buffer {
    return this.buf.subarray(this.starts[n]!, this.ends[n]!);
  }
  /** The children of a container (for an object: key, value, key, value...). */
  *children(n: number): Generator<number> {
    const stop = this.nexts[n]!;
    for (let c = n + 1; c < stop; c = this.nexts[c]!) yield c;
  }

  private add(kind: Kind, start: number): number {
    if (this.count === this.kinds.length) this.grow();
    const n = this.count++;
    this.kinds[n] = kind;
    this.starts[n] = start;
    return n;
  }

  private grow(): void {
    const size = this.kinds.length * 2;
    const g = <T extends Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.kinds = g(this.kinds, (n) => new Uint8Array(n));
    this.starts = g(this.starts, (n) => new Int32Array(n));
    this.ends = g(this.ends, (n) => new Int32Array(n));
    this.nexts = g(this.nexts, (n) => new Int32Array(n));
  }

  private close(n: number, end: number): void {
    this.ends[n] = end;
    this.nexts[n] = this.count;
  }

  private build(): void {
    const b = this.buf;
    const open: number[] = [];
    let i = 0;
    const len = b.length;
    while (i < len) {
      const c = b[i]!;
      if (isSpace(c) || c === 0x2c || c === 0x3a) {
        i++;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        open.push(this.add(c === 0x7b ? Kind.Object : Kind.Array, i));
        i++;
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        this.close(open.pop()!, i + 1);
        i++;
        continue;
      }
      if (c === 0x22) {
        const n = this.add(Kind.String, i);
        i++;
        while (i < len && b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1;
        i++;
        this.close(n, i);
        continue;
      }
      const kind = c === 0x74 ? Kind.True : c === 0x66 ? Kind.False : c === 0x6e ? Kind.Null : Kind.Number;
      const n = this.add(kind, i);
      while (i < len && !isSpace(b[i]!) && b[i] !== 0x2c && b[i] !== 0x7d && b[i] !== 0x5d && b[i] !== 0x3a) i++;
      this.close(n, i);
    }
  }
}
