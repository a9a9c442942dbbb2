/**
 * What an applied Alarm entry does (etcd's applierV3backend.Alarm), and what raised alarms do to the
 * requests applied after them (etcd's applierV3Capped for NOSPACE, applierV3Corrupt for CORRUPT).
 * Both depend only on the replicated alarm set, so every member reaches the same result.
 */
import { ErrCorrupt, ErrNoSpace, type EtcdError } from "../pb/errors.js";
import { AlarmAction, ProposalKind, type EntryRequest } from "../pb/raft-entry.js";
import { AlarmType, type AlarmMember, type AlarmStore } from "./alarm-store.js";
import type * as kv from "../pb/kv.js";

/** The alarms an Alarm request answers with: the list (Get), or the alarm raised or cleared; nothing for an unknown action. */
export function applyAlarm(store: AlarmStore | undefined, action: number, memberId: bigint, alarm: number): AlarmMember[] {
  if (!store) return [];
  switch (action) {
    case AlarmAction.Get:
      return store.get(alarm);
    case AlarmAction.Activate:
      return [store.activate(memberId, alarm)];
    case AlarmAction.Deactivate: {
      const m = store.deactivate(memberId, alarm);
      return m ? [m] : [];
    }
    default:
      // etcd answers nothing (and its server then fails on the empty answer): nothing changes here
      return [];
  }
}

/**
 * The error a request gets at apply while an alarm is raised: with CORRUPT, every KV and lease
 * request; with NOSPACE, what can grow the database (a put, a txn with a put, a lease grant).
 * (etcd wraps its applier when an alarm is raised and unwraps it when one is cleared, so with both
 * raised the last change wins there; here CORRUPT, the stricter, wins while it is raised.)
 */
export function alarmRefusal(store: AlarmStore, r: EntryRequest): EtcdError | undefined {
  switch (r.kind) {
    case ProposalKind.Put:
    case ProposalKind.LeaseGrant:
      if (store.has(AlarmType.Corrupt)) return ErrCorrupt;
      return store.has(AlarmType.NoSpace) ? ErrNoSpace : undefined;
    case ProposalKind.Txn:
      if (store.has(AlarmType.Corrupt)) return ErrCorrupt;
      return store.has(AlarmType.NoSpace) && putsAtTopLevel(r.req) ? ErrNoSpace : undefined;
    case ProposalKind.DeleteRange:
    case ProposalKind.Compaction:
    case ProposalKind.LeaseRevoke:
      return store.has(AlarmType.Corrupt) ? ErrCorrupt : undefined;
    default:
      return undefined;
  }
}

/** etcd's quota Cost of a txn is non-zero only for puts among its own ops (not those of nested txns). */
function putsAtTopLevel(t: kv.TxnRequest): boolean {
  return [...t.success, ...t.failure].some((op) => "requestPut" in op);
}
