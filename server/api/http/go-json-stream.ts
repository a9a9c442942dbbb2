/**
 * Go's json.Decoder framing over a byte stream (what etcd's gateway reads request bodies with):
 * values are cut where Go's Decoder cuts them, once, as bytes arrive. A syntax error is sticky, as
 * in Go. Linear time: each byte is scanned once (string bodies in bulk).
 *
 * Memory: a value's bytes are kept only until it completes, and not past `maxValueBytes` (the
 * value is then still scanned to its end, so a later syntax error wins as in Go, but only its size
 * is reported). A field of the top-level object that the request type does not have (`isKnownKey`
 * says so) is ignored by jsonpb whatever it holds: it is scanned but kept as `"":0`, so padding or
 * stray fields cost no memory and do not count against the limit (etcd reads them all, then drops them).
 */
import { GoScanner, Scan, plainStringEnd } from "./go-json-scanner.js";

export type FrameEvent =
  /** One complete top-level value, without the spaces before it (unknown top-level fields as `"":0`). */
  | { readonly kind: "value"; readonly bytes: Buffer }
  /** A complete value whose kept bytes were more than the limit; `size`: how many (its JSON size, unknown top-level fields aside). */
  | { readonly kind: "oversized"; readonly size: number }
  /** Go's syntax error, or "unexpected EOF" for a value cut off by the end of the body. */
  | { readonly kind: "error"; readonly message: string }
  /** The body ended cleanly (only spaces after the last value): Go's io.EOF. */
  | { readonly kind: "eof" };

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** Longest key worth looking up: no field name is longer (anything longer is unknown). */
const MAX_KEY_BYTES = 256;
const IGNORED_FIELD = Buffer.from('"":0');

export class GoJsonDecoder {
  private readonly scanner = new GoScanner();
  private inValue = false;
  private parts: Buffer[] = [];
  /** Bytes kept of the current value. */
  private kept = 0;
  /** Bytes of the current value, kept or not. */
  private total = 0;
  /** The kept bytes went over the limit: the value will be reported oversized. */
  private lost = false;
  /** Kept length where the current top-level key begins (-1: not in one). */
  private keyAt = -1;
  /** Inside the value of an unknown top-level field: nothing is kept. */
  private dropping = false;
  private failed: string | undefined;

  constructor(
    private readonly maxValueBytes: number,
    private readonly isKnownKey?: (key: string) => boolean,
  ) {}

