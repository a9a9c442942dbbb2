/**
 * Small shared helpers of the Raft core: entry sizes, message constructors, message classes.
 * PURE (no node:*, no clock, no randomness).
 */
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  NONE,
  type NodeId,
  type Snapshot,
} from "./types.js";

/** A shared empty byte array (never written to). */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
/** A shared empty entry list (frozen). */
export const NO_ENTRIES: readonly Entry[] = Object.freeze([]) as readonly Entry[];
export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: [], learners: [] });
export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: Object.freeze({ index: 0, term: 0, confState: EMPTY_CONF_STATE }),
  data: EMPTY_BYTES,
});

/** Fixed per-entry overhead in bytes; equals the entry header size of message-codec.ts. */
export const ENTRY_OVERHEAD = 21;

/**
 * The size of an entry for maxSizePerMsg / maxCommittedSizePerReady / Storage.entries(maxSize)
 * accounting: its encoded size in message-codec.ts (header + data).
 */
export function entrySize(e: Entry): number {
  return ENTRY_OVERHEAD + e.data.byteLength;
}

/** Payload size, as used for the uncommitted-size limit (etcd's PayloadSize). */
export function payloadSize(e: Entry): number {
  return e.data.byteLength;
}

/**
 * How many entries of `ents[from..to)` fit in maxSize bytes: always at least one (if the
 * range is non-empty), then as many as keep the running total <= maxSize.
 */
export function countWithinSize(ents: readonly Entry[], from: number, to: number, maxSize: number): number {
  if (to <= from) return 0;
  let size = entrySize(ents[from]!);
  let n = 1;
  while (from + n < to) {
    size += entrySize(ents[from + n]!);
    if (size > maxSize) break;
    n++;
  }
  return n;
}

/** etcd's limitSize: a prefix of ents within maxSize bytes (at least one entry). Returns ents itself when nothing is cut. */
export function limitSize<T extends readonly Entry[]>(ents: T, maxSize: number): T {
  if (ents.length === 0 || maxSize === Infinity) return ents;
  const n = countWithinSize(ents, 0, ents.length, maxSize);
  return (n === ents.length ? ents : ents.slice(0, n)) as unknown as T;
}

export function isEmptySnap(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Messages a RawNode generates for itself; they can not be stepped from outside. */
export function isLocalMsg(t: MessageType): boolean {
  return (
    t === MessageType.Hup ||
    t === MessageType.Beat ||
    t === MessageType.Unreachable ||
    t === MessageType.SnapStatus ||
    t === MessageType.CheckQuorum
  );
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.AppResp ||
    t === MessageType.VoteResp ||
    t === MessageType.HeartbeatResp ||
    t === MessageType.Unreachable ||
    t === MessageType.PreVoteResp
  );
}

export function voteRespType(t: MessageType): MessageType {
  if (t === MessageType.Vote) return MessageType.VoteResp;
  if (t === MessageType.PreVote) return MessageType.PreVoteResp;
  throw new Error(`not a vote message: ${MessageType[t]}`);
}

/** A Message with writable fields, used while building one. */
export type MutableMessage = { -readonly [K in keyof Message]: Message[K] };

/** A message with every field at its zero value (a stable object shape for V8). */
export function newMessage(type: MessageType, to: NodeId, from: NodeId = NONE): MutableMessage {
  return {
    type,
    to,
    from,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    commitOnly: false,
  };
}

/** A complete Message from a partial one (handy for tests and the driver). */
export function makeMessage(fields: Partial<Message> & Pick<Message, "type">): Message {
  const m = newMessage(fields.type, fields.to ?? NONE, fields.from ?? NONE);
  return Object.assign(m, fields);
}

export function normalEntry(term: number, index: number, data: Uint8Array = EMPTY_BYTES): Entry {
  return { term, index, type: EntryType.Normal, data };
}

/** A Map key for a byte string (read-index contexts). Latin-1 style, one char per byte. */
export function bytesKey(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function minNum(a: number, b: number): number {
  return a < b ? a : b;
}
export function maxNum(a: number, b: number): number {
  return a > b ? a : b;
}
