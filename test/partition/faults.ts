/**
 * The partition schedule the tests run while clients write: a member isolated from the majority,
 * the leader isolated, a one-way cut from the leader to a follower, and a flapping link, each
 * followed by a heal and a pause so the cluster recovers. Steps are timed by the wall clock but
 * checked by nothing time-sensitive: what matters is that each partition happens under load.
 */
import { status } from "../support/cluster-client.js";
import type { LabCluster } from "../support/netns-cluster.js";
import type { Partitions } from "../../ansible-free-scripts/hosts/partition.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The leader's member name, as the members that answer Status report it (undefined if none agree). */
export async function currentLeader(cluster: LabCluster): Promise<string | undefined> {
  const answers = await Promise.all(cluster.members.map((m) => status(m.endpoint, 1000).then((s) => ({ m, s })).catch(() => undefined)));
  const byId = new Map(answers.filter((a) => a !== undefined).map((a) => [a!.s.memberId, a!.m.name]));
  const votes = new Map<string, number>();
  for (const a of answers) if (a && a.s.leader !== "0") votes.set(a.s.leader, (votes.get(a.s.leader) ?? 0) + 1);
  const [id, n] = [...votes.entries()].sort((x, y) => y[1] - x[1])[0] ?? [];
  if (id === undefined || n! < Math.floor(cluster.members.length / 2) + 1) return undefined;
  return byId.get(id);
}

async function leaderOrAny(cluster: LabCluster, stop: () => boolean): Promise<string> {
  for (let i = 0; i < 50 && !stop(); i++) {
    const l = await currentLeader(cluster);
    if (l) return l;
    await sleep(200);
  }
  return cluster.members[0]!.name;
}

export interface ScheduleOptions {
  /** How long each partition lasts. */
  readonly cutMs: number;
  /** Connected time after each heal. */
  readonly settleMs: number;
  readonly flaps: number;
  readonly stop: () => boolean;
  readonly log: (line: string) => void;
}

/** Runs the schedule once; every step ends healed. */
export async function runSchedule(cluster: LabCluster, parts: Partitions, o: ScheduleOptions): Promise<void> {
  const names = cluster.members.map((m) => m.name);
  const step = async (what: string, cut: () => void) => {
    if (o.stop()) return;
    cut();
    o.log(`${what} (cuts: ${parts.describe()})`);
    await sleep(o.cutMs);
    parts.healAll();
    o.log(`healed after ${what}`);
    await sleep(o.settleMs);
  };
  await sleep(o.settleMs);
  let leader = await leaderOrAny(cluster, o.stop);
  const follower = names.find((n) => n !== leader)!;
  await step(`isolate follower ${follower}`, () => parts.isolate(follower));

  leader = await leaderOrAny(cluster, o.stop);
  await step(`isolate leader ${leader}`, () => parts.isolate(leader));

  leader = await leaderOrAny(cluster, o.stop);
  const victim = names.find((n) => n !== leader)!;
  await step(`one-way cut ${leader} -> ${victim}`, () => parts.cutOneWay(leader, victim));

  if (names.length >= 5) {
    leader = await leaderOrAny(cluster, o.stop);
    const minority = names.filter((n) => n !== leader).slice(0, Math.floor(names.length / 2));
    await step(`minority ${minority.join("+")} cut from the rest`, () => {
      for (const a of minority) for (const b of names) if (!minority.includes(b)) parts.cut(a, b);
    });
  }

  leader = await leaderOrAny(cluster, o.stop);
  const peer = names.find((n) => n !== leader)!;
  if (!o.stop()) {
    o.log(`flapping ${leader} <-> ${peer} x${o.flaps}`);
    await parts.flap(leader, peer, { times: o.flaps, downMs: 700, upMs: 500, stop: o.stop });
    o.log("flapping done");
  }
  parts.healAll();
}
