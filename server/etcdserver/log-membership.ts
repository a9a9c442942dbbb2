/**
 * The membership a log leads to, without applying it: the conf changes among some entries planned
 * as the applier plans them (conf-change-plan.ts) over a configuration that follows them. Used where
 * the members must be known before the log is applied: a restarting member's initial corruption
 * check (which asks its peers), and --force-new-cluster (which removes every other member, as etcd's
 * getIDs does from the snapshot and the WAL's conf changes).
 */
import { applyChange, type Cluster } from "../membership/cluster.js";
import { ConfChangeType, EntryType, type ConfState, type Entry } from "../raft/types.js";
import { planConfChange } from "./conf-change-plan.js";

export interface LogMembership {
  readonly cluster: Cluster;
  readonly confState: ConfState;
}

export function membershipAfter(cluster: Cluster, confState: ConfState, entries: readonly Entry[]): LogMembership {
  let c = cluster;
  let voters = [...confState.voters];
  let learners = [...confState.learners];
  for (const e of entries) {
    if (e.type !== EntryType.ConfChange) continue;
    const plan = planConfChange(e.data, { voters, learners }, c);
    if (!plan.ok) continue;
    const id = plan.cc.nodeId;
    switch (plan.cc.type) {
      case ConfChangeType.AddNode:
        learners = learners.filter((x) => x !== id);
        if (!voters.includes(id)) voters.push(id);
        break;
      case ConfChangeType.AddLearnerNode:
        if (!learners.includes(id)) learners.push(id);
        break;
      case ConfChangeType.RemoveNode:
        voters = voters.filter((x) => x !== id);
        learners = learners.filter((x) => x !== id);
        break;
      default:
        break;
    }
    c = applyChange(c, plan.change);
  }
  return { cluster: c, confState: { voters, learners } };
}
