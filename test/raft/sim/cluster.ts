/**
 * A deterministic in-memory cluster of RawNodes with a simulated driver per member.
 *
 * Each member's driver executes the plan of every Ready that the server's RaftLoop executes
 * (server/raft/ready-plan.ts: the leader's early send, persist, install, send, apply, advance):
 * persisting is writing to the MemoryStorage, which survives a crash; sending puts messages into
 * the Network; applying feeds a list-of-entries state machine (conf changes through
 * applyConfChange). It also takes snapshots and compacts its log periodically.
 *
 * A crash drops the RawNode and the (volatile) state machine; a restart rebuilds them from the
 * MemoryStorage: the state machine from the snapshot's data, then the log is re-applied. A crash
 * can also be armed to strike in the middle of a Ready, after some steps of its plan (crashMidReady).
 *
 * Safety checks (checkInvariants) throw on the first violation.
 */
import { decodeConfChange } from "../../../server/raft/conf-change-codec.js";
import { MemoryStorage } from "../../../server/raft/memory-storage.js";
import { RawNode } from "../../../server/raft/raw-node.js";
import {
  type Config,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
  StateType,
} from "../../../server/raft/types.js";
import { bytesEqual } from "../../../server/raft/util.js";
import { leadsAfter, planReady, type ReadyStep } from "../../../server/raft/ready-plan.js";
import { config, enc } from "../helpers.js";
import { Network, type NetworkOptions } from "./network.js";
import { mulberry32 as mulberry } from "../../support/prng.js";

const te = new TextEncoder();
const td = new TextDecoder();

/** The identity of an entry in the global history. */
export function entryKey(e: Entry): string {
  return `${e.term}/${e.type}/${td.decode(e.data)}`;
}

export interface MemberOptions {
  /** Create a snapshot (and compact) every this many applied entries (0: never). */
  readonly snapshotEvery?: number;
  /** Entries kept in the log below the snapshot point when compacting. */
  readonly keepEntries?: number;
}

export class Member {
  readonly id: NodeId;
  readonly storage = new MemoryStorage();
  node: RawNode | undefined;
  /** State machine: keys of applied entries, index i at position i - 1. Volatile. */
  applied: string[] = [];
  confState: ConfState = { voters: [], learners: [] };
  readStates: ReadState[] = [];
  /** Number of Readies processed (for tests). */
  readies = 0;
  /** The driver's view of its role (what the plan's early send depends on). */
  leader = false;
  /** Armed: the next Ready is cut short after this many steps of its plan, then the member crashes. */
  crashAfterSteps: number | undefined;
  /** A snapshot from the leader written by a Ready's persistSnapshot step, not yet covered by a durable commit index. */
  snapshotPending: Snapshot | undefined;

  constructor(id: NodeId) {
    this.id = id;
  }

  get alive(): boolean {
    return this.node !== undefined;
  }

  get appliedIndex(): number {
    return this.applied.length;
  }
}

export interface ClusterOptions {
  readonly ids: readonly NodeId[];
  /** Members bootstrapped as voters (default: all ids). Others start empty (to be added). */
  readonly voters?: readonly NodeId[];
  readonly seed?: number;
  readonly config?: Partial<Config>;
  readonly member?: MemberOptions;
  readonly network?: NetworkOptions;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  readonly net: Network;
  private readonly cfgOver: Partial<Config>;
  private readonly memberOpts: MemberOptions;
  /** Global history: the key of the entry committed at each index (index i at i - 1). */
  readonly history: string[] = [];
  /** For each history index: the highest term seen anywhere when it was first applied. */
  private readonly historyTerm: number[] = [];
  /** Highest term seen anywhere. */
  maxTerm = 0;
  /** term -> the leader seen in it. */
  readonly leaders = new Map<number, NodeId>();
  /** Highest commit index ever observed anywhere. */
  maxCommitted = 0;
  private readonly seed: number;
  private restarts = 0;
  /** Whether a leader's committed entries count as its own clients' (ready-plan.ts rule 2): both orders get run. */
  private readonly planRand: () => number;
  /** Optional observer of every Ready (tests). */
  onReady: ((m: Member, rd: Ready) => void) | undefined;

