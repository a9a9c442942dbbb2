import { ErrTimeout, ErrStopped } from "../pb/errors.js";
import { contextError, onAbort, type ContextSignal } from "./request-context.js";
import type { ReadState } from "../raft/types.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";

export interface ReadIndexNode {
  readIndex(ctx: Uint8Array): void;
}

export interface LinearizableReadsDeps {
  readonly node: ReadIndexNode;
  /** Wake the raft loop so the request goes out this turn. */
  readonly kick: () => void;
  readonly appliedIndex: () => number;
  readonly timeoutMs: number;
  /** A round timed out or raft refused it (etcd_server_read_indexes_failed_total). */
  readonly onFailed: () => void;
  /** A round is asked again after READ_INDEX_RETRY_MS without an answer (etcd_server_slow_read_indexes_total). */
  readonly onRetry: () => void;
  /**
   * A round's context, unique across the cluster (etcd: the request ID generator, whose top bits
   * are the member's). The leader keeps one pending request per context: two members asking with
   * the same context would have one of them ignored, its reads stalled until the retry.
   */
  readonly nextCtx: () => bigint;
  /** What times rounds out and retries them (default: the system clock; a test drives a manual one). */
  readonly clock?: Clock;
}

interface Round {
  readonly ctx: bigint;
  readonly waiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  index?: number;
  /** Cancel the round's timeout, and its retry. */
  cancelTimer?: () => void;
  cancelRetry?: () => void;
}

/** etcd's readIndexRetryTime: a ReadIndex request or its answer can be lost (leader change, dropped message). */
const READ_INDEX_RETRY_MS = 500;

/**
 * Linearizable reads by ReadIndex, batched like etcd's linearizableReadLoop: every read that arrives
 * while a round is in flight joins the next round, so one quorum confirmation serves many reads.
 * A round resolves when raft returns its ReadState AND this member has applied up to that index.
 */
export class LinearizableReads {
  private current: Round | undefined;
  private queued: Round["waiters"] = [];
  private readonly ready: Round[] = [];
  private stopped = false;
  private readonly clock: Clock;

  constructor(private readonly d: LinearizableReadsDeps) {
    this.clock = d.clock ?? SYSTEM_CLOCK;
  }

  /**
   * Resolves once a read issued now may be served from the local state machine. If `signal` aborts
   * first, rejects with its error at once (etcd's linearizableReadNotify returns ctx.Err()); the
   * round goes on for the other reads.
   */
  wait(signal?: ContextSignal): Promise<void> {
    if (this.stopped) return Promise.reject(ErrStopped);
    if (signal?.aborted) return Promise.reject(contextError(signal));
    return new Promise((resolve, reject) => {
      const dispose = onAbort(signal, () => reject(contextError(signal!)));
      this.queued.push({
        resolve: () => {
          dispose();
          resolve();
        },
        reject: (e) => {
          dispose();
          reject(e);
        },
      });
      if (!this.current) this.startRound();
    });
  }

  private startRound(): void {
    if (this.queued.length === 0) return;
    const round: Round = { ctx: this.d.nextCtx(), waiters: this.queued };
    this.queued = [];
    this.current = round;
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(round.ctx);
    round.cancelTimer = this.clock.after(this.d.timeoutMs, () => this.failRound(round, ErrTimeout));
    const ask = (): boolean => {
      try {
        this.d.node.readIndex(ctx);
      } catch (e) {
        this.failRound(round, e as Error);
        return false;
      }
      this.d.kick();
      return true;
    };
    if (!ask()) return;
    // Ask again with the same context until raft answers; the first answer wins.
    round.cancelRetry = this.clock.every(READ_INDEX_RETRY_MS, () => {
      if (this.current !== round) return;
      this.d.onRetry();
      ask();
    });
  }

  onReadStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const ctx = rs.requestCtx.length === 8 ? Buffer.from(rs.requestCtx).readBigUInt64BE(0) : -1n;
      const round = this.current;
      if (!round || round.ctx !== ctx) continue;
      round.index = rs.index;
      round.cancelRetry?.();
      this.current = undefined;
      this.ready.push(round);
    }
    this.onApplied();
    if (!this.current) this.startRound();
  }

  /** Called after every apply: releases rounds whose read index is now applied. */
  onApplied(): void {
    if (this.ready.length === 0) return;
    const applied = this.d.appliedIndex();
    while (this.ready.length > 0 && this.ready[0]!.index! <= applied) {
      const round = this.ready.shift()!;
      round.cancelTimer?.();
      for (const w of round.waiters) w.resolve();
    }
  }

  private failRound(round: Round, err: Error): void {
    round.cancelTimer?.();
    round.cancelRetry?.();
    if (this.current === round) this.current = undefined;
    this.d.onFailed();
    for (const w of round.waiters) w.reject(err);
    if (!this.current) this.startRound();
  }

  stop(): void {
    this.stopped = true;
    for (const r of [this.current, ...this.ready]) if (r) this.failRound(r, ErrStopped);
    for (const w of this.queued) w.reject(ErrStopped);
    this.queued = [];
  }
}
