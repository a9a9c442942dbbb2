/**
 * Randomized simulation: a Cluster driven through a seeded random schedule of ticks,
 * proposals, reads, leader transfers, partitions, crashes (between Readies and in the middle of
 * one) and restarts over a lossy,
 * delaying, reordering, duplicating network; optionally membership changes. Safety
 * invariants are checked after every step; at the end the network heals, everyone restarts,
 * and the cluster must converge.
 */
import { ConfChangeType, ErrProposalDropped, MessageType, type NodeId, StateType } from "../../../server/raft/types.js";
import { dec, enc, mulberry32 } from "../helpers.js";
import { Cluster } from "./cluster.js";

export interface SimOptions {
  readonly seed: number;
  readonly size: 3 | 5;
  readonly steps: number;
  /** Exercise membership changes (remove / add back as learner / promote). */
  readonly confChanges?: boolean;
  /** Debug: log the healing phase's messages to/from this member. */
  readonly trace?: NodeId;
}

export interface SimResult {
  readonly seed: number;
  readonly committed: number;
  readonly leaders: number;
  readonly delivered: number;
  readonly dropped: number;
  readonly crashes: number;
  readonly snapshotsInstalled: number;
  readonly reads: number;
  /** Conf changes committed beyond the bootstrap ones. */
  readonly confChanges: number;
}

