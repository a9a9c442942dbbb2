/**
 * What the peer transport delivers to this member (transport's PeerReceiver): raft messages from
 * current members, stepped into raft unless a forwarded proposal carries an entry this member would
 * not propose, and snapshots whose database is already on disk.
 */
import type { Logger } from "../log/logger.js";
import type { Cluster } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { MessageType, type Message } from "../raft/types.js";
import type { RawNode } from "../raft/raw-node.js";
import { PEER_WARNING_INTERVAL_MS, type PeerReceiver } from "../transport/peer-service.js";
import { checkForwardedProposal } from "./proposal-check.js";
import type { RaftStatus } from "./raft-status.js";

export interface ServerPeerReceiverDeps {
  readonly status: RaftStatus;
  membership(): Cluster;
  readonly node: Pick<RawNode, "step">;
  /** Wake the raft loop. */
  kick(): void;
  readonly snapDir: string;
  onMemberRemoved(listener: (id: bigint) => void): void;
  readonly logger: Logger;
}

export class ServerPeerReceiver implements PeerReceiver {
  private readonly warnings: RateLimitedLog;

  constructor(private readonly d: ServerPeerReceiverDeps) {
    this.warnings = new RateLimitedLog(d.logger, PEER_WARNING_INTERVAL_MS);
  }

  localIdentity() {
    const c = this.d.membership();
    return { clusterId: c.clusterId, memberId: this.d.status.memberId, removed: c.removed };
  }

  isMember(id: bigint): boolean {
    const c = this.d.membership();
    return c.members.has(id) && !c.removed.has(id);
  }

  receive(m: Message): void {
    if (this.d.status.stopped) return;
    if (m.type === MessageType.Prop) {
      const why = checkForwardedProposal(m);
      if (why) {
        this.warnings.log(`proposal:${m.from}`, { "remote-peer-id": idToHex(m.from), reason: why }, "dropping a forwarded proposal that this member would not propose");
        return;
      }
    }
    try {
      this.d.node.step(m);
    } catch {
      return; // messages from unknown peers or stale terms are not errors of ours
    }
    this.d.kick();
  }

  async receiveSnapshot(m: Message): Promise<void> {
    this.d.logger.info({ "snapshot-index": m.snapshot?.metadata.index ?? 0, from: idToHex(m.from) }, "received and saved database snapshot");
    this.receive(m);
  }

  snapshotDir(): string {
    return this.d.snapDir;
  }

  onMemberRemoved(listener: (id: bigint) => void): void {
    this.d.onMemberRemoved(listener);
  }
}
