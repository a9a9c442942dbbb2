/**
 * History types for the key-value linearizability checker.
 *
 * Values are strings (encode bytes as utf8/base64/hex before recording); `null` means "key absent".
 * Times are any monotonic number (the recorder uses `performance.now()` milliseconds).
 */

export type OpKind = "put" | "get" | "delete" | "cas";

export interface OpInputs {
  put: { key: string; value: string };
  get: { key: string };
  delete: { key: string };
  /**
   * etcd Txn: If(value(key) == expected) — or, with `expected: null`, If(create_revision(key) == 0),
   * i.e. "key absent" — Then(put(key, value)).
   */
  cas: { key: string; expected: string | null; value: string };
}

export interface OpOutputs {
  /** Ignored (a put always succeeds when it takes effect); record the response if you like. */
  put: unknown;
  /** The value read, or null when the key is absent. */
  get: string | null;
  /** Number of keys deleted: 0 or 1 (single-key delete). */
  delete: number;
  /** Txn `succeeded`. */
  cas: boolean;
}

/**
 * - "ok": the op returned; `return` and (except for put) `output` are required.
 * - "failed": the op returned an error proving it did not take effect (validation error, compare
 *   on a txn the server rejected before proposing, ...). Dropped from the history.
 * - "unknown": timeout, connection lost, member killed... It may have taken effect at any point
 *   after `call` (even after the client gave up), or never. `return` and `output` are ignored.
 */
export type Outcome = "ok" | "failed" | "unknown";

export type ClientId = string | number;

interface EntryOf<O extends OpKind> {
  clientId: ClientId;
  op: O;
  input: OpInputs[O];
  call: number;
  return: number | undefined;
  output?: OpOutputs[O];
  outcome: Outcome;
}

export type HistoryEntry = { [O in OpKind]: EntryOf<O> }[OpKind];
export type History = readonly HistoryEntry[];

export interface CheckOptions {
  /** Search steps allowed per key (partition) before giving up with "unknown". Default 5,000,000 (memory: ~100 bytes a step). */
  maxStepsPerKey?: number;
  /** Wall-clock time allowed per key (partition), ms. Default 20,000. */
  timeoutMsPerKey?: number;
  /** Wall-clock time allowed for building the explanation of a violation, ms. Default 10,000. */
  explainTimeoutMs?: number;
  /** Unit printed after times in explanations. Default "ms". */
  timeUnit?: string;
}

export type CheckResult =
  | { ok: true; keys: number; ops: number; steps: number }
  | {
      ok: false;
      key: string;
      explanation: string;
      /** Indices (into the checked history) of the ops in the minimal failing window. */
      windowOps: number[];
    }
  | { ok: "unknown"; reason: string; keys: string[] };
