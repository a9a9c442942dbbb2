/**
 * Request IDs unique across members and restarts, as etcd's idutil: the top 16 bits are the low
 * bits of the member ID, the next 40 bits a millisecond timestamp at start, the low 8+ bits a counter.
 */
export class IdGenerator {
  private next: bigint;
  constructor(memberId: bigint, nowMs: number) {
    const prefix = (memberId & 0xffffn) << 48n;
    const suffix = (BigInt(nowMs) & 0xffffffffffn) << 8n;
    this.next = prefix | suffix;
  }
  nextId(): bigint {
    this.next = (this.next + 1n) & 0xffffffffffffffffn;
    return this.next;
  }
}