  /** The values (and at most one error, last) that `chunk` completes. */
  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    if (this.failed !== undefined) return out;
    let from = 0; // where the bytes to keep begin in this chunk
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.inValue) {
        while (i < n && isSpace(chunk[i]!)) i++;
        if (i === n) break;
        this.startValue();
        from = i;
      }
      if (this.scanner.inPlainString()) {
        i = plainStringEnd(chunk, i, n);
        if (i === n) break;
      }
      const depth = this.scanner.depth();
      const r = this.scanner.step(chunk[i]!);
      if (r === Scan.Error) {
        this.failed = this.scanner.err!;
        out.push({ kind: "error", message: this.failed });
        this.parts = [];
        return out;
      }
      if (r === Scan.End) {
        // a scalar ended before this byte, which starts whatever comes next
        out.push(this.complete(chunk, from, i));
        continue;
      }
      if (this.isKnownKey && depth === 1) from = this.topLevelField(r, chunk, from, i);
      i++;
      if ((r === Scan.EndObject || r === Scan.EndArray) && this.scanner.endsAfterClose()) out.push(this.complete(chunk, from, i));
    }
    if (this.inValue) this.keep(chunk, from, n);
    return out;
  }

  /** The end of the body: a value the end completes (then the clean end), "unexpected EOF", or the clean end. */
  end(): FrameEvent[] {
    if (this.failed !== undefined) return [{ kind: "error", message: this.failed }];
    if (!this.inValue) return [{ kind: "eof" }];
    if (this.scanner.step(0x20) === Scan.End) return [this.complete(Buffer.alloc(0), 0, 0), { kind: "eof" }];
    this.failed = "unexpected EOF";
    this.parts = [];
    return [{ kind: "error", message: this.failed }];
  }

  /** Bytes of the value in progress (0 between values). */
  pendingBytes(): number {
    return this.inValue ? this.total : 0;
  }

  private startValue(): void {
    this.inValue = true;
    this.scanner.reset();
    this.parts = [];
    this.kept = 0;
    this.total = 0;
    this.lost = false;
    this.keyAt = -1;
    this.dropping = false;
  }

  /**
   * Byte i (scanned as `r`) inside the top-level object: where a key starts, is complete (its
   * colon) and where its value ends. Returns where the bytes to keep now begin in the chunk
   * (bytes are flushed only when a field is dropped, so kept data stays in few large pieces).
   */
  private topLevelField(r: Scan, chunk: Buffer, from: number, i: number): number {
    if (r === Scan.BeginLiteral && this.scanner.atObjectKey()) {
      this.keyAt = this.kept + (i - from);
      return from;
    }
    if (r === Scan.ObjectKey && this.keyAt >= 0) {
      const keyLen = this.kept + (i - from) - this.keyAt;
      let known = false;
      if (keyLen <= MAX_KEY_BYTES && !this.lost) {
        const raw = this.keyAt >= this.kept ? chunk.subarray(from + (this.keyAt - this.kept), i) : Buffer.concat([this.tail(this.kept - this.keyAt), chunk.subarray(from, i)]);
        known = this.isKnownKey!(keyText(raw));
      }
      const keyAt = this.keyAt;
      this.keyAt = -1;
      if (known) return from;
      this.keep(chunk, from, i + 1);
      this.truncate(keyAt);
      this.keepBytes(IGNORED_FIELD);
      this.dropping = true;
      return i + 1;
    }
    if ((r === Scan.ObjectValue || r === Scan.EndObject) && this.dropping) {
      this.total += i - from;
      this.dropping = false;
      return i;
    }
    return from;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.total += to - from;
    if (!this.dropping) this.keepBytes(chunk.subarray(from, to));
  }

  private keepBytes(b: Buffer): void {
    this.kept += b.length;
    if (this.kept > this.maxValueBytes) this.lost = true;
    if (this.lost) this.parts = [];
    else this.parts.push(b);
  }

  /** The last `len` kept bytes (len is small: a key). */
  private tail(len: number): Buffer {
    const pieces: Buffer[] = [];
    let need = len;
    for (let k = this.parts.length - 1; k >= 0 && need > 0; k--) {
      const p = this.parts[k]!;
      pieces.unshift(p.length > need ? p.subarray(p.length - need) : p);
      need -= Math.min(need, p.length);
    }
    return Buffer.concat(pieces);
  }

  /** Forget the kept bytes past `len` (a key just kept: a few bytes at the end). */
  private truncate(len: number): void {
    let cut = this.kept - len;
    while (!this.lost && cut > 0 && this.parts.length > 0) {
      const last = this.parts[this.parts.length - 1]!;
      if (last.length <= cut) {
        this.parts.pop();
        cut -= last.length;
      } else {
        this.parts[this.parts.length - 1] = last.subarray(0, last.length - cut);
        cut = 0;
      }
    }
    this.kept = len;
  }

  private complete(chunk: Buffer, from: number, to: number): FrameEvent {
    this.keep(chunk, from, to);
    const ev: FrameEvent = this.lost
      ? { kind: "oversized", size: this.kept }
      : { kind: "value", bytes: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.kept) };
    this.parts = [];
    this.inValue = false;
    return ev;
  }
}

/** A key's raw bytes (quotes included, spaces after) as Go reads the key: a string equal to a field name exactly when Go's key is. */
function keyText(raw: Buffer): string {
  let end = raw.length;
  while (end > 0 && isSpace(raw[end - 1]!)) end--;
  const lit = raw.subarray(0, end);
  if (!lit.includes(0x5c)) return lit.toString("latin1", 1, lit.length - 1);
  return JSON.parse(lit.toString("latin1")) as string;
}
