/**
 * One "connection" of --conns as etcd's clients make it: clientv3 (3.4) gives a client one HTTP/2 connection
 * per endpoint and sends each request to the next one, round-robin (skipping endpoints it cannot reach);
 * the etcd3 npm client pools over every host too. With one endpoint (--target-leader) it is one connection.
 */
import { GrpcH2Channel, type ChannelOptions } from "./channel.js";

export class BalancedConnection {
  readonly channels: GrpcH2Channel[];
  private next: number;

  /** `start`: where the rotation begins, so that connections opened together do not all begin with the same member. */
  constructor(endpoints: string[], opts: ChannelOptions, start = 0) {
    if (!endpoints.length) throw new Error("no endpoints");
    this.channels = endpoints.map((e) => new GrpcH2Channel(e, opts));
    this.next = start % endpoints.length;
  }

  /** The next reachable endpoint's channel (every channel in turn when none is). */
  pick(): GrpcH2Channel {
    const n = this.channels.length;
    for (let i = 0; i < n; i++) {
      const ch = this.channels[this.next]!;
      this.next = this.next + 1 === n ? 0 : this.next + 1;
      if (ch.healthy) return ch;
    }
    const ch = this.channels[this.next]!;
    this.next = this.next + 1 === n ? 0 : this.next + 1;
    return ch;
  }

  unary(path: string, framed: Buffer): Promise<Buffer> {
    return this.pick().unary(path, framed);
  }

  /** Connects to every endpoint now; rejects naming the first that does not answer. */
  async ready(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.ready().catch((e: Error) => Promise.reject(new Error(`${c.endpoint}: ${e.message}`)))));
  }

  close(): void {
    for (const c of this.channels) c.close();
  }
}
