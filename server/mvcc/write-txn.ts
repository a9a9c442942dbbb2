/**
 * A write transaction of the MVCC store (etcd's storeTxnWrite): puts and deletes update the key
 * index at once, so later reads of the same transaction see them; the store writes the rows to
 * the backend only when the transaction commits, and a rollback undoes the index changes.
 */
import { EventType, type Event, type KeyValue } from "../pb/kv.js";
import type { KeyIndex, KeyRev } from "./key-index.js";
import { keyString, rangeEndString, type TreeIndex } from "./tree-index.js";

export interface RangeOptions {
  /** Read at this revision (<= 0 or absent: the current revision). */
  readonly revision?: number;
  /** Max kvs returned (<= 0 or absent: no limit). `count` is always the full count. */
  readonly limit?: number;
  /** Return no kvs, only the count. */
  readonly countOnly?: boolean;
}

export interface RangeResult {
  /** The visible KeyValues in key order. Shared objects: do not mutate. */
  readonly kvs: KeyValue[];
  /** How many keys the range holds at the read revision (regardless of limit). */
  readonly count: number;
  /** The store revision the read saw as current (etcd's RangeResult.Rev). */
  readonly rev: number;
}

export interface WriteTxn {
  /** The revision this transaction started at; its writes get rev()+1. */
  readonly beginRevision: number;
  /** Reads see the transaction's own earlier writes (etcd's storeTxnWrite.Range). */
  range(key: Buffer, rangeEnd: Buffer, opts?: RangeOptions): RangeResult;
  put(key: Buffer, value: Buffer, lease: bigint): void;
  deleteRange(key: Buffer, rangeEnd: Buffer): { deleted: KeyValue[] };
  /** Number of writes so far (etcd's len(txn.Changes())). */
  changes(): number;
}

/** One write of a transaction. */
export interface Change {
  readonly ki: KeyIndex;
  /** The KeyIndex was created by this transaction (rollback removes it). */
  readonly createdKi: boolean;
  readonly event: Event;
}

/** What a transaction needs from its store. */
export interface TxnStore {
  /** The key index (asked each time: a restore replaces it). */
  keyIndex(): TreeIndex;
  /** The KeyValue at (main, sub) of a committed or pending revision. */
  readKv(main: number, sub: number): KeyValue;
  /** Whether a put's event must carry the key's previous value (MvccStore.retainPrevKv). */
  prevKvWanted(): boolean;
  /** A range read as of `curRev` that sees `txn`'s own writes. */
  rangeKeys(key: Buffer, rangeEnd: Buffer, opts: RangeOptions, curRev: number, txn: StoreWriteTxn): RangeResult;
}

const EMPTY = Buffer.alloc(0);

/** The KeyValue of a deletion event: etcd's tombstone carries only the key and the revision. */
export function tombstoneKv(key: Buffer, main: number): KeyValue {
  return { key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0n };
}

export class StoreWriteTxn implements WriteTxn {
  readonly changeList: Change[] = [];
  private done = false;
  constructor(
    private readonly store: TxnStore,
    readonly beginRevision: number,
  ) {}

  private check(): void {
    if (this.done) throw new Error("mvcc: write transaction already ended");
  }

  /** The revision this transaction's reads see: its own once it has written something. */
  private readRevision(): number {
    return this.changeList.length > 0 ? this.beginRevision + 1 : this.beginRevision;
  }

  range(key: Buffer, rangeEnd: Buffer, opts: RangeOptions = {}): RangeResult {
    this.check();
    return this.store.rangeKeys(key, rangeEnd, opts, this.readRevision(), this);
  }

  /** The event carries the previous value only while the store's consumers want it (TxnStore.prevKvWanted). */
  put(key: Buffer, value: Buffer, lease: bigint): void {
    this.check();
    const index = this.store.keyIndex();
    const main = this.beginRevision + 1;
    const sub = this.changeList.length;
    const ks = keyString(key);
    let ki = index.keyIndex(ks);
    let createdKi = false;
    let prev: KeyValue | undefined;
    let createRevision = main;
    let version = 1;
    if (ki === undefined) {
      ki = index.create(ks);
      createdKi = true;
    } else {
      const r = ki.get(main);
      if (r !== undefined) {
        createRevision = r.createdMain;
        version = r.version + 1;
        if (this.store.prevKvWanted()) prev = this.readKv(r.main, r.sub);
      }
    }
    const kv: KeyValue = { key, createRevision, modRevision: main, version, value, lease };
    ki.put(main, sub);
    this.changeList.push({ ki, createdKi, event: prev ? { type: EventType.Put, kv, prevKv: prev } : { type: EventType.Put, kv } });
  }

  deleteRange(key: Buffer, rangeEnd: Buffer): { deleted: KeyValue[] } {
    this.check();
    const index = this.store.keyIndex();
    const rrev = this.readRevision();
    const targets: Array<{ ki: KeyIndex; r: KeyRev }> = [];
    if (rangeEnd.length === 0) {
      const ki = index.keyIndex(keyString(key));
      const r = ki?.get(rrev);
      if (ki && r) targets.push({ ki, r });
    } else {
      index.visitAt(keyString(key), rangeEndString(rangeEnd), rrev, (ki, r) => {
        targets.push({ ki, r });
      });
    }
    const deleted: KeyValue[] = [];
    const main = this.beginRevision + 1;
    for (const { ki, r } of targets) {
      const prev = this.readKv(r.main, r.sub);
      const sub = this.changeList.length;
      if (!ki.tombstone(main, sub)) throw new Error(`mvcc: cannot tombstone an existing key ${JSON.stringify(ki.key)}`);
      this.changeList.push({ ki, createdKi: false, event: { type: EventType.Delete, kv: tombstoneKv(prev.key, main), prevKv: prev } });
      deleted.push(prev);
    }
    return { deleted };
  }

  changes(): number {
    return this.changeList.length;
  }

  /** The KeyValue at (main, sub), this transaction's own writes included. */
  readKv(main: number, sub: number): KeyValue {
    return main === this.beginRevision + 1 ? this.ownKv(sub) : this.store.readKv(main, sub);
  }

  /** The KeyValue this transaction wrote at sub revision `sub`. */
  ownKv(sub: number): KeyValue {
    const c = this.changeList[sub];
    if (!c || c.event.type !== EventType.Put) throw new Error(`mvcc: no put at sub revision ${sub} in this transaction`);
    return c.event.kv;
  }

  /** Undo the index changes, newest first. */
  rollback(): void {
    const list = this.changeList;
    const index = this.store.keyIndex();
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      if (c.event.type === EventType.Put) c.ki.undoPut();
      else c.ki.undoTombstone();
      if (c.createdKi && c.ki.isEmpty()) index.remove(c.ki.key);
    }
    list.length = 0;
    this.done = true;
  }

  end(): void {
    this.done = true;
  }
}
