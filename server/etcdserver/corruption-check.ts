/**
 * etcd's corruption checks (etcdserver/corrupt.go). Both compare this member's HashKV with its
 * peers', asked over the peer port (peer-hashkv.ts):
 * - the initial check (--experimental-initial-corrupt-check), before a restarting member serves
 *   anything: at its own revision; a peer with the same compact revision and another hash is a
 *   mismatch, and the member refuses to start with etcd's error;
 * - the periodic check (--experimental-corrupt-check-time), on the leader only: the leader's hash at
 *   its revision, confirmed stable across a linearizable read, against each follower's hash at that
 *   revision; a follower ahead of the leader, or with the same compact revision and another hash,
 *   raises a CORRUPT alarm through raft. Like etcd 3.4.23 the alarm names member 0 (which member is
 *   corrupt is not known), and it refuses every KV and lease request on every member (alarm-apply.ts).
 */
import type { Logger } from "../log/logger.js";
import type { Member } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { ErrCompacted, ErrFutureRev } from "../mvcc/index.js";
import type { Clock } from "../util/clock.js";
import type { PeerHashKV } from "./peer-hashkv.js";

export interface LocalHashKV {
  readonly hash: number;
  readonly compactRevision: number;
  readonly rev: number;
}

export interface CorruptionCheckDeps {
  readonly memberId: bigint;
  /** This member's HashKV at a revision (0: current); throws the mvcc errors. */
  readonly hashKV: (rev: number) => LocalHashKV;
  /** The cluster's members (this one is skipped). */
  readonly members: () => readonly Member[];
  /** A peer's HashKV at `rev` through one of its peer URLs (throws ErrCompacted, ErrFutureRev or another error). */
  readonly peerHashKV: (peerUrl: string, rev: number) => Promise<PeerHashKV>;
  readonly linearizableRead: () => Promise<void>;
  readonly isLeader: () => boolean;
  /** Proposes the CORRUPT alarm (for member 0, as etcd 3.4.23). */
  readonly raiseCorrupt: () => Promise<unknown>;
  readonly logger: Logger;
  readonly clock: Clock;
}

interface PeerAnswer {
  readonly id: bigint;
  readonly urls: readonly string[];
  readonly resp?: PeerHashKV;
  readonly err?: unknown;
}

export class CorruptionCheck {
  private running = false;

  constructor(private readonly d: CorruptionCheckDeps) {}

  /** etcd's CheckInitialHashKV: throws `<id> found data inconsistency with peers` on a mismatch. */
  async initial(): Promise<void> {
    const { d } = this;
    const self = idToHex(d.memberId);
    d.logger.info({ "local-member-id": self }, "starting initial corruption check");
    const { hash: h, rev, compactRevision: crev } = d.hashKV(0);
    let mismatch = 0;
    for (const p of await this.peerHashes(rev)) {
      const fields = { "local-member-id": self, "local-member-revision": rev, "local-member-compact-revision": crev, "local-member-hash": h, "remote-peer-id": idToHex(p.id), "remote-peer-endpoints": p.urls };
      if (p.resp) {
        if (h === p.resp.hash) continue;
        const remote = { ...fields, "remote-peer-revision": p.resp.revision, "remote-peer-compact-revision": p.resp.compactRevision, "remote-peer-hash": p.resp.hash };
        if (crev === p.resp.compactRevision) {
          d.logger.warn(remote, "found different hash values from remote peer");
          mismatch++;
        } else {
          d.logger.warn(remote, "found different compact revision values from remote peer");
        }
      } else if (p.err === ErrFutureRev) {
        d.logger.warn(fields, "cannot fetch hash from slow remote peer");
      } else if (p.err === ErrCompacted) {
        d.logger.warn(fields, "cannot fetch hash from remote peer; local member is behind");
      }
    }
    if (mismatch > 0) throw new Error(`${self} found data inconsistency with peers`);
    d.logger.info({ "local-member-id": self }, "initial corruption checking passed; no corruption");
  }

