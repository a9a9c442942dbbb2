/**
 * A simulated network: messages in flight with per-message delivery times. Faults (all
 * driven by a seeded PRNG): drop, delay, reorder, duplicate, and partitions (cut links).
 * With default options it is a reliable FIFO network delivering everything immediately.
 */
import type { Message, MessageType, NodeId } from "../../../server/raft/types.js";
import { mulberry32 } from "../../support/prng.js";

export interface NetworkOptions {
  /** Probability that a message is dropped. */
  readonly dropRate?: number;
  /** Probability that a message is delivered twice. */
  readonly dupRate?: number;
  /** Max extra delay (in network time units); delivery time is uniform in [0, maxDelay]. */
  readonly maxDelay?: number;
  /** Deliver due messages in random order (otherwise FIFO). */
  readonly reorder?: boolean;
}

interface InFlight {
  readonly msg: Message;
  readonly at: number;
  readonly seq: number;
}

export class Network {
  private inflight: InFlight[] = [];
  private seq = 0;
  /** Current network time (advanced by the caller). */
  now = 0;
  /** Cut links "from->to". */
  private readonly cut = new Set<string>();
  /** Per message type drop filter (scripted tests). */
  readonly dropTypes = new Set<MessageType>();
  /** Custom filter: return false to drop (scripted tests). */
  filter: ((m: Message) => boolean) | undefined;
  /** Called for every dropped message (the cluster reports failed snapshots). */
  onDrop: ((m: Message) => void) | undefined;
  private readonly rand: () => number;
  readonly opts: { -readonly [K in keyof NetworkOptions]-?: NonNullable<NetworkOptions[K]> };
  delivered = 0;
  dropped = 0;

  constructor(opts: NetworkOptions, seed: number) {
    this.opts = { dropRate: 0, dupRate: 0, maxDelay: 0, reorder: false, ...opts };
    this.rand = mulberry32((seed * 2654435761) >>> 0);
  }

  private key(from: NodeId, to: NodeId): string {
    return `${from}->${to}`;
  }

  /** Cut both directions between a and b. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(this.key(a, b));
    this.cut.add(this.key(b, a));
  }

  /** Cut every link of `id` to `all`. */
  isolate(id: NodeId, all: readonly NodeId[]): void {
    for (const o of all) if (o !== id) this.cutLink(id, o);
  }

  /** Split into groups: links across groups are cut. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++) for (const a of groups[i]!) for (const b of groups[j]!) this.cutLink(a, b);
  }

  heal(): void {
    this.cut.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(this.key(from, to));
  }

  send(msg: Message): void {
    const o = this.opts;
    if (o.dropRate > 0 && this.rand() < o.dropRate) {
      this.dropped++;
      this.onDrop?.(msg);
      return;
    }
    const copies = o.dupRate > 0 && this.rand() < o.dupRate ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = o.maxDelay > 0 ? Math.floor(this.rand() * (o.maxDelay + 1)) : 0;
      this.inflight.push({ msg, at: this.now + delay, seq: this.seq++ });
    }
  }

  /** The next deliverable message (due, link not cut, not filtered), or undefined. */
  next(): Message | undefined {
    for (;;) {
      let pick = -1;
      if (this.opts.reorder) {
        const due: number[] = [];
        for (let i = 0; i < this.inflight.length; i++) if (this.inflight[i]!.at <= this.now) due.push(i);
        if (due.length > 0) pick = due[Math.floor(this.rand() * due.length)]!;
      } else {
        for (let i = 0; i < this.inflight.length; i++) {
          if (this.inflight[i]!.at <= this.now) {
            pick = i;
            break;
          }
        }
      }
      if (pick < 0) return undefined;
      const [f] = this.inflight.splice(pick, 1);
      const m = f!.msg;
      if (this.isCut(m.from, m.to) || this.dropTypes.has(m.type) || (this.filter !== undefined && !this.filter(m))) {
        this.dropped++;
        this.onDrop?.(m);
        continue;
      }
      this.delivered++;
      return m;
    }
  }

  /** Drop everything in flight (reporting each drop, like a transport would). */
  clear(): void {
    const lost = this.inflight;
    this.inflight = [];
    for (const f of lost) {
      this.dropped++;
      this.onDrop?.(f.msg);
    }
  }

  pending(): number {
    return this.inflight.length;
  }

  /** Messages in flight (read-only view, for tests). */
  peek(): readonly Message[] {
    return this.inflight.map((f) => f.msg);
  }
}