export function runSimulation(o: SimOptions): SimResult {
  const rand = mulberry32(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ids: NodeId[] = o.size === 3 ? [1n, 2n, 3n] : [1n, 2n, 3n, 4n, 5n];
  const c = new Cluster({
    ids,
    seed: o.seed,
    config: {
      preVote: rand() < 0.7,
      checkQuorum: rand() < 0.7,
      maxInflightMsgs: 1 + Math.floor(rand() * 8),
      maxSizePerMsg: pick([0, 64, 256, 4096]),
      maxUncommittedEntriesSize: pick([0, 0, 2048]),
      electionTick: 10,
      heartbeatTick: 2,
    },
    member: { snapshotEvery: pick([0, 8, 25]), keepEntries: pick([0, 3]) },
    network: {
      dropRate: pick([0, 0.05, 0.15]),
      dupRate: pick([0, 0.03]),
      maxDelay: pick([0, 2, 4]),
      reorder: rand() < 0.8,
    },
  });

  let proposals = 0;
  let crashes = 0;
  let snapshotsInstalled = 0;
  let reads = 0;
  /** read ctx -> the commit index any read result must reach (linearizability). */
  const readFloor = new Map<string, number>();
  c.onReady = (m, rd) => {
    if (rd.snapshot) snapshotsInstalled++;
    for (const rs of rd.readStates) {
      const ctx = dec(rs.requestCtx);
      const floor = readFloor.get(ctx);
      if (floor === undefined) throw new Error(`unknown read ctx ${ctx} at ${m.id}`);
      if (rs.index < floor) {
        throw new Error(`Linearizability: read ${ctx} at ${m.id} got index ${rs.index} < ${floor} committed before it was issued`);
      }
      reads++;
    }
  };

  const maxDown = o.size === 3 ? 1 : 2;
  for (let step = 0; step < o.steps; step++) {
    c.net.now++;
    const alive = c.alive();
    const r = rand();
    if (r < 0.37) {
      for (const m of alive) m.node!.tick();
    } else if (r < 0.45) {
      // Clock skew: one member ticks alone.
      pick(alive).node!.tick();
    } else if (r < 0.7) {
      const m = pick(alive);
      try {
        m.node!.propose(enc(`p${proposals++}`));
      } catch (err) {
        if (err !== ErrProposalDropped) throw err;
      }
    } else if (r < 0.76) {
      const m = pick(alive);
      const ctx = `r${o.seed}-${step}`;
      readFloor.set(ctx, c.maxCommitted);
      m.node!.readIndex(enc(ctx));
    } else if (r < 0.78) {
      const m = pick(alive);
      m.node!.transferLeader(pick(ids));
    } else if (r < 0.8) {
      // Random partition into two groups.
      c.heal();
      const shuffled = [...ids].sort(() => rand() - 0.5);
      const k = 1 + Math.floor(rand() * (ids.length - 1));
      c.net.partition([shuffled.slice(0, k), shuffled.slice(k)]);
    } else if (r < 0.83) {
      c.heal();
    } else if (r < 0.845) {
      const armed = alive.filter((m) => m.crashAfterSteps !== undefined).length;
      if (ids.length - alive.length + armed < maxDown) {
        const m = pick(alive);
        // half the crashes strike in the middle of the member's next Ready, after some steps of
        // its plan (e.g. a leader's early send before its own write)
        if (rand() < 0.5) m.crashAfterSteps = Math.floor(rand() * 5);
        else c.crash(m.id);
        crashes++;
      }
    } else if (r < 0.875) {
      const down = [...c.members.values()].filter((m) => !m.alive);
      if (down.length > 0) c.restart(pick(down).id);
    } else if (r < 0.885 && o.confChanges) {
      proposeConfChange(c, ids, rand);
    } else {
      // just let the system run
    }
    // Every member handles at most one Ready per step (drivers run concurrently);
    // then the network delivers what is due.
    for (const m of c.members.values()) c.processReady(m);
    c.deliverDue();
    c.checkInvariants();
  }

  // Heal: reliable network, everyone up; the cluster must converge and make progress.
  c.heal();
  c.net.clear();
  c.net.opts.dropRate = 0;
  c.net.opts.dupRate = 0;
  c.net.opts.maxDelay = 0;
  for (const m of c.members.values()) {
    m.crashAfterSteps = undefined; // no crash armed for the healing phase
    if (!m.alive) c.restart(m.id);
  }
  c.stabilize();
  if (o.trace !== undefined) {
    const tr = o.trace;
    c.onReady = (m, rd) => {
      for (const x of rd.messages) {
        if (x.to === tr || x.from === tr) {
          console.log(`${MessageType[x.type]} ${x.from}->${x.to} t=${x.term} i=${x.index} lt=${x.logTerm} c=${x.commit} rej=${x.reject} hint=${x.rejectHint} n=${x.entries.length}${x.snapshot ? " snap@" + x.snapshot.metadata.index : ""}`);
        }
      }
    };
  }
  const final = `final-${o.seed}`;
  let proposed = false;
  let converged = false;
  for (let t = 0; t < 600 && !converged; t++) {
    c.net.now++;
    c.tickAll();
    c.stabilize();
    const leader = c.leader();
    if (leader === undefined) continue;
    if (o.confChanges) {
      // Stop members outside the leader's configuration (as etcd's server stops a removed
      // member), (re)start the ones in it.
      const conf = new Set(membersOf(c, leader));
      for (const m of c.members.values()) {
        if (!conf.has(m.id) && m.alive) c.crash(m.id);
        else if (conf.has(m.id) && !m.alive) c.restart(m.id);
      }
    }
    // (Re)propose until it is applied: an uncommitted proposal may be lost with its leader.
    if (!c.userData(leader).includes(final) && t % 40 === 0) {
      try {
        c.propose(leader, final);
        proposed = true;
      } catch (err) {
        if (err !== ErrProposalDropped) throw err;
      }
    }
    if (!proposed) continue;
    const lm = c.member(leader);
    const members = membersOf(c, leader);
    converged =
      c.userData(leader).includes(final) &&
      members.every((id) => {
        const m = c.member(id);
        return m.appliedIndex === lm.appliedIndex;
      });
  }
  if (!converged) {
    const desc = [...c.members.values()].map((m) => {
      if (m.node === undefined) return `${m.id}: down`;
      const st = m.node.status();
      const pr = st.progress ? " progress=" + JSON.stringify([...st.progress].map(([k, v]) => [Number(k), v])) : "";
      return `${m.id}: ${StateType[st.softState.raftState]}${pr} term=${st.hardState.term} lead=${st.softState.lead} commit=${st.hardState.commit} applied=${m.appliedIndex} conf=${JSON.stringify(m.confState, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`;
    });
    throw new Error(`Liveness: no convergence after healing\n${desc.join("\n")}`);
  }
  return {
    seed: o.seed,
    committed: c.maxCommitted,
    leaders: c.leaders.size,
    delivered: c.net.delivered,
    dropped: c.net.dropped,
    crashes,
    snapshotsInstalled,
    reads,
    confChanges: c.history.filter((k) => k.split("/")[1] === "1").length - ids.length,
  };
}

/** Members of the leader's configuration (voters + learners). */
function membersOf(c: Cluster, leader: NodeId): NodeId[] {
  const cs = c.member(leader).confState;
  return [...cs.voters, ...cs.learners];
}

/**
 * A membership change proposed on the current leader: remove a voter (keeping >= 3), add a
 * removed member back as a learner, or promote a learner. Removed members keep running.
 */
function proposeConfChange(c: Cluster, ids: readonly NodeId[], rand: () => number): void {
  const leader = c.leader();
  if (leader === undefined) return;
  const cs = c.member(leader).confState;
  const node = c.node(leader);
  const inConf = new Set([...cs.voters, ...cs.learners]);
  const outside = ids.filter((id) => !inConf.has(id));
  const choice = rand();
  try {
    if (cs.learners.length > 0 && choice < 0.4) {
      node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: cs.learners[0]!, context: enc("") });
    } else if (outside.length > 0 && choice < 0.8) {
      // A removed member comes back with its storage intact (never with a wiped one: it
      // would forget its votes; etcd never reuses a removed member's id).
      const id = outside[0]!;
      node.proposeConfChange({ type: ConfChangeType.AddLearnerNode, nodeId: id, context: enc("") });
    } else if (cs.voters.length > 3) {
      const victims = cs.voters.filter((v) => v !== leader);
      node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: victims[Math.floor(rand() * victims.length)]!, context: enc("") });
    }
  } catch (err) {
    if (err !== ErrProposalDropped) throw err;
  }
}
