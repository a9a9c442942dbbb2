/**
 * The cluster version: the leader decides it once through raft (etcd's monitorVersions; every
 * member of an etcd-ts cluster runs the same version) and each member logs it when applied.
 */
import type { Logger } from "../log/logger.js";
import { idToHex } from "../membership/ids.js";
import type { ApplyValue } from "./applier.js";
import { ProposalKind, jsonPayload } from "../pb/raft-entry.js";

export const CLUSTER_VERSION = "3.4.0";

export interface ClusterVersionDeps {
  readonly memberId: bigint;
  clusterId(): bigint;
  propose(kind: ProposalKind, payload: Uint8Array): Promise<ApplyValue>;
  readonly logger: Logger;
}

export class ClusterVersion {
  private current = "";

  constructor(private readonly d: ClusterVersionDeps) {}

  /** As the leader: proposes the version unless one was applied (a failure is retried at the next leader noop). */
  decideIfUnset(): void {
    if (this.current !== "") return;
    void this.d.propose(ProposalKind.ClusterVersion, jsonPayload({ version: CLUSTER_VERSION })).catch(() => undefined);
  }

  /** A ClusterVersion entry was applied. */
  applied(v: string): void {
    const first = this.current === "";
    this.current = v;
    const majorMinor = v.split(".").slice(0, 2).join(".");
    this.d.logger.info({ "cluster-id": idToHex(this.d.clusterId()), "local-member-id": idToHex(this.d.memberId), "cluster-version": majorMinor }, first ? "set initial cluster version" : "updated cluster version");
    this.d.logger.info({ "cluster-version": majorMinor }, "enabled capabilities for version");
  }
}
