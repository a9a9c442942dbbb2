/**
 * Protobuf bytes of a decoded gateway request, as gogo's generated marshaler writes the Go struct
 * etcd's gateway built (fields by number; proto3 zero values left out; a oneof member always
 * written, except a nil bytes or message member; repeated numbers packed). 64-bit values are
 * bigints throughout, so every int64/uint64 arrives exactly.
 *
 * A null element of a repeated message field is a nil pointer in Go's slice: gogo's marshaler
 * dereferences it and panics; net/http recovers and drops the connection without an answer. That
 * is etcd's observable behavior, so encoding reports it (NilElementError) instead of inventing one.
 */
import type { DecodedMessage, FieldValue } from "./jsonpb-decode.js";
import type { FieldSchema } from "./jsonpb-schema.js";

export class NilElementError extends Error {
  constructor(field: string) {
    super(`nil element in repeated field ${field}`);
  }
}

const enum Wire {
  Varint = 0,
  Bytes = 2,
}

class Writer {
  private readonly parts: Buffer[] = [];
  private small: number[] = [];
  length = 0;

  varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  tag(id: number, wire: Wire): void {
    this.varint(BigInt(id * 8 + wire));
  }

  bytes(b: Buffer): void {
    this.varint(BigInt(b.length));
    this.flush();
    if (b.length > 0) this.parts.push(b);
    this.length += b.length;
  }

  finish(): Buffer {
    this.flush();
    return this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
  }

  private byte(b: number): void {
    this.small.push(b);
    this.length++;
  }

  private flush(): void {
    if (this.small.length > 0) this.parts.push(Buffer.from(this.small));
    this.small = [];
  }
}

/** The message's protobuf encoding. Throws NilElementError where etcd's gateway would panic. */
export function encodeMessage(msg: DecodedMessage): Buffer {
  const w = new Writer();
  for (const f of msg.schema.byNumber) {
    const v = msg.values.get(f.id);
    if (v === undefined) continue;
    if (f.repeated) writeRepeated(w, f, v as FieldValue[]);
    else writeSingle(w, f, v, f.oneof !== undefined && msg.oneofs.get(f.oneof) === f.id);
  }
  return w.finish();
}

function writeSingle(w: Writer, f: FieldSchema, v: FieldValue, inOneof: boolean): void {
  if (v === null) return; // nil bytes or message
  if (typeof v === "bigint") {
    if (v === 0n && !inOneof) return;
    w.tag(f.id, Wire.Varint);
    w.varint(v);
  } else if (typeof v === "boolean") {
    if (!v && !inOneof) return;
    w.tag(f.id, Wire.Varint);
    w.varint(v ? 1n : 0n);
  } else if (Buffer.isBuffer(v)) {
    if (v.length === 0 && !inOneof) return;
    w.tag(f.id, Wire.Bytes);
    w.bytes(v);
  } else if (!Array.isArray(v)) {
    w.tag(f.id, Wire.Bytes);
    w.bytes(encodeMessage(v));
  }
}

function writeRepeated(w: Writer, f: FieldSchema, vs: FieldValue[]): void {
  if (vs.length === 0) return;
  if (f.type.kind === "message") {
    for (const v of vs) {
      if (v === null) throw new NilElementError(f.origName);
      w.tag(f.id, Wire.Bytes);
      w.bytes(encodeMessage(v as DecodedMessage));
    }
    return;
  }
  if (f.type.kind === "enum" || (f.type.scalar !== "bytes" && f.type.scalar !== "string")) {
    const packed = new Writer();
    for (const v of vs) packed.varint(typeof v === "boolean" ? (v ? 1n : 0n) : (v as bigint));
    w.tag(f.id, Wire.Bytes);
    w.bytes(packed.finish());
    return;
  }
  for (const v of vs) {
    w.tag(f.id, Wire.Bytes);
    w.bytes((v as Buffer | null) ?? Buffer.alloc(0));
  }
}
