/**
 * What a proposal answers when its context ends, by etcd's rules (v3_server.go's
 * processInternalRaftRequestOnce and server.go's parseProposeCtxErr): the context's own error while
 * no leader took it, etcd's timeout errors once raft has it; never a gRPC DEADLINE_EXCEEDED /
 * CANCELLED. Also: nothing is left registered, and a stop ends proposals waiting for a leader.
 * The request timeout runs on a ManualClock (the Proposer's `clock`): no test waits on real time.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Proposer, type ProposerDeps } from "../../server/etcdserver/proposer.js";
import { parseProposeCtxErr, type LeadershipView } from "../../server/etcdserver/propose-errors.js";
import { WaitRegistry } from "../../server/etcdserver/wait.js";
import type { ApplyResult } from "../../server/etcdserver/applier.js";
import { ProposalKind, decodeProposal } from "../../server/pb/raft-entry.js";
import {
  ErrCanceled,
  ErrCtxCanceled,
  ErrCtxDeadlineExceeded,
  ErrStopped,
  ErrTimeout,
  ErrTimeoutDueToConnectionLost,
  ErrTimeoutDueToLeaderFail,
} from "../../server/pb/errors.js";
import { NONE } from "../../server/raft/types.js";
import { ManualClock, settle } from "../support/manual-clock.js";

const SELF = 1n;
const ELECTION_MS = 1000;

function view(o: Partial<{ leader: bigint; elected: number; active: Record<string, number>; members: bigint[] }> = {}): LeadershipView {
  return {
    selfId: SELF,
    electionTimeoutMs: ELECTION_MS,
    leadElectedAt: () => o.elected ?? 0,
    leader: () => o.leader ?? 2n,
    members: () => o.members ?? [1n, 2n, 3n],
    activeSince: (id) => o.active?.[id.toString()] ?? 0,
  };
}

describe("parseProposeCtxErr", () => {
  const start = 100_000;
  test("a cancelled caller: etcdserver: request cancelled", () => {
    assert.equal(parseProposeCtxErr(ErrCtxCanceled, start, view()), ErrCanceled);
  });
  test("this member became leader while the request waited (within 2 election timeouts): previous leader failure", () => {
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: SELF, elected: start + 500, active: { 2: 1, 3: 1 } })), ErrTimeoutDueToLeaderFail);
    // elected more than 2 election timeouts after the request started: not that
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: SELF, elected: start + 2 * ELECTION_MS + 1, active: { 2: 1, 3: 1 } })), ErrTimeout);
  });
  test("a follower whose stream to the leader is down, or came up after the request started: connection lost", () => {
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: 2n })), ErrTimeoutDueToConnectionLost);
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: 2n, active: { 2: start + 1 } })), ErrTimeoutDueToConnectionLost);
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: 2n, active: { 2: start - 1 } })), ErrTimeout);
  });
  test("a leader connected to less than a quorum since the request started: connection lost", () => {
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: SELF, active: {} })), ErrTimeoutDueToConnectionLost);
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: SELF, active: { 3: 1 } })), ErrTimeout);
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: SELF, active: { 3: 1 }, members: [1n, 2n, 3n, 4n, 5n] })), ErrTimeoutDueToConnectionLost);
  });
  test("no leader now: request timed out", () => {
    assert.equal(parseProposeCtxErr(ErrCtxDeadlineExceeded, start, view({ leader: NONE })), ErrTimeout);
  });
});

interface Harness {
  proposer: Proposer;
  clock: ManualClock;
  waits: WaitRegistry<ApplyResult>;
  proposed: bigint[];
  setLeader(id: bigint): void;
  stop(): void;
}

function harness(o: { leader?: bigint; timeoutMs?: number; view?: LeadershipView } = {}): Harness {
  let leader = o.leader ?? 2n;
  let stopped = false;
  const waits = new WaitRegistry<ApplyResult>();
  const proposed: bigint[] = [];
  let next = 10n;
  const gauge = { inc: () => undefined, dec: () => undefined };
  const clock = new ManualClock();
  const deps: ProposerDeps = {
    node: {
      propose: (data) => void proposed.push(decodeProposal(data)!.id),
      proposeConfChange: () => undefined,
    },
    waits,
    ids: { nextId: () => next++ } as ProposerDeps["ids"],
    kick: () => undefined,
    leader: () => leader,
    stopped: () => stopped,
    metrics: { proposalsPending: gauge, proposalsFailed: gauge } as unknown as ProposerDeps["metrics"],
    maxRequestBytes: 1 << 20,
    timeoutMs: o.timeoutMs ?? 60_000,
    clock,
    leadership: o.view ?? view({ leader: 2n, active: { 2: 1 } }),
  };
  const proposer = new Proposer(deps);
  return {
    proposer,
    clock,
    waits,
    proposed,
    setLeader: (id) => {
      leader = id;
      proposer.leaderKnown();
    },
    stop: () => {
      stopped = true;
      proposer.leaderKnown();
    },
  };
}

const payload = Buffer.from("x");

/** `promise`, with whether it has settled yet (its rejection is handled: assert.rejects reads it later). */
function outcomeOf<T>(promise: Promise<T>): { promise: Promise<T>; settled: boolean } {
  const o = { promise, settled: false };
  promise.then(
    () => (o.settled = true),
    () => (o.settled = true),
  );
  return o;
}

