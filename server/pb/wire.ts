/**
 * The wire shapes @grpc/proto-loader produces and accepts with LOADER_OPTIONS (snake_case,
 * int64 as decimal strings on decode; numbers or strings accepted on encode; bytes as Buffer).
 */
export type Int64 = string | number;

export interface WireKeyValue {
  key: Buffer;
  create_revision: Int64;
  mod_revision: Int64;
  version: Int64;
  value: Buffer;
  lease: Int64;
}

export interface WireRangeRequest {
  key: Buffer;
  range_end: Buffer;
  limit: Int64;
  revision: Int64;
  sort_order: number;
  sort_target: number;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: Int64;
  max_mod_revision: Int64;
  min_create_revision: Int64;
  max_create_revision: Int64;
}

export interface WirePutRequest {
  key: Buffer;
  value: Buffer;
  lease: Int64;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

export interface WireDeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}

export interface WireRequestOp {
  request?: "request_range" | "request_put" | "request_delete_range" | "request_txn";
  request_range?: WireRangeRequest | null;
  request_put?: WirePutRequest | null;
  request_delete_range?: WireDeleteRangeRequest | null;
  request_txn?: WireTxnRequest | null;
}

export interface WireCompare {
  result: number;
  target: number;
  key: Buffer;
  range_end: Buffer;
  target_union?: "version" | "create_revision" | "mod_revision" | "value" | "lease";
  version?: Int64;
  create_revision?: Int64;
  mod_revision?: Int64;
  value?: Buffer;
  lease?: Int64;
}

export interface WireTxnRequest {
  compare: WireCompare[];
  success: WireRequestOp[];
  failure: WireRequestOp[];
}

export interface WireCompactionRequest {
  revision: Int64;
  physical: boolean;
}

export interface WireHeader {
  cluster_id: string;
  member_id: string;
  revision: number;
  raft_term: number;
}

/** A request as decoded, plus the exact bytes the client sent (what goes into the raft log: no re-encoding). */
export interface WithRaw<T> {
  readonly raw: Buffer;
  readonly msg: T;
}

export interface WireLockRequest {
  name: Buffer;
  lease: Int64;
}

export interface WireLeaderKey {
  name: Buffer;
  key: Buffer;
  rev: Int64;
  lease: Int64;
}

export interface WireLeaderResponse {
  header: WireHeader;
  kv: WireKeyValue;
}
