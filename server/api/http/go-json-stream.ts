/**
 * Go's json.Decoder framing over a byte stream (what etcd's gateway reads request bodies with):
 * values are cut where Go's Decoder cuts them, once, as bytes arrive. A syntax error is sticky, as
 * in Go. Linear time: each byte is scanned once (string bodies in bulk); a value's bytes are kept
 * only until it completes, and not at all past `maxValueBytes` (the value is still scanned to its
 * end so a later syntax error wins, as in Go, but only its size is reported).
 */
import { GoScanner, Scan, plainStringEnd } from "./go-json-scanner.js";

export type FrameEvent =
  /** One complete top-level value, without the spaces before it. */
  | { readonly kind: "value"; readonly bytes: Buffer }
  /** A complete value that was larger than the limit (its bytes were not kept). */
  | { readonly kind: "oversized"; readonly size: number }
  /** Go's syntax error, or "unexpected EOF" for a value cut off by the end of the body. */
  | { readonly kind: "error"; readonly message: string }
  /** The body ended cleanly (only spaces after the last value): Go's io.EOF. */
  | { readonly kind: "eof" };

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

export class GoJsonDecoder {
  private readonly scanner = new GoScanner();
  private inValue = false;
  private parts: Buffer[] = [];
  private size = 0;
  private failed: string | undefined;

  constructor(private readonly maxValueBytes: number) {}

  /** The values (and at most one error, last) that `chunk` completes. */
  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    if (this.failed !== undefined) return out;
    let start = 0; // where the current value's bytes begin in this chunk
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.inValue) {
        while (i < n && isSpace(chunk[i]!)) i++;
        if (i === n) break;
        this.inValue = true;
        this.scanner.reset();
        start = i;
      }
      if (this.scanner.inPlainString()) {
        i = plainStringEnd(chunk, i, n);
        if (i === n) break;
      }
      const r = this.scanner.step(chunk[i]!);
      if (r === Scan.Error) {
        this.failed = this.scanner.err!;
        out.push({ kind: "error", message: this.failed });
        this.parts = [];
        return out;
      }
      if (r === Scan.End) {
        // a scalar ended before this byte, which starts whatever comes next
        out.push(this.complete(chunk, start, i));
        continue;
      }
      i++;
      if ((r === Scan.EndObject || r === Scan.EndArray) && this.scanner.endsAfterClose()) out.push(this.complete(chunk, start, i));
    }
    if (this.inValue) this.keep(chunk, start, n);
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
    return this.inValue ? this.size : 0;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    this.size += to - from;
    if (this.size > this.maxValueBytes) {
      this.parts = [];
      return;
    }
    if (to > from) this.parts.push(chunk.subarray(from, to));
  }

  private complete(chunk: Buffer, from: number, to: number): FrameEvent {
    this.keep(chunk, from, to);
    const size = this.size;
    const ev: FrameEvent = size > this.maxValueBytes ? { kind: "oversized", size } : { kind: "value", bytes: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, size) };
    this.parts = [];
    this.size = 0;
    this.inValue = false;
    return ev;
  }
}