describe("Proposer and the request's context", () => {
  test("no leader until the caller's deadline: Unknown \"context deadline exceeded\" (raft's Propose blocked), nothing proposed", async () => {
    const h = harness({ leader: NONE });
    const ac = new AbortController();
    const p = h.proposer.propose(ProposalKind.Put, payload, ac.signal);
    await settle();
    ac.abort(ErrCtxDeadlineExceeded);
    await assert.rejects(p, (e) => e === ErrCtxDeadlineExceeded);
    assert.deepEqual(h.proposed, []);
    assert.equal(h.waits.size, 0);
  });

  test("no leader within the request timeout (no caller deadline): the same, as etcd's ReqTimeout context", async () => {
    const h = harness({ leader: NONE, timeoutMs: 30 });
    const p = outcomeOf(h.proposer.propose(ProposalKind.Put, payload));
    await h.clock.advance(29);
    assert.equal(p.settled, false, "not before the request timeout");
    await h.clock.advance(1);
    await assert.rejects(p.promise, (e) => e === ErrCtxDeadlineExceeded);
  });

  test("proposed but not applied by the deadline: parseProposeCtxErr's error, and the wait is released", async () => {
    const h = harness({ view: view({ leader: 2n }) }); // the stream to the leader is down
    const ac = new AbortController();
    const p = h.proposer.propose(ProposalKind.Put, payload, ac.signal);
    await settle();
    assert.equal(h.proposed.length, 1);
    ac.abort(ErrCtxDeadlineExceeded);
    await assert.rejects(p, (e) => e === ErrTimeoutDueToConnectionLost);
    assert.equal(h.waits.size, 0);
  });

  test("proposed, then the request timeout passes: etcdserver: request timed out", async () => {
    const h = harness({ timeoutMs: 30 });
    const p = outcomeOf(h.proposer.propose(ProposalKind.Put, payload));
    await h.clock.advance(29);
    assert.equal(p.settled, false, "not before the request timeout");
    await h.clock.advance(1);
    await assert.rejects(p.promise, (e) => e === ErrTimeout);
  });

  test("the caller goes away while the proposal is pending: etcdserver: request cancelled", async () => {
    const h = harness();
    const ac = new AbortController();
    const p = h.proposer.propose(ProposalKind.Put, payload, ac.signal);
    await settle();
    ac.abort(ErrCtxCanceled);
    await assert.rejects(p, (e) => e === ErrCanceled);
  });

  test("a leader appears while the proposal waits: it goes out and resolves when applied", async () => {
    const h = harness({ leader: NONE });
    const ac = new AbortController();
    const p = h.proposer.propose(ProposalKind.Put, payload, ac.signal);
    await h.clock.advance(10_000);
    assert.deepEqual(h.proposed, []);
    h.setLeader(3n);
    await settle();
    assert.equal(h.proposed.length, 1);
    h.waits.trigger(h.proposed[0]!, { ok: true, value: { revision: 7 } } as unknown as ApplyResult);
    assert.deepEqual(await p, { revision: 7 });
    ac.abort(ErrCtxDeadlineExceeded); // after the answer: changes nothing
  });

  test("the server stops while a proposal waits for a leader: ErrStopped at once", async () => {
    const h = harness({ leader: NONE });
    const p = h.proposer.propose(ProposalKind.Put, payload);
    await settle();
    h.stop();
    await assert.rejects(p, (e) => e === ErrStopped);
  });

  test("a context that already ended: nothing is proposed", async () => {
    const h = harness();
    const ac = new AbortController();
    ac.abort(ErrCtxDeadlineExceeded);
    await assert.rejects(h.proposer.propose(ProposalKind.Put, payload, ac.signal), (e) => e === ErrCtxDeadlineExceeded);
    assert.deepEqual(h.proposed, []);
  });
});
