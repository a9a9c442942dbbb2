/**
 * The peer network of an in-process cluster: raft messages between members, delivered in memory on
 * a later turn of the event loop (never inside the sender's call), with the faults a test asks for:
 * links cut one way or both, messages dropped by a predicate, links that hold messages for a number
 * of ticks. A message in flight when its link is cut is lost, as a packet would be. Each link keeps
 * the order of what it delivers, as the real transport's stream does (test/etcdserver/inproc-network.test.ts).
 */
import { copyFile, rm } from "node:fs/promises";
import type { PeerTransport } from "../../../server/embed/compose.js";
import type { Member } from "../../../server/membership/cluster.js";
import { MessageType, type Message } from "../../../server/raft/types.js";
import { snapDbPath } from "../../../server/snap/db-file.js";
import type { TransportHooks } from "../../../server/transport/transport.js";
import type { Clock } from "../../../server/util/clock.js";

/** What a member exposes to the network: its server's peer receiver (etcdserver/peer-receiver.ts). */
export interface NetworkReceiver {
  isMember(id: bigint): boolean;
  receive(m: Message): void;
  receiveSnapshot(m: Message): Promise<void>;
  snapshotDir(): string;
}

interface Endpoint {
  receiver: NetworkReceiver | undefined;
  /** Paused: messages to it wait here (as in a stopped process's socket) until release(). */
  waiting: Message[] | undefined;
  hooks: TransportHooks | undefined;
  peers: Set<bigint>;
  closed: boolean;
}

interface Held {
  readonly m: Message;
  readonly due: number;
}

const key = (from: bigint, to: bigint) => `${from}>${to}`;

export class FakeNetwork {
  private readonly endpoints = new Map<bigint, Endpoint>();
  private readonly cuts = new Set<string>();
  private readonly delays = new Map<string, number>();
  /** When each link last came up (clock ms): the sender's activeSince. */
  private readonly upSince = new Map<string, number>();
  private drops: Array<(m: Message) => boolean> = [];
  private queue: Message[] = [];
  private held: Held[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private flushScheduled = false;
  private ticks = 0;
  /** Counts, for tests that check a fault did something. */
  readonly stats = { delivered: 0, dropped: 0, snapshots: 0 };

  constructor(private readonly clock: Clock) {}

  /** The transport factory for member `id` (ServerEnvironment.transport). */
  transportFor(id: bigint): (hooks: TransportHooks) => PeerTransport {
    return (hooks) => {
      const ep = this.endpoint(id);
      ep.hooks = hooks;
      ep.closed = false;
      return {
        send: (messages) => this.send(id, messages),
        setPeers: (members: readonly Member[]) => {
          ep.peers = new Set(members.filter((m) => m.id !== id).map((m) => m.id));
          for (const p of ep.peers) if (!this.upSince.has(key(id, p))) this.upSince.set(key(id, p), this.clock.now());
        },
        activeSince: (peer) => (ep.closed || this.cuts.has(key(id, peer)) ? 0 : (this.upSince.get(key(id, peer)) ?? 0)),
        close: () => {
          ep.closed = true;
        },
      };
    };
  }

  /** Where messages for `id` go (the server's peer receiver), once the server exists. */
  attach(id: bigint, receiver: NetworkReceiver): void {
    this.endpoint(id).receiver = receiver;
  }

  /** The member is gone (stopped or crashed): messages to it are lost until it attaches again. */
  detach(id: bigint): void {
    const ep = this.endpoint(id);
    ep.receiver = undefined;
    ep.closed = true;
  }

  // ---- faults ----------------------------------------------------------------------------

  /** Messages to `id` wait (not lost) until release(id). */
  hold(id: bigint): void {
    this.endpoint(id).waiting ??= [];
  }

  /** What waited for `id` is delivered now, in order. */
  release(id: bigint): void {
    const ep = this.endpoint(id);
    const waiting = ep.waiting ?? [];
    ep.waiting = undefined;
    this.queue.push(...waiting);
    this.scheduleFlush();
  }

  /** Messages from `from` to `to` are lost (the other direction still works). */
  cutOneWay(from: bigint, to: bigint): void {
    this.cuts.add(key(from, to));
  }

  cut(a: bigint, b: bigint): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  /** `id` can neither send to nor hear from anyone. */
  isolate(id: bigint): void {
    for (const other of this.endpoints.keys()) if (other !== id) this.cut(id, other);
  }

  /** Members in different groups cannot reach one another; members in no group are cut from all. */
  partition(...groups: ReadonlyArray<readonly bigint[]>): void {
    const groupOf = new Map<bigint, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.endpoints.keys())
      for (const b of this.endpoints.keys()) if (a !== b && (groupOf.get(a) === undefined || groupOf.get(a) !== groupOf.get(b))) this.cutOneWay(a, b);
  }

