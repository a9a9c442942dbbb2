/**
 * The order in which a Ready is handled, as data: every driver of the raft core (the server's
 * RaftLoop, the deterministic simulation in test/raft/sim/) executes this plan, step by step, so the
 * simulation checks the ordering the product ships. The rules (etcd's raft.go):
 *
 *  1. the soft state (leader, role) is reported first;
 *  2. a leader sends its messages first, before persisting (raft thesis 10.2.1: it may write its
 *     log in parallel with replicating it, since it counts its own entries towards a commit only
 *     through its own progress, and applies nothing before the entries are durable); not when the
 *     Ready carries a snapshot, nor when it appends nothing and every entry it commits was proposed
 *     on this member (`answersFirst`): then its messages (commit indexes, heartbeats) wait until
 *     the entries are applied, so the answers to this member's clients leave before them. Sending
 *     a message later is always safe, and no follower has a client waiting for these entries (a batch
 *     that holds another member's entry keeps the early send);
 *  3. a snapshot from the leader is persisted before the hard state and entries that follow it;
 *  4. the hard state and entries are persisted (fsynced when mustSync) before any other message is
 *     sent: a follower's acknowledgement or vote must be durable before it leaves;
 *  5. the snapshot is installed (state machine and raft's log storage), then the hard state and the
 *     entries are handed to raft's log storage;
 *  6. the messages of a non-leader are sent;
 *  7. committed entries are applied, in order, only now that they are durable here;
 *  8. read states are released (after the entries they may depend on are applied);
 *  9. advance() last.
 *
 * Pure: no I/O, no clocks. Steps that have nothing to do are left out.
 */
import { type Entry, type HardState, type Message, type ReadState, type Ready, type Snapshot, type SoftState, StateType } from "./types.js";

export type ReadyStep =
  | { readonly kind: "softState"; readonly softState: SoftState }
  /**
   * `beforePersist`: the leader's early send (its MsgApps may carry entries not durable yet).
   * `afterAnswers`: the driver lets the answers the apply just resolved leave first (rule 2's exception).
   */
  | { readonly kind: "send"; readonly messages: readonly Message[]; readonly beforePersist: boolean; readonly afterAnswers?: boolean }
  | { readonly kind: "persistSnapshot"; readonly snapshot: Snapshot }
  | { readonly kind: "persist"; readonly hardState: HardState | undefined; readonly entries: readonly Entry[]; readonly mustSync: boolean }
  | { readonly kind: "installSnapshot"; readonly snapshot: Snapshot }
  | { readonly kind: "appendToLog"; readonly hardState: HardState | undefined; readonly entries: readonly Entry[] }
  | { readonly kind: "apply"; readonly entries: readonly Entry[] }
  | { readonly kind: "readStates"; readonly readStates: readonly ReadState[] }
  | { readonly kind: "advance" };

/** Whether the node leads once this Ready is handled (its soft state, or the last one seen). */
export function leadsAfter(rd: Ready, ledBefore: boolean): boolean {
  return rd.softState ? rd.softState.raftState === StateType.Leader : ledBefore;
}

export interface PlanOptions {
  /** Every entry `rd` commits was proposed on this member: its clients wait for them (rule 2's exception). */
  readonly committedHere?: boolean;
}

/** The steps that handle `rd`, in order. `leader`: leadsAfter(rd, what the driver knew before). */
export function planReady(rd: Ready, leader: boolean, opts: PlanOptions = {}): ReadyStep[] {
  const steps: ReadyStep[] = [];
  const snapshot = rd.snapshot && rd.snapshot.metadata.index > 0 ? rd.snapshot : undefined;
  const answersFirst = leader && opts.committedHere === true && rd.snapshot === undefined && rd.entries.length === 0 && rd.committedEntries.length > 0;
  const sendEarly = leader && rd.snapshot === undefined && !answersFirst;
  if (rd.softState) steps.push({ kind: "softState", softState: rd.softState });
  if (sendEarly && rd.messages.length > 0) steps.push({ kind: "send", messages: rd.messages, beforePersist: true });
  if (snapshot) steps.push({ kind: "persistSnapshot", snapshot });
  if (rd.hardState || rd.entries.length > 0) steps.push({ kind: "persist", hardState: rd.hardState, entries: rd.entries, mustSync: rd.mustSync });
  if (snapshot) steps.push({ kind: "installSnapshot", snapshot });
  if (rd.hardState || rd.entries.length > 0) steps.push({ kind: "appendToLog", hardState: rd.hardState, entries: rd.entries });
  if (!sendEarly && !answersFirst && rd.messages.length > 0) steps.push({ kind: "send", messages: rd.messages, beforePersist: false });
  if (rd.committedEntries.length > 0) steps.push({ kind: "apply", entries: rd.committedEntries });
  if (answersFirst && rd.messages.length > 0) steps.push({ kind: "send", messages: rd.messages, beforePersist: false, afterAnswers: true });
  if (rd.readStates.length > 0) steps.push({ kind: "readStates", readStates: rd.readStates });
  steps.push({ kind: "advance" });
  return steps;
}