  constructor(opts: ClusterOptions) {
    this.seed = opts.seed ?? 1;
    this.planRand = mulberry(this.seed * 7919 + 1);
    this.cfgOver = opts.config ?? {};
    this.memberOpts = opts.member ?? {};
    this.net = new Network(opts.network ?? {}, this.seed);
    // The transport reports every snapshot it could not deliver.
    // A lost MsgApp is reported unreachable (as etcd's transport does on a send failure).
    this.net.onDrop = (msg) => {
      const sender = this.members.get(msg.from)?.node;
      if (msg.type === MessageType.Snap) sender?.reportSnapshot(msg.to, false);
      else if (msg.type === MessageType.App) sender?.reportUnreachable(msg.to);
    };
    const voters = opts.voters ?? opts.ids;
    for (const id of opts.ids) {
      const m = new Member(id);
      this.members.set(id, m);
      m.node = this.newNode(m, 0);
      if (voters.includes(id)) {
        m.node.bootstrap(voters.map((v) => ({ id: v, context: enc(`member-${v}`) })));
      }
    }
  }

  private newNode(m: Member, applied: number): RawNode {
    // Each incarnation gets its own deterministic randomness.
    const rand = mulberry(this.seed * 1000 + Number(m.id) * 37 + this.restarts++);
    return new RawNode(
      config(m.id, m.storage, {
        applied,
        randInt: (n) => Math.floor(rand() * n),
        ...this.cfgOver,
      }),
    );
  }

