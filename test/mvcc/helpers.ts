/** Shared by the mvcc/apply/backend tests: temp stores and request builders. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend, backendPath } from "../../server/backend/index.js";
import { MvccStore, type MvccStoreOptions } from "../../server/mvcc/index.js";
import {
  SortOrder,
  SortTarget,
  type Compare,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from "../../server/pb/kv.js";

export const B = (s: string): Buffer => Buffer.from(s, "latin1");
export const S = (b: Buffer): string => b.toString("latin1");
export const NONE = Buffer.alloc(0);
export const FROM_KEY = Buffer.from([0]);

export interface TempStore {
  dir: string;
  backend: Backend;
  store: MvccStore;
  /** Close store and backend, reopen both from disk. */
  reopen(opts?: MvccStoreOptions): Promise<void>;
  close(): Promise<void>;
  /** Close and delete the temp dir. */
  destroy(): Promise<void>;
}

export function tempDir(prefix = "etcd-ts-mvcc-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function openTempStore(opts: MvccStoreOptions = {}): TempStore {
  const dir = tempDir();
  const t: TempStore = {
    dir,
    backend: Backend.open(backendPath(dir)),
    store: undefined as unknown as MvccStore,
    async reopen(o = opts) {
      await t.close();
      t.backend = Backend.open(backendPath(dir));
      t.store = MvccStore.open(t.backend, o);
    },
    async close() {
      await t.store.close();
      await t.backend.close();
    },
    async destroy() {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t.store = MvccStore.open(t.backend, opts);
  return t;
}

export function rangeReq(key: string, rangeEnd: string | Buffer = NONE, o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: B(key),
    rangeEnd: typeof rangeEnd === "string" ? B(rangeEnd) : rangeEnd,
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.None,
    sortTarget: SortTarget.Key,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  };
}

export function putReq(key: string, value: string, o: Partial<PutRequest> = {}): PutRequest {
  return { key: B(key), value: B(value), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false, ...o };
}

export function delReq(key: string, rangeEnd: string | Buffer = NONE, o: Partial<DeleteRangeRequest> = {}): DeleteRangeRequest {
  return { key: B(key), rangeEnd: typeof rangeEnd === "string" ? B(rangeEnd) : rangeEnd, prevKv: false, ...o };
}

export const opRange = (r: RangeRequest): RequestOp => ({ requestRange: r });
export const opPut = (r: PutRequest): RequestOp => ({ requestPut: r });
export const opDel = (r: DeleteRangeRequest): RequestOp => ({ requestDeleteRange: r });
export const opTxn = (r: TxnRequest): RequestOp => ({ requestTxn: r });

export function txnReq(compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnRequest {
  return { compare, success, failure };
}

/** The KeyValue fields as a plain comparable object (buffers as latin1 strings). */
export function kvPlain(kv: { key: Buffer; value: Buffer; createRevision: number; modRevision: number; version: number; lease: bigint }) {
  return { key: S(kv.key), value: S(kv.value), create: kv.createRevision, mod: kv.modRevision, ver: kv.version, lease: kv.lease };
}
