/**
 * Publishing this member's attributes (name, client URLs) through raft, as etcd's publish: the member
 * serves clients only once its attributes are committed, so the cluster agrees on how to reach it.
 */
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import type { ApplyValue } from "./applier.js";
import { ProposalKind, jsonPayload, type MemberAttributes } from "../pb/raft-entry.js";
import type { Clock } from "../util/clock.js";

export interface MemberPublisherDeps {
  readonly memberId: bigint;
  readonly name: string;
  readonly clientUrls: readonly string[];
  propose(kind: ProposalKind, payload: Uint8Array): Promise<ApplyValue>;
  clusterId(): bigint;
  stopped(): boolean;
  readonly logger: Logger;
  /** What times the retry (default: a plain timer). */
  readonly clock?: Clock;
}

/** Wait before proposing the attributes again after a failed attempt. */
const RETRY_MS = 500;

export class MemberPublisher {
  private isPublished = false;
  private publishing = false;
  private readonly readyWaiters: Array<() => void> = [];

  constructor(private readonly d: MemberPublisherDeps) {}

  /** The attributes were committed and applied: this member can serve clients. */
  get published(): boolean {
    return this.isPublished;
  }

  /** Resolves once published. */
  ready(): Promise<void> {
    if (this.isPublished) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  /** Starts publishing unless it is done or under way (retried until it succeeds or the server stops). */
  publishOnce(): void {
    if (!this.isPublished && !this.publishing) this.publish();
  }

  private publish(): void {
    const d = this.d;
    const attrs: MemberAttributes = { memberId: d.memberId.toString(), name: d.name, clientUrls: [...d.clientUrls] };
    this.publishing = true;
    d.propose(ProposalKind.MemberAttributes, jsonPayload(attrs)).then(
      () => this.markPublished(attrs),
      (e) => {
        this.publishing = false;
        d.logger.warn({ error: String(e) }, "failed to publish local member to cluster through raft; retrying");
        const retry = () => !d.stopped() && !this.publishing && this.publish();
        if (d.clock) d.clock.after(RETRY_MS, retry);
        else setTimeout(retry, RETRY_MS);
      },
    );
  }

  private markPublished(attrs: MemberAttributes): void {
    if (this.isPublished) return;
    this.isPublished = true;
    const id = idToHex(this.d.memberId);
    this.d.logger.info(
      {
        "local-member-id": id,
        "local-member-attributes": `{Name:${attrs.name} ClientURLs:[${attrs.clientUrls.join(" ")}]}`,
        "request-path": `/0/members/${id}/attributes`,
        "cluster-id": idToHex(this.d.clusterId()),
        "publish-timeout": "7s",
      },
      "published local member to cluster through raft",
    );
    for (const w of this.readyWaiters.splice(0)) w();
  }
}