  /** etcd's monitorKVHash: every `intervalMs`, the leader checks its followers. Returns the stop. */
  startPeriodic(intervalMs: number): () => void {
    this.d.logger.info({ "local-member-id": idToHex(this.d.memberId), interval: `${intervalMs}ms` }, "enabled corruption checking");
    return this.d.clock.every(intervalMs, () => {
      // one pass at a time: a pass slower than the interval (peers timing out) is not stacked
      if (this.running || !this.d.isLeader()) return;
      this.running = true;
      this.checkPeers()
        .catch((e: unknown) => this.d.logger.warn({ error: e instanceof Error ? e.message : String(e) }, "failed to check hash KV"))
        .finally(() => (this.running = false));
    });
  }

  /** etcd's checkHashKV: one pass of the leader's check; raises CORRUPT once on a mismatch. */
  async checkPeers(): Promise<void> {
    const { d } = this;
    const first = d.hashKV(0);
    const peers = await this.peerHashes(first.rev);
    await d.linearizableRead();
    const second = d.hashKV(0);
    let alarmed = false;
    const mismatch = (fields: Record<string, unknown>, msg: string) => {
      d.logger.warn(fields, msg);
      if (alarmed) return;
      alarmed = true;
      d.raiseCorrupt().catch((e: unknown) => d.logger.warn({ error: e instanceof Error ? e.message : String(e) }, "failed to raise the CORRUPT alarm"));
    };
    if (second.hash !== first.hash && second.rev === first.rev && second.compactRevision === first.compactRevision) {
      mismatch({ "revision-1": first.rev, "compact-revision-1": first.compactRevision, "hash-1": first.hash, "revision-2": second.rev, "compact-revision-2": second.compactRevision, "hash-2": second.hash }, "found hash mismatch");
    }
    let checked = 0;
    for (const p of peers) {
      if (!p.resp) continue;
      checked++;
      const peer = idToHex(p.id);
      if (p.resp.revision > second.rev) {
        mismatch({ "leader-revision": second.rev, "follower-revision": p.resp.revision, "follower-peer-id": peer }, "revision from follower must be less than or equal to leader's");
      }
      if (p.resp.compactRevision > second.compactRevision) {
        mismatch({ "leader-compact-revision": second.compactRevision, "follower-compact-revision": p.resp.compactRevision, "follower-peer-id": peer }, "compact revision from follower must be less than or equal to leader's");
      }
      if (p.resp.compactRevision === first.compactRevision && p.resp.hash !== first.hash) {
        mismatch(
          { "leader-compact-revision": second.compactRevision, "leader-hash": first.hash, "follower-compact-revision": p.resp.compactRevision, "follower-hash": p.resp.hash, "follower-peer-id": peer },
          "same compact revision then hashes must match",
        );
      }
    }
    d.logger.info({ "number-of-peers-checked": checked }, "finished peer corruption check");
  }

  /** etcd's getPeerHashKVs: each other member's answer through the first of its peer URLs that answers. */
  private async peerHashes(rev: number): Promise<PeerAnswer[]> {
    const out: PeerAnswer[] = [];
    for (const m of this.d.members()) {
      if (m.id === this.d.memberId || m.peerUrls.length === 0) continue;
      let lastErr: unknown;
      let resp: PeerHashKV | undefined;
      for (const url of m.peerUrls) {
        try {
          resp = await this.d.peerHashKV(url, rev);
          break;
        } catch (e) {
          lastErr = e;
          this.d.logger.warn(
            { "local-member-id": idToHex(this.d.memberId), "requested-revision": rev, "remote-peer-endpoint": url, error: e instanceof Error ? e.message : String(e) },
            "failed hash kv request",
          );
        }
      }
      out.push(resp ? { id: m.id, urls: m.peerUrls, resp } : { id: m.id, urls: m.peerUrls, err: lastErr });
    }
    return out;
  }
}
