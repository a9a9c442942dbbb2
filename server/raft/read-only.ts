/**
 * ReadOnly: the leader's queue of pending ReadIndex requests (etcd's readOnly with
 * ReadOnlySafe). Each request records the commit index at arrival; it is released once a
 * quorum of voters acknowledged a heartbeat carrying its context (or a later one's: the queue
 * is FIFO, so acknowledging a later request confirms every earlier one).
 */
import type { Message, NodeId } from "./types.js";
import { bytesKey } from "./util.js";

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Map<NodeId, boolean>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queue a request (ctx in req.context) at read index `index`. Duplicate contexts are ignored. */
  addRequest(index: number, req: Message): void {
    const key = bytesKey(req.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Record `id`'s acknowledgement of the heartbeat with `context`; returns the acks so far. */
  recvAck(id: NodeId, context: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(bytesKey(context));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /** Release the request with `context` and every request queued before it. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = bytesKey(context);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const released = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of released) {
      const rs = this.pending.get(k);
      if (rs === undefined) throw new Error("read-only: queued context without a pending entry");
      this.pending.delete(k);
      out.push(rs);
    }
    return out;
  }

  /** The context of the newest pending request (heartbeats carry it), or undefined. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.req.context;
  }

  pendingCount(): number {
    return this.queue.length;
  }
}