  member(id: NodeId): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: NodeId): RawNode {
    const n = this.member(id).node;
    if (n === undefined) throw new Error(`member ${id} is down`);
    return n;
  }

  alive(): Member[] {
    return [...this.members.values()].filter((m) => m.alive);
  }

  // ------------------------------------------------------------------ driver

  /** Process one Ready of member m, if it has one. Returns whether it did. */
  processReady(m: Member): boolean {
    const node = m.node;
    if (node === undefined || !node.hasReady()) return false;
    const rd = node.ready();
    m.readies++;
    this.onReady?.(m, rd);
    m.leader = leadsAfter(rd, m.leader);
    const plan = planReady(rd, m.leader, { committedHere: this.planRand() < 0.5 });
    const cut = m.crashAfterSteps;
    for (const [i, step] of plan.entries()) {
      if (cut !== undefined && i >= cut) {
        m.crashAfterSteps = undefined;
        this.crash(m.id);
        return true;
      }
      this.execute(m, rd, step);
    }
    this.maybeSnapshot(m);
    const st = node.status();
    if (st.hardState.commit > this.maxCommitted) this.maxCommitted = st.hardState.commit;
    if (st.hardState.term > this.maxTerm) this.maxTerm = st.hardState.term;
    return true;
  }

  /** The simulation's execution of one plan step. MemoryStorage is both raft's log and the durable store. */
  private execute(m: Member, rd: Ready, step: ReadyStep): void {
    switch (step.kind) {
      case "softState":
        return;
      case "send":
        for (const msg of step.messages) {
          checkPersisted(m, msg, step.beforePersist);
          this.net.send(msg);
        }
        return;
      case "persistSnapshot":
        // As the real driver's: its WAL marker counts only once a hard state whose commit index covers it
        // is durable too (Wal.validSnapshotEntries; the backend is swapped after both). A crash before the
        // persist step loses it, and the member restarts from what it had.
        m.snapshotPending = step.snapshot;
        return;
      case "persist":
        if (m.snapshotPending !== undefined) m.storage.applySnapshot(m.snapshotPending);
        m.snapshotPending = undefined;
        m.storage.append(step.entries);
        if (step.hardState !== undefined) m.storage.setHardState(step.hardState);
        return;
      case "installSnapshot":
        if (m.snapshotPending !== undefined) throw new Error(`member ${m.id}: a snapshot installed without a persist step after it`);
        return this.installSnapshot(m, step.snapshot.data, step.snapshot.metadata.index, step.snapshot.metadata.confState);
      case "appendToLog":
        return; // persisting already wrote raft's log
      case "apply":
        for (const e of step.entries) this.apply(m, e);
        return;
      case "readStates":
        for (const rs of step.readStates) m.readStates.push(rs);
        return;
      case "advance":
        return m.node!.advance(rd);
    }
  }

  private apply(m: Member, e: Entry): void {
    if (e.index !== m.applied.length + 1) {
      throw new Error(`member ${m.id} applies index ${e.index} after ${m.applied.length}`);
    }
    // Durability: what a member applies (and may acknowledge) is in its durable storage already
    if (e.index > m.storage.lastIndex() || m.storage.term(e.index) !== e.term) {
      throw new Error(`Durability: member ${m.id} applies index ${e.index} (term ${e.term}) before persisting it (persisted last index ${m.storage.lastIndex()})`);
    }
    const key = entryKey(e);
    const t = m.node!.raft.term;
    if (t > this.maxTerm) this.maxTerm = t;
    this.record(e.index, key, m.id);
    m.applied.push(key);
    if (e.type === EntryType.ConfChange) {
      m.confState = m.node!.applyConfChange(decodeConfChange(e.data));
    }
  }

  private record(index: number, key: string, by: NodeId): void {
    const prev = this.history[index - 1];
    if (prev === undefined) {
      this.history[index - 1] = key;
      this.historyTerm[index - 1] = this.maxTerm;
    } else if (prev !== key) {
      throw new Error(`State Machine Safety: member ${by} applied ${key} at ${index}, history has ${prev}`);
    }
  }

  private installSnapshot(m: Member, data: Uint8Array, index: number, cs: ConfState): void {
    const keys = JSON.parse(td.decode(data)) as string[];
    if (keys.length !== index) throw new Error(`snapshot data has ${keys.length} entries, index ${index}`);
    for (let i = 0; i < keys.length; i++) this.record(i + 1, keys[i]!, m.id);
    m.applied = keys;
    m.confState = cs;
  }

  private maybeSnapshot(m: Member): void {
    const every = this.memberOpts.snapshotEvery ?? 0;
    if (every <= 0) return;
    const snapIndex = m.storage.snapshot().metadata.index;
    const a = m.appliedIndex;
    if (a - snapIndex < every) return;
    m.storage.createSnapshot(a, m.confState, te.encode(JSON.stringify(m.applied)));
    const compactTo = a - (this.memberOpts.keepEntries ?? 0);
    if (compactTo > m.storage.firstIndex() - 1) m.storage.compact(compactTo);
  }

  /** Process Readies everywhere and deliver due messages until nothing moves (bounded). */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const m of this.members.values()) while (this.processReady(m)) moved = true;
      if (this.deliverDue()) moved = true;
      if (!moved) {
        this.checkInvariants();
        return;
      }
    }
    throw new Error("stabilize: no fixpoint (livelock?)");
  }

  /** Deliver the network's due messages (all of them, in network order). */
  deliverDue(): boolean {
    let any = false;
    for (;;) {
      const d = this.net.next();
      if (d === undefined) return any;
      any = true;
      this.deliver(d);
    }
  }

  deliver(msg: Message): void {
    const to = this.members.get(msg.to);
    const from = this.members.get(msg.from);
    const node = to?.node;
    if (node === undefined) {
      if (msg.type === MessageType.Snap) from?.node?.reportSnapshot(msg.to, false);
      return;
    }
    node.step(msg);
    if (msg.type === MessageType.Snap) from?.node?.reportSnapshot(msg.to, true);
  }

  // ------------------------------------------------------------------ scripted helpers

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const m of this.alive()) m.node!.tick();
  }

  /** Tick everyone one tick at a time, stabilizing in between, until pred() or n ticks. */
  runUntil(pred: () => boolean, maxTicks = 1000): boolean {
    this.stabilize();
    for (let i = 0; i < maxTicks; i++) {
      if (pred()) return true;
      this.tickAll();
      this.stabilize();
    }
    return pred();
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  /** Elect `id` (campaign + stabilize); asserts it became leader. */
  elect(id: NodeId): void {
    this.campaign(id);
    const st = this.node(id).status();
    if (st.softState.raftState !== StateType.Leader) throw new Error(`${id} did not become leader`);
  }

  propose(id: NodeId, data: string): void {
    this.node(id).propose(enc(data));
  }

  /** The leaders among live members (by their own view). */
  leaderIds(): NodeId[] {
    return this.alive()
      .filter((m) => m.node!.status().softState.raftState === StateType.Leader)
      .map((m) => m.id);
  }

  /** The single live leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: NodeId | undefined;
    let bestTerm = -1;
    for (const id of this.leaderIds()) {
      const t = this.node(id).status().hardState.term;
      if (t > bestTerm) {
        bestTerm = t;
        best = id;
      }
    }
    return best;
  }

  state(id: NodeId): StateType {
    return this.node(id).status().softState.raftState;
  }

  term(id: NodeId): number {
    return this.node(id).status().hardState.term;
  }

  /** Applied data strings of normal non-empty entries (the "user" state). */
  userData(id: NodeId): string[] {
    return this.member(id)
      .applied.map((k) => k.split("/"))
      .filter((p) => p[1] === String(EntryType.Normal) && p.slice(2).join("/") !== "")
      .map((p) => p.slice(2).join("/"));
  }

  crash(id: NodeId): void {
    const m = this.member(id);
    m.node = undefined;
    m.snapshotPending = undefined;
    m.applied = [];
    m.confState = { voters: [], learners: [] };
    m.readStates = [];
    m.leader = false;
  }

  restart(id: NodeId): void {
    const m = this.member(id);
    if (m.node !== undefined) throw new Error(`${id} is running`);
    const snap = m.storage.snapshot();
    if (snap.metadata.index > 0) {
      m.applied = JSON.parse(td.decode(snap.data)) as string[];
      m.confState = snap.metadata.confState;
    } else {
      m.applied = [];
      m.confState = { voters: [], learners: [] };
    }
    m.node = this.newNode(m, snap.metadata.index);
  }

  isolate(id: NodeId): void {
    this.net.isolate(id, [...this.members.keys()]);
  }

  heal(): void {
    this.net.heal();
  }

  // ------------------------------------------------------------------ invariants

  checkInvariants(): void {
    const alive = this.alive();
    // Election Safety: at most one leader per term (over all time).
    for (const m of alive) {
      const st = m.node!.status();
      if (st.softState.raftState === StateType.Leader) {
        const t = st.hardState.term;
        const prev = this.leaders.get(t);
        if (prev === undefined) this.leaders.set(t, m.id);
        else if (prev !== m.id) throw new Error(`Election Safety: ${prev} and ${m.id} both leaders in term ${t}`);
      }
      if (st.hardState.commit > this.maxCommitted) this.maxCommitted = st.hardState.commit;
      if (st.hardState.term > this.maxTerm) this.maxTerm = st.hardState.term;
    }
    // Logs (in-memory view: storage + unstable) of live members.
    const logs = alive.map((m) => ({ id: m.id, log: m.node!.raft.raftLog }));
    const ents = logs.map((l) => ({ id: l.id, first: l.log.firstIndex(), ents: l.log.allEntries(), committed: l.log.committed }));
    // Log Matching: if two logs have an entry with the same index and term, they are identical up
    // to it (over the range both still hold).
    for (let a = 0; a < ents.length; a++) {
      for (let b = a + 1; b < ents.length; b++) {
        const A = ents[a]!;
        const B = ents[b]!;
        const lo = Math.max(A.first, B.first);
        const hi = Math.min(A.first + A.ents.length, B.first + B.ents.length) - 1;
        let matched = false; // seen an (index, term) match at or above i
        for (let i = hi; i >= lo; i--) {
          const ea = A.ents[i - A.first]!;
          const eb = B.ents[i - B.first]!;
          if (ea.term === eb.term) matched = true;
          if (matched && (ea.term !== eb.term || ea.type !== eb.type || !bytesEqual(ea.data, eb.data))) {
            throw new Error(`Log Matching: ${A.id} and ${B.id} differ at ${i} below a matching entry`);
          }
        }
      }
    }
    // Committed entries are never changed: every member's committed prefix agrees with history,
    // and every leader holds every entry of the history it still has in its log range
    // (Leader Completeness).
    for (const l of ents) {
      const upto = Math.min(l.committed, l.first + l.ents.length - 1);
      for (let i = l.first; i <= upto; i++) {
        const h = this.history[i - 1];
        if (h !== undefined && h !== entryKey(l.ents[i - l.first]!)) {
          throw new Error(`State Machine Safety: member ${l.id} has ${entryKey(l.ents[i - l.first]!)} committed at ${i}, history ${h}`);
        }
      }
    }
    // An entry was committed in a term <= historyTerm (the highest term in existence when it
    // was first applied); every leader of a later term must hold it.
    for (const id of this.leaderIds()) {
      const l = ents.find((x) => x.id === id)!;
      const lterm = this.term(id);
      const last = l.first + l.ents.length - 1;
      for (let i = l.first; i <= this.history.length; i++) {
        const h = this.history[i - 1];
        if (h === undefined || lterm <= this.historyTerm[i - 1]!) continue;
        if (i > last) throw new Error(`Leader Completeness: leader ${id} lacks committed index ${i}`);
        if (h !== entryKey(l.ents[i - l.first]!)) {
          throw new Error(`Leader Completeness: leader ${id} has ${entryKey(l.ents[i - l.first]!)} at ${i}, history ${h}`);
        }
      }
    }
    // Every member's state machine is a prefix of the history: enforced as entries are applied
    // (record) and snapshots installed.
  }
}

