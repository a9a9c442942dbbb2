/**
 * The clients of a partition trial, and the stale-read check.
 *
 * - Writers: closed loops of Puts of unique keys, each homed on a member; after a failure a writer
 *   backs off 10 ms and moves to the next member (a multi-endpoint client). Every acknowledged key
 *   is read back at the end (lost must be 0).
 * - The probe: one key that writers on the majority side set to 1, 2, 3, ... (each acknowledgement
 *   timed, with the store revision it answered), while a reader sends linearizable reads of it to
 *   the old leader only. A read that succeeds is stale when the revision it saw is older than the
 *   revision of a write acknowledged before the read was sent: linearizability forbids it, whatever
 *   the partition. (Revisions, not values: a write that timed out may still be applied later and
 *   set an older value legitimately.)
 */
import { EtcdChannel, errorKind, isTimeout, unary } from "./etcd-client.js";
import type { TargetMember } from "./target.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Outcome {
  start: number;
  end: number;
  ok: boolean;
  timeout: boolean;
}

export interface ProbeWrite {
  value: number;
  start: number;
  end: number;
  ok: boolean;
  /** The store revision the Put answered (acknowledged writes). */
  revision?: number;
}

export interface ProbeRead {
  start: number;
  end: number;
  ok: boolean;
  timeout: boolean;
  /** The value read (null: the key was absent); undefined when the read failed. */
  value?: number | null;
  /** The store revision the read saw (its response header). */
  revision?: number;
}

export interface StaleRead {
  /** The revision the read saw, and the newest revision acknowledged before it was sent. */
  readRevision: number;
  ackedRevision: number;
  readValue: number | null;
  start: number;
}

/** Successful reads that saw a store older than a write acknowledged before they were sent. */
export function findStaleReads(reads: readonly ProbeRead[], writes: readonly ProbeWrite[]): StaleRead[] {
  const acks = writes.filter((w) => w.ok && w.revision !== undefined).sort((a, b) => a.end - b.end);
  const stale: StaleRead[] = [];
  for (const r of reads) {
    if (!r.ok || r.revision === undefined) continue;
    let newest = -1;
    for (const w of acks) {
      if (w.end >= r.start) break;
      newest = Math.max(newest, w.revision!);
    }
    if (r.revision < newest) stale.push({ readRevision: r.revision, ackedRevision: newest, readValue: r.value ?? null, start: r.start });
  }
  return stale;
}

const revisionOf = (res: { header?: { revision?: unknown } }): number | undefined => {
  const r = Number(res.header?.revision);
  return Number.isFinite(r) ? r : undefined;
};

export class PartitionClients {
  readonly outcomes: Outcome[] = [];
  readonly acked = new Map<string, string>();
  readonly errorKinds: Record<string, number> = {};
  readonly probeWrites: ProbeWrite[] = [];
  readonly probeReads: ProbeRead[] = [];
  private readonly channels = new Map<string, EtcdChannel>();
  private stopWriters = false;
  private stopProbe = false;
  private readonly running: Promise<void>[] = [];
  private seq = 0;

  constructor(
    private readonly members: readonly TargetMember[],
    private readonly o: { keyPrefix: string; valSize: number; timeoutMs: number; signal?: AbortSignal },
  ) {
    for (const m of members) this.channels.set(m.name, new EtcdChannel(m.clientUrl));
  }

  get probeKey(): Buffer {
    return Buffer.from(`${this.o.keyPrefix}probe`);
  }

  async ready(): Promise<void> {
    await Promise.all([...this.channels.values()].map((c) => c.ready(5000).catch(() => undefined)));
  }

  private note(e: unknown): boolean {
    const k = errorKind(e);
    if (k in this.errorKinds || Object.keys(this.errorKinds).length < 10) this.errorKinds[k] = (this.errorKinds[k] ?? 0) + 1;
    return isTimeout(e);
  }

  /** `n` writers over every member. */
  startWriters(n: number): void {
    const value = (k: number) => String(k).padEnd(Math.max(this.o.valSize, 12), ".");
    for (let w = 0; w < n; w++) {
      this.running.push(
        (async () => {
          let home = w % this.members.length;
          while (!this.stopWriters && !this.o.signal?.aborted) {
            const k = ++this.seq;
            const key = `${this.o.keyPrefix}${String(k).padStart(8, "0")}`;
            const v = value(k);
            const start = performance.now();
            try {
              await unary(this.channels.get(this.members[home]!.name)!.kv(), "Put", { key: Buffer.from(key), value: Buffer.from(v) }, this.o.timeoutMs);
              this.acked.set(key, v);
              this.outcomes.push({ start, end: performance.now(), ok: true, timeout: false });
            } catch (e) {
              this.outcomes.push({ start, end: performance.now(), ok: false, timeout: this.note(e) });
              home = (home + 1) % this.members.length;
              await sleep(10);
            }
          }
        })(),
      );
    }
  }

  /** Sets the probe key to 0 (through any member) before the fault. */
  async seedProbe(): Promise<void> {
    for (const m of this.members) {
      try {
        const start = performance.now();
        const res = await unary(this.channels.get(m.name)!.kv(), "Put", { key: this.probeKey, value: Buffer.from("0") }, Math.max(this.o.timeoutMs, 5000));
        this.probeWrites.push({ value: 0, start, end: performance.now(), ok: true, revision: revisionOf(res) });
        return;
      } catch {
        /* next member */
      }
    }
    throw new Error("could not write the probe key before the fault");
  }

  /** A writer of increasing probe values through `writers` (the majority side), and a reader on `reader` (the old leader). */
  startProbe(writers: readonly TargetMember[], reader: TargetMember, readTimeoutMs: number): void {
    let value = 0;
    this.running.push(
      (async () => {
        let home = 0;
        while (!this.stopProbe && !this.o.signal?.aborted) {
          const v = ++value;
          const start = performance.now();
          try {
            const res = await unary(this.channels.get(writers[home]!.name)!.kv(), "Put", { key: this.probeKey, value: Buffer.from(String(v)) }, this.o.timeoutMs);
            this.probeWrites.push({ value: v, start, end: performance.now(), ok: true, revision: revisionOf(res) });
          } catch {
            this.probeWrites.push({ value: v, start, end: performance.now(), ok: false });
            home = (home + 1) % writers.length;
          }
          await sleep(20);
        }
      })(),
      (async () => {
        const ch = this.channels.get(reader.name)!;
        while (!this.stopProbe && !this.o.signal?.aborted) {
          const start = performance.now();
          try {
            const res = await unary<{ kvs?: { value: Buffer }[]; header?: { revision?: unknown } }>(ch.kv(), "Range", { key: this.probeKey }, readTimeoutMs);
            const kv = res.kvs?.[0];
            this.probeReads.push({ start, end: performance.now(), ok: true, timeout: false, value: kv ? Number(Buffer.from(kv.value).toString()) : null, revision: revisionOf(res) });
          } catch (e) {
            this.probeReads.push({ start, end: performance.now(), ok: false, timeout: isTimeout(e) });
            await sleep(10);
          }
        }
      })(),
    );
  }

  stopProbing(): void {
    this.stopProbe = true;
  }

  async stop(): Promise<void> {
    this.stopWriters = true;
    this.stopProbe = true;
    await Promise.all(this.running);
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
  }
}
