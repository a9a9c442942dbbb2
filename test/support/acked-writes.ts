import assert from "node:assert/strict";
import { grpcClient } from "./grpc-client.js";

export interface PutLoopOptions {
  /** Keys are `${prefix}${n}`. */
  readonly prefix: string;
  /** At most this many puts (every load loop is bounded). */
  readonly count: number;
  readonly valueBytes?: number;
  readonly concurrency?: number;
}

/**
 * The writes a server acknowledged, to read back after a crash or a fault: the rule under test is
 * that every acknowledged write is there afterwards (an error or a dropped connection is not an
 * acknowledgement; such a write may or may not be there).
 */
export class AckedWrites {
  readonly acked = new Map<string, string>();
  /** The first error a put got, if any. */
  firstError: Error | undefined;

  /** Puts until `count` puts were made or the first put fails; then stops every writer. */
  async putUntilFailure(endpoint: string, o: PutLoopOptions): Promise<void> {
    const kv = grpcClient(endpoint, "KV");
    let next = 0;
    let failed = false;
    const pad = "x".repeat(o.valueBytes ?? 0);
    const writer = async () => {
      while (!failed && next < o.count) {
        const key = `${o.prefix}${next++}`;
        const value = `${key}=${pad}`;
        try {
          await kv.call("Put", { key: Buffer.from(key), value: Buffer.from(value) });
          this.acked.set(key, value);
        } catch (e) {
          failed = true;
          this.firstError ??= e as Error;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: o.concurrency ?? 1 }, writer));
    } finally {
      kv.close();
    }
  }

  /** Reads back every acknowledged key from `endpoint` (linearizable reads). */
  async verify(endpoint: string, label = ""): Promise<void> {
    const kv = grpcClient(endpoint, "KV");
    try {
      for (const [key, value] of this.acked) {
        const res = await kv.call<{ kvs: Array<{ value: Buffer }> }>("Range", { key: Buffer.from(key) });
        assert.equal(res.kvs.length, 1, `${label}acknowledged key ${key} is missing`);
        assert.ok(res.kvs[0]!.value.toString() === value, `${label}acknowledged key ${key} has another value`);
      }
    } finally {
      kv.close();
    }
  }
}
