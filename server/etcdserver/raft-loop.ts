import type { Entry, HardState, Message, ReadState, Ready, Snapshot, SoftState } from "../raft/types.js";
import { StateType } from "../raft/types.js";
import type { Logger } from "../log/logger.js";

/** The parts of the raft core the loop drives (RawNode satisfies it). */
export interface DrivenNode {
  tick(): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(rd: Ready): void;
}

/** The raft log as the node reads it (MemoryStorage satisfies it). */
export interface LogStorage {
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  applySnapshot(s: Snapshot): void;
}

/** Durable storage: the WAL and the snapshot files. */
export interface StableStorage {
  /**
   * `background`: the leader has just handed its appends to the transport; the write must not block
   * the event loop, or those appends leave only after it (the followers' fsync would then follow the
   * leader's instead of overlapping it).
   */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, background?: boolean): Promise<void>;
  saveSnapshot(s: Snapshot): Promise<void>;
}

export interface RaftLoopHooks {
  /** Applies a snapshot received from the leader to the state machine (before the entries after it). */
  applySnapshot(s: Snapshot): Promise<void>;
  /** Applies committed entries, in order, synchronously. */
  apply(entries: readonly Entry[]): void;
  send(messages: readonly Message[]): void;
  onSoftState(ss: SoftState): void;
  onReadStates(rs: readonly ReadState[]): void;
  /** After each Ready is fully handled (snapshot triggers, read releases). */
  afterAdvance(): void;
  onFatal(err: Error): void;
}

/**
 * The one loop that drives the raft core. Ordering rules (etcd's, enforced here and nowhere else):
 *  1. a snapshot from the leader is persisted before the hard state and entries that follow it,
 *     and its database is swapped into the backend only after both (snapshot-install.ts says how
 *     start-up recovers from a crash in between);
 *  2. hard state and entries are persisted (fsynced when the Ready says so) before a follower sends
 *     anything that acknowledges them; the leader may send its appends before its own write
 *     (raft thesis 10.2.1), since it counts itself only after persisting;
 *  3. only committed entries are applied, and only after they are durable here;
 *  4. advance() last.
 * Proposals that arrive while the WAL is fsyncing pile up in the raft log and go out in the next
 * Ready together: that is the group commit.
 */
export class RaftLoop {
  private running = false;
  private scheduled = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | undefined;
  private isLeader = false;

  constructor(
    private readonly node: DrivenNode,
    private readonly log: LogStorage,
    private readonly stable: StableStorage,
    private readonly hooks: RaftLoopHooks,
    private readonly logger: Logger,
    private readonly observeFsync: (seconds: number) => void,
  ) {}

  start(tickMs: number): void {
    this.ticker = setInterval(() => {
      this.node.tick();
      this.kick();
    }, tickMs);
    this.kick();
  }

  /** Something may have produced a Ready (a proposal, a message, a tick): handle it soon, batched. */
  kick(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => void this.run());
  }

  /** Stops ticking and waits for the Ready being handled to finish persisting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    while (this.running) await new Promise((r) => setTimeout(r, 1));
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      while (!this.stopped && this.node.hasReady()) await this.handle(this.node.ready());
    } catch (err) {
      this.logger.fatal({ error: String(err) }, "failed to handle raft ready");
      this.hooks.onFatal(err as Error);
      return;
    } finally {
      this.running = false;
    }
    if (!this.stopped && this.node.hasReady()) this.kick();
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.softState) {
      this.isLeader = rd.softState.raftState === StateType.Leader;
      this.hooks.onSoftState(rd.softState);
    }
    const sendEarly = this.isLeader && rd.snapshot === undefined;
    if (sendEarly) this.hooks.send(rd.messages);

    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      await this.stable.saveSnapshot(rd.snapshot);
    }
    if (rd.hardState || rd.entries.length > 0) {
      const t0 = performance.now();
      await this.stable.save(rd.hardState, rd.entries, rd.mustSync, sendEarly && rd.messages.length > 0);
      if (rd.mustSync) this.observeFsync((performance.now() - t0) / 1000);
    }
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      this.log.applySnapshot(rd.snapshot);
      await this.hooks.applySnapshot(rd.snapshot);
    }
    if (rd.hardState) this.log.setHardState(rd.hardState);
    if (rd.entries.length > 0) this.log.append(rd.entries);

    if (!sendEarly) this.hooks.send(rd.messages);
    if (rd.committedEntries.length > 0) this.hooks.apply(rd.committedEntries);
    if (rd.readStates.length > 0) this.hooks.onReadStates(rd.readStates);
    this.node.advance(rd);
    this.hooks.afterAdvance();
  }
}
