/**
 * The apply-time checks of a committed Normal raft entry: the wire decoding is `pb/raft-entry.ts`;
 * here a well-formed request is checked as the server checks it before proposing
 * (apply/validate.ts). Everything is a pure function of the entry's bytes: every member reaches the
 * same verdict for the same entry, whatever its configuration (no --max-txn-ops, no clocks), so an
 * entry that is refused is refused everywhere and becomes the same no-op everywhere.
 *
 * An entry proposed by an etcd-ts member always passes: only a crafted, damaged or foreign entry is
 * refused.
 */
import { EtcdError } from "../pb/errors.js";
import type * as kv from "../pb/kv.js";
import { ProposalKind, decodeEntry, type AuthStamp, type EntryRequest } from "../pb/raft-entry.js";
import { validateDeleteRange, validatePut, validateTxn } from "./apply/index.js";

/**
 * Deeper nested txns are refused at apply, far below any stack limit. (protobufjs already refuses
 * messages nested past MAX_MESSAGE_NESTING levels; this holds whatever the decoder does.)
 */
export const MAX_TXN_DEPTH = 128;

export type DecodedRequest = EntryRequest;

export type DecodedEntry =
  /** The leader's empty entry of a new term. */
  | { readonly type: "noop" }
  | { readonly type: "request"; readonly id: bigint; readonly request: DecodedRequest; readonly stamp?: AuthStamp }
  /** Cannot be applied. `err`: the etcd error a client would have got for it, when there is one. */
  | { readonly type: "invalid"; readonly id?: bigint; readonly reason: string; readonly err?: EtcdError };

function txnDepth(t: kv.TxnRequest, depth = 1): number {
  if (depth > MAX_TXN_DEPTH) return depth;
  let max = depth;
  for (const op of [...t.success, ...t.failure]) if ("requestTxn" in op) max = Math.max(max, txnDepth(op.requestTxn, depth + 1));
  return max;
}

/** Why a well-formed request cannot be applied (with the error its client would have got), or undefined. */
function refusal(r: EntryRequest): { reason: string; err?: EtcdError } | undefined {
  const check = (f: () => void) => {
    try {
      f();
      return undefined;
    } catch (e) {
      if (e instanceof EtcdError) return { reason: e.message, err: e };
      return { reason: e instanceof Error ? e.message : String(e) };
    }
  };
  switch (r.kind) {
    case ProposalKind.Put:
      return check(() => validatePut(r.req));
    case ProposalKind.DeleteRange:
      return check(() => validateDeleteRange(r.req));
    case ProposalKind.Txn:
      if (txnDepth(r.req) > MAX_TXN_DEPTH) return { reason: `txn nested deeper than ${MAX_TXN_DEPTH}` };
      // the op-count limit is each member's own --max-txn-ops: not a property of the entry
      return check(() => validateTxn(r.req, Number.MAX_SAFE_INTEGER));
    default:
      return undefined;
  }
}

/** Decodes and checks a Normal entry's data. Never throws. */
export function decodeNormalEntry(data: Uint8Array): DecodedEntry {
  const d = decodeEntry(data);
  if (d.type !== "request") return d;
  const why = refusal(d.request);
  return why ? { type: "invalid", id: d.id, ...why } : d;
}
