/** Shared test helpers: configs, a seeded PRNG and a minimal synchronous "driver". */
import { decodeConfChange } from "../../server/raft/conf-change-codec.js";
import { MemoryStorage } from "../../server/raft/memory-storage.js";
import { RawNode } from "../../server/raft/raw-node.js";
import { type Config, type Entry, EntryType, type Message, type NodeId, type Ready } from "../../server/raft/types.js";
import { mulberry32 } from "../support/prng.js";
export { mulberry32 } from "../support/prng.js";


export function randIntFrom(rand: () => number): (n: number) => number {
  return (n: number) => Math.floor(rand() * n);
}

export function config(id: NodeId, storage: MemoryStorage, over: Partial<Config> = {}): Config {
  return {
    id,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    applied: 0,
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    maxUncommittedEntriesSize: 0,
    checkQuorum: false,
    preVote: false,
    randInt: randIntFrom(mulberry32(Number(id) * 7919)),
    ...over,
  };
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** What a synchronous driver did with one Ready. */
export interface Handled {
  readonly ready: Ready;
  readonly applied: Entry[];
  readonly messages: readonly Message[];
}

/**
 * Process one Ready the way the real driver must: persist (snapshot, entries, hard state)
 * into the MemoryStorage, "send" (return) messages, apply committed entries (conf changes via
 * applyConfChange), advance.
 */
export function handleReady(node: RawNode, storage: MemoryStorage): Handled {
  const rd = node.ready();
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
  const applied: Entry[] = [];
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.ConfChange) node.applyConfChange(decodeConfChange(e.data));
    applied.push(e);
  }
  node.advance(rd);
  return { ready: rd, applied, messages: rd.messages };
}

/** Drain all Readies; returns every applied entry and message. */
export function drain(node: RawNode, storage: MemoryStorage): { applied: Entry[]; messages: Message[] } {
  const applied: Entry[] = [];
  const messages: Message[] = [];
  while (node.hasReady()) {
    const h = handleReady(node, storage);
    applied.push(...h.applied);
    messages.push(...h.messages);
  }
  return { applied, messages };
}