/**
 * The Ready ordering contract: what a message vouches for is already persisted. A leader's early
 * send (`beforePersist`) may carry entries it has not persisted yet, never a term or vote.
 */
function checkPersisted(m: Member, msg: Message, beforePersist: boolean): void {
  const hs = m.storage.hardState();
  const fail = (why: string) => {
    throw new Error(`Persistence order: member ${m.id} sends ${MessageType[msg.type]} to ${msg.to} (term ${msg.term}, index ${msg.index}) but ${why}`);
  };
  if (msg.type !== MessageType.PreVote && msg.type !== MessageType.PreVoteResp && msg.term > hs.term) {
    fail(`persisted term is ${hs.term}`);
  }
  // A granted vote must be durable: either the vote itself, or a later term (which makes the
  // node ignore that election for good).
  if (msg.type === MessageType.VoteResp && !msg.reject && hs.term === msg.term && hs.vote !== msg.to) {
    fail(`persisted vote is ${hs.vote} in term ${hs.term}`);
  }
  if (msg.type === MessageType.VoteResp && !msg.reject && hs.term < msg.term) {
    fail(`persisted vote is ${hs.vote} in term ${hs.term}`);
  }
  // Log claims: checked unless the node has durably moved to a later term since it generated
  // the message (then a later leader may have truncated its log before this Ready; the
  // message is as good as a delayed one: its claim held in memory when it was generated, and
  // any vote the node cast afterwards accounted for those entries).
  if (hs.term > msg.term) return;
  if (msg.type === MessageType.AppResp && !msg.reject && msg.index > m.storage.lastIndex()) {
    fail(`persisted last index is ${m.storage.lastIndex()}`);
  }
  if (msg.type === MessageType.App && msg.entries.length > 0 && !beforePersist) {
    const last = msg.entries[msg.entries.length - 1]!;
    if (last.index > m.storage.lastIndex()) fail(`persisted last index is ${m.storage.lastIndex()}`);
  }
}

