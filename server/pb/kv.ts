/**
 * The KV API's messages as etcd-ts's layers see them: revisions and counts as safe integers,
 * lease IDs as bigint (int64 on the wire), keys and values as Buffers. The gRPC and HTTP
 * adapters convert the wire form to these types (checking ranges) and back.
 */
/** Every response's header (etcd's ResponseHeader). */
export interface Header {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly revision: number;
  readonly raftTerm: number;
}

export interface KeyValue {
  readonly key: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Number of modifications since creation; 0 for a deleted key's tombstone. */
  readonly version: number;
  readonly value: Buffer;
  readonly lease: bigint;
}

export enum SortOrder {
  None = 0,
  Ascend = 1,
  Descend = 2,
}
export enum SortTarget {
  Key = 0,
  Version = 1,
  Create = 2,
  Mod = 3,
  Value = 4,
}

export interface RangeRequest {
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  readonly limit: number;
  readonly revision: number;
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly serializable: boolean;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface RangeResponse {
  /** The revision etcd reports in this response's header (inside a txn, each op's own header carries it). */
  readonly revision: number;
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly count: number;
}

export interface PutRequest {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly lease: bigint;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface PutResponse {
  /** The revision etcd reports in this response's header (inside a txn, each op's own header carries it). */
  readonly revision: number;
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  readonly prevKv: boolean;
}

export interface DeleteRangeResponse {
  /** The revision etcd reports in this response's header (inside a txn, each op's own header carries it). */
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: KeyValue[];
}

export type RequestOp =
  | { readonly requestRange: RangeRequest }
  | { readonly requestPut: PutRequest }
  | { readonly requestDeleteRange: DeleteRangeRequest }
  | { readonly requestTxn: TxnRequest };

export type ResponseOp =
  | { readonly responseRange: RangeResponse }
  | { readonly responsePut: PutResponse }
  | { readonly responseDeleteRange: DeleteRangeResponse }
  | { readonly responseTxn: TxnResponse };

export enum CompareResult {
  Equal = 0,
  Greater = 1,
  Less = 2,
  NotEqual = 3,
}
export enum CompareTarget {
  Version = 0,
  Create = 1,
  Mod = 2,
  Value = 3,
  Lease = 4,
}

export type CompareValue =
  | { readonly version: number }
  | { readonly createRevision: number }
  | { readonly modRevision: number }
  | { readonly value: Buffer }
  | { readonly lease: bigint };

export interface Compare {
  readonly result: CompareResult;
  readonly target: CompareTarget;
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  /** Which oneof member the client set; absent compares against the zero value of `target`. */
  readonly targetUnion?: CompareValue;
}

export interface TxnRequest {
  readonly compare: Compare[];
  readonly success: RequestOp[];
  readonly failure: RequestOp[];
}

export interface TxnResponse {
  /** The revision etcd reports in this response's header (inside a txn, each op's own header carries it). */
  readonly revision: number;
  readonly succeeded: boolean;
  readonly responses: ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  readonly physical: boolean;
}

export enum EventType {
  Put = 0,
  Delete = 1,
}

export interface Event {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}
