import type { Entry, HardState, Message, ReadState, Ready, Snapshot, SoftState } from "../raft/types.js";
import { leadsAfter, planReady, type ReadyStep } from "../raft/ready-plan.js";
import type { Logger } from "../log/logger.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";
import { trace, TRACING } from "../util/latency-trace.js";

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
  /** Resolves once the save is durable (fdatasynced) when mustSync, written otherwise. */
  save(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void>;
  saveSnapshot(s: Snapshot): Promise<void>;
}

export interface RaftLoopHooks {
  /** Applies a snapshot received from the leader to the state machine (before the entries after it). */
  applySnapshot(s: Snapshot): Promise<void>;
  /** Applies committed entries, in order, synchronously. */
  apply(entries: readonly Entry[]): void;
  send(messages: readonly Message[]): void;
  /** Whether every one of `entries` was proposed on this member and its client still waits (ready-plan.ts rule 2). */
  proposedHere(entries: readonly Entry[]): boolean;
  onSoftState(ss: SoftState): void;
  onReadStates(rs: readonly ReadState[]): void;
  /** After each Ready is fully handled (snapshot triggers, read releases). */
  afterAdvance(): void;
  onFatal(err: Error): void;
}

/**
 * The one loop that drives the raft core: it takes each Ready and executes its plan, whose order
 * (persist, send, apply, advance; the leader's early send) is raft/ready-plan.ts's, the same plan
 * the raft simulation executes. A snapshot from the leader is persisted before the hard state and
 * entries that follow it, and its database is swapped into the backend only after both
 * (snapshot-install.ts says how start-up recovers from a crash in between).
 * Proposals that arrive while the WAL is fsyncing pile up in the raft log and go out in the next
 * Ready together: that is the group commit.
 */
export class RaftLoop {
  private running = false;
  private scheduled = false;
  private stopped = false;
  private stopTicker: (() => void) | undefined;
  /** The turn being handled, if any (stop waits for it). */
  private current: Promise<void> | undefined;
  private isLeader = false;

  constructor(
    private readonly node: DrivenNode,
    private readonly log: LogStorage,
    private readonly stable: StableStorage,
    private readonly hooks: RaftLoopHooks,
    private readonly logger: Logger,
    private readonly observeFsync: (seconds: number) => void,
    /** What ticks raft (a test drives it by hand). */
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  start(tickMs: number): void {
    this.stopTicker = this.clock.every(tickMs, () => {
      this.node.tick();
      this.kick();
    });
    this.kick();
  }

  /** Something may have produced a Ready (a proposal, a message, a tick): handle it soon, batched. */
  kick(): void {
    if (this.scheduled || this.running || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.current = this.run();
    });
  }

  /** Stops ticking and waits for the Ready being handled to finish persisting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTicker?.();
    while (this.running) await this.current;
  }

  private async run(): Promise<void> {
    this.scheduled = false;
    if (TRACING) trace("run");
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

  /** Executes the Ready's plan (raft/ready-plan.ts), the same one the raft simulation executes. */
  private async handle(rd: Ready): Promise<void> {
    this.isLeader = leadsAfter(rd, this.isLeader);
    if (TRACING) trace("ready", rd.entries.at(-1)?.index ?? 0, rd.committedEntries.at(-1)?.index ?? 0);
    const committedHere = this.isLeader && rd.entries.length === 0 && rd.committedEntries.length > 0 && this.hooks.proposedHere(rd.committedEntries);
    for (const step of planReady(rd, this.isLeader, { committedHere })) {
      // Only a step with I/O to wait for is awaited: the others run back to back, without a microtask each.
      const pending = this.execute(step, rd);
      if (pending !== undefined) await pending;
    }
  }

  private execute(step: ReadyStep, rd: Ready): Promise<void> | undefined {
    switch (step.kind) {
      case "softState":
        this.hooks.onSoftState(step.softState);
        return;
      case "send":
        // The answers the apply resolved are written by a chain of promise continuations ending in a microtask
        // (grpcwire's FrameWriter): a tick runs after all of them, so their socket write goes before these.
        if (step.afterAnswers) return new Promise<void>((resolve) => process.nextTick(resolve)).then(() => this.hooks.send(step.messages));
        this.hooks.send(step.messages);
        return;
      case "persistSnapshot":
        return this.stable.saveSnapshot(step.snapshot);
      case "persist":
        return this.persist(step.hardState, step.entries, step.mustSync);
      case "installSnapshot":
        this.log.applySnapshot(step.snapshot);
        return this.hooks.applySnapshot(step.snapshot);
      case "appendToLog":
        if (step.hardState) this.log.setHardState(step.hardState);
        if (step.entries.length > 0) this.log.append(step.entries);
        return;
      case "apply":
        if (TRACING) trace("applyStart", step.entries[0]!.index, step.entries.at(-1)!.index);
        this.hooks.apply(step.entries);
        if (TRACING) trace("applied", step.entries.at(-1)!.index);
        return;
      case "readStates":
        this.hooks.onReadStates(step.readStates);
        return;
      case "advance":
        this.node.advance(rd);
        this.hooks.afterAdvance();
        return;
    }
  }

  private async persist(hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean): Promise<void> {
    const t0 = performance.now();
    await this.stable.save(hs, entries, mustSync);
    if (mustSync) this.observeFsync((performance.now() - t0) / 1000);
    if (TRACING) trace("persisted", entries.at(-1)?.index ?? 0, mustSync ? 1 : 0);
  }
}
