/**
 * The leader's expiry loop (server/etcdserver/leases.ts) revokes at etcd's rate: every 500 ms up to 500
 * expired leases (leaseRevokeRate 1000/s), each by its own LeaseRevoke proposal, at most 16 in flight
 * (maxPendingRevokes). Mocked timers and an injected lessor clock: no real time is involved.
 */
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { Lessor } from "../../server/lease/index.js";
import { ServerLeases } from "../../server/etcdserver/leases.js";
import { ProposalKind } from "../../server/pb/raft-entry.js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import type { Logger } from "../../server/log/logger.js";

const leaseDef = serviceDefinition("etcdserverpb", "Lease");
const silent = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined } as unknown as Logger;

/** A leader whose proposals apply after `applyTicks` microtask turns (a raft round), recording concurrency. */
function leader(n: number) {
  let now = 1_000_000;
  let isLeader = true;
  /** While set, proposals wait for it (a slow raft round). */
  let hold: Promise<void> | undefined;
  const lessor = new Lessor(undefined, { minTtl: 2, now: () => now, expiredRetryMs: 3000 });
  for (let i = 1; i <= n; i++) lessor.grant(BigInt(i), 2);
  let inFlight = 0;
  const stats = { proposals: 0, maxInFlight: 0, kinds: new Set<ProposalKind>() };
  const leases = new ServerLeases({
    lessor,
    isLeader: () => isLeader,
    commitIndex: () => 0,
    appliedIndex: () => 0,
    waitApplied: async () => undefined,
    checkQuota: () => undefined,
    logger: silent,
    electionTimeoutMs: 0,
    async propose(kind, payload) {
      stats.proposals++;
      stats.kinds.add(kind);
      inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      for (let i = 0; i < 3; i++) await Promise.resolve();
      if (hold) await hold;
      const { ID } = leaseDef.LeaseRevoke!.requestDeserialize(Buffer.from(payload)) as { ID: string };
      lessor.revoke(BigInt(ID), () => undefined);
      inFlight--;
      return { revision: 1 };
    },
  });
  leases.onLeaderReady(); // promote: every lease expires at now + 2 s
  now += 2000;
  const ctl = {
    holdProposals(): () => void {
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
    loseLeadership(): void {
      isLeader = false;
      leases.onNotLeader();
    },
  };
  return { lessor, leases, stats, ctl };
}

/** Advances the mocked timers by one loop period and lets every proposal started meanwhile settle. */
async function loop(): Promise<void> {
  mock.timers.tick(500);
  for (let i = 0; i < 200; i++) await new Promise<void>((r) => setImmediate(r));
}

describe("expired lease revocation rate", () => {
  it("revokes 500 expired leases per 500 ms loop, one proposal each, at most 16 in flight", async () => {
    mock.timers.enable({ apis: ["setInterval"] });
    const { lessor, leases, stats } = leader(2000);
    try {
      leases.start();
      await loop();
      assert.equal(stats.proposals, 500, "the first loop revokes one loop's worth (leaseRevokeRate / 2)");
      assert.equal(lessor.size(), 1500);
      for (let i = 0; i < 3; i++) await loop();
      assert.equal(lessor.size(), 0, "2,000 expired leases are gone after 4 loops (2 s at 1000/s)");
      assert.equal(stats.proposals, 2000, "each lease revoked once, by its own proposal");
      assert.deepEqual([...stats.kinds], [ProposalKind.LeaseRevoke]);
      assert.equal(stats.maxInFlight, 16, "etcd's maxPendingRevokes");
    } finally {
      leases.stop();
      mock.timers.reset();
    }
  });

  it("a follower proposes nothing; losing leadership drops what was not yet proposed", async () => {
    mock.timers.enable({ apis: ["setInterval"] });
    const { lessor, leases, stats, ctl } = leader(100);
    try {
      leases.start();
      const release = ctl.holdProposals();
      await loop();
      assert.equal(stats.proposals, 16, "16 in flight, the other 84 queued");
      ctl.loseLeadership();
      release();
      await loop();
      await loop();
      assert.equal(stats.proposals, 16, "the queued revokes were dropped: the new leader decides expiry");
      assert.equal(lessor.size(), 84);
    } finally {
      leases.stop();
      mock.timers.reset();
    }
  });
});