  isCut(from: bigint, to: bigint): boolean {
    return this.cuts.has(key(from, to));
  }

  /** Messages from `from` to `to` arrive `ticks` ticks after they were sent (0: at once). */
  delay(from: bigint, to: bigint, ticks: number): void {
    if (ticks > 0) this.delays.set(key(from, to), ticks);
    else this.delays.delete(key(from, to));
  }

  /** Every message for which `pred` is true is lost, until heal(). */
  dropWhere(pred: (m: Message) => boolean): void {
    this.drops.push(pred);
  }

  /** Every link works again, undelayed, with no drop rule. */
  heal(): void {
    const now = this.clock.now();
    for (const k of this.cuts) this.upSince.set(k, now);
    this.cuts.clear();
    this.delays.clear();
    this.drops = [];
  }

  // ---- time and quiescence ---------------------------------------------------------------

  /** One raft tick passed: delayed messages that are due go out. */
  onTick(): void {
    this.ticks++;
    const due = this.held.filter((h) => h.due <= this.ticks);
    if (due.length === 0) return;
    this.held = this.held.filter((h) => h.due > this.ticks);
    this.queue.push(...due.map((h) => h.m));
    this.scheduleFlush();
  }

  /** Messages queued for delivery now, or snapshots being copied (held messages wait for ticks, so do not count). */
  busy(): boolean {
    return this.queue.length > 0 || this.inFlight.size > 0;
  }

  /** Resolves when the snapshot copies under way have finished. */
  async drainInFlight(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  // ---- delivery --------------------------------------------------------------------------

  private endpoint(id: bigint): Endpoint {
    let ep = this.endpoints.get(id);
    if (!ep) {
      ep = { receiver: undefined, waiting: undefined, hooks: undefined, peers: new Set(), closed: false };
      this.endpoints.set(id, ep);
    }
    return ep;
  }

  private send(from: bigint, messages: readonly Message[]): void {
    const ep = this.endpoint(from);
    if (ep.closed) return;
    for (const m of messages) {
      if (!ep.peers.has(m.to)) continue; // as the real transport: no stream to a non-peer
      if (this.lost(m)) {
        this.stats.dropped++;
        ep.hooks?.reportUnreachable(m.to);
        if (m.type === MessageType.Snap) ep.hooks?.reportSnapshot(m.to, false);
        continue;
      }
      // a link is a stream: a message never overtakes one held before it (even once the delay is lifted)
      const d = this.delays.get(key(from, m.to)) ?? 0;
      const behind = this.held.reduce((due, h) => (h.m.from === from && h.m.to === m.to ? Math.max(due, h.due) : due), 0);
      if (d > 0 || behind > 0) this.held.push({ m, due: Math.max(this.ticks + d, behind) });
      else this.queue.push(m);
    }
    this.scheduleFlush();
  }

  private lost(m: Message): boolean {
    return this.cuts.has(key(m.from, m.to)) || this.drops.some((p) => p(m));
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.queue.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) this.deliver(m);
    });
  }

  private deliver(m: Message): void {
    const to = this.endpoints.get(m.to);
    if (to?.waiting) return void to.waiting.push(m);
    if (!to?.receiver || this.lost(m) || !to.receiver.isMember(m.from)) {
      this.stats.dropped++;
      return;
    }
    if (m.type === MessageType.Snap) return this.track(this.deliverSnapshot(m, to.receiver));
    this.stats.delivered++;
    to.receiver.receive(m);
  }

  /** As the real transport: a copy of the sender's backend lands where the receiver expects it, then the message. */
  private async deliverSnapshot(m: Message, receiver: NetworkReceiver): Promise<void> {
    const sender = this.endpoint(m.from).hooks;
    if (!sender) return;
    let file: string | undefined;
    try {
      file = await sender.backendCopy();
      await copyFile(file, snapDbPath(receiver.snapshotDir(), m.snapshot!.metadata.index));
      await receiver.receiveSnapshot(m);
      this.stats.snapshots++;
      sender.reportSnapshot(m.to, true);
    } catch {
      sender.reportSnapshot(m.to, false);
    } finally {
      if (file) await rm(file, { force: true });
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
