/**
 * Partition scenarios (beside the kill / stop / pause ones of failover.ts), on targets that can cut
 * links between members (--target hosts). Under a steady write load over every member:
 *
 * - partition-leader: the leader is cut from every other member, both ways;
 * - partition-oneway: everything the leader sends to the others is dropped (it still receives);
 * - partition-flap: the link between the leader and one follower is cut and healed `flaps` times.
 *
 * Each is held until a new leader served a write (or for `partitionMs`, whichever is longer), then
 * healed. Reported: time to a new leader, to the first successful write, the clients' error window
 * and errors, acknowledged writes lost (every acknowledged key read back; must be 0), and whether
 * the old leader served a stale linearizable read (a probe key written through the other members,
 * read on the old leader only; a read that saw a revision older than an acknowledged write's is
 * stale; must be 0). The clients (the bench) keep reaching every member throughout.
 */
import { endpointStatus, EtcdChannel } from "./etcd-client.js";
import { buildTimeline, findLeader, verifyAcked, type LeaderInfo } from "./failover.js";
import { findStaleReads, PartitionClients } from "./partition-clients.js";
import type { FailoverTrial, PartitionScenario } from "./schema.js";
import type { ClusterTarget, PartitionControl, TargetMember } from "./target.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const PARTITION_SCENARIOS: PartitionScenario[] = ["partition-leader", "partition-oneway", "partition-flap"];

export interface PartitionOptions {
  scenario: PartitionScenario;
  trial: number;
  keyPrefix: string;
  writers: number;
  valSize: number;
  timeoutMs: number;
  preMs: number;
  postMs: number;
  /** A partition is held at least this long (flapping: the cut part of each cycle). */
  partitionMs: number;
  flaps: number;
  /** The connected part of each flapping cycle. */
  flapUpMs: number;
  maxRecoveryMs: number;
  bucketMs?: number;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
}

/** Polls every member's Status: when a survivor first names a leader other than the old one, and every leader named. */
class LeaderWatch {
  newLeaderAt: number | null = null;
  newLeader: string | null = null;
  readonly seen = new Set<string>();
  private on = true;
  private readonly done: Promise<void>;
  private readonly channels: EtcdChannel[];

  constructor(members: readonly TargetMember[], old: LeaderInfo) {
    this.channels = members.map((m) => new EtcdChannel(m.clientUrl));
    const nameOf = (id: string) => [...old.ids.entries()].find(([, x]) => x === id)?.[0] ?? id;
    this.seen.add(old.name);
    this.done = (async () => {
      while (this.on) {
        const st = await Promise.all(members.map((m, i) => endpointStatus(m.clientUrl, 250, this.channels[i]).catch(() => null)));
        st.forEach((s, i) => {
          if (!s || s.leaderId === "0") return;
          this.seen.add(nameOf(s.leaderId));
          if (members[i]!.name !== old.name && s.leaderId !== old.id && this.newLeaderAt === null) {
            this.newLeaderAt = performance.now();
            this.newLeader = nameOf(s.leaderId);
          }
        });
        await sleep(25);
      }
    })();
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.done;
    for (const c of this.channels) c.close();
  }
}

/** Applies the scenario's fault and holds it; resolves healed, with what was cut and when the cut ended. */
async function fault(p: PartitionControl, o: PartitionOptions, leader: string, others: string[], recovered: () => boolean): Promise<{ cuts: string[]; healedAt: number }> {
  let cuts: string[] = [];
  const t0 = performance.now();
  const hold = async () => {
    const until = t0 + o.maxRecoveryMs;
    while (!recovered() && performance.now() < until && !o.signal?.aborted) await sleep(20);
    const minEnd = t0 + o.partitionMs;
    const end = Math.max(minEnd, performance.now() + o.postMs);
    while (performance.now() < end && !o.signal?.aborted) await sleep(20);
  };
  try {
    if (o.scenario === "partition-flap") {
      const peer = others[0]!;
      for (let i = 0; i < o.flaps && !o.signal?.aborted; i++) {
        p.cut(leader, peer);
        if (i === 0) cuts = p.cuts();
        await sleep(o.partitionMs);
        p.heal(leader, peer);
        await sleep(o.flapUpMs);
      }
    } else {
      if (o.scenario === "partition-leader") p.isolate(leader);
      else for (const x of others) p.cutOneWay(leader, x);
      cuts = p.cuts();
      await hold();
    }
  } finally {
    p.healAll();
  }
  return { cuts, healedAt: performance.now() };
}

export async function runPartitionTrial(target: ClusterTarget, o: PartitionOptions): Promise<FailoverTrial> {
  const control = target.control;
  const parts = target.partitions;
  if (!control || !parts) throw new Error("partition scenarios need a target whose links the suite can cut (--target hosts)");
  if (target.size < 3) throw new Error("partition scenarios need at least 3 members");
  const startedAt = new Date().toISOString();
  await control.waitHealthy();
  let leader: LeaderInfo | null = null;
  for (let i = 0; i < 20 && !leader; i++) leader = (await findLeader(target.members())) ?? (await sleep(100), null);
  if (!leader) throw new Error("no leader before the fault");
  const old = leader;
  const members = target.members();
  const others = members.filter((m) => m.name !== old.name);
  const clients = new PartitionClients(members, { keyPrefix: o.keyPrefix, valSize: o.valSize, timeoutMs: o.timeoutMs, signal: o.signal });
  let watch: LeaderWatch | null = null;
  try {
    await clients.ready();
    await clients.seedProbe();
    clients.startWriters(o.writers);
    clients.startProbe(others, members.find((m) => m.name === old.name)!, Math.min(o.timeoutMs, 1000));
    await sleep(o.preMs);
    if (o.signal?.aborted) throw new Error("interrupted");
    o.onProgress?.(`${o.scenario}: leader ${old.name}`);
    watch = new LeaderWatch(members, old);
    const t0 = performance.now();
    const firstOkAfter = () => clients.outcomes.find((x) => x.ok && x.start >= t0);
    const w = watch;
    const recovered = () => firstOkAfter() !== undefined && (o.scenario === "partition-flap" || w.newLeaderAt !== null);
    const { cuts, healedAt } = await fault(parts, o, old.name, others.map((m) => m.name), recovered);
    clients.stopProbing();
    await sleep(o.postMs);
    await watch.stop();
    await clients.stop();
    await control.waitHealthy();
    const restoredAt = performance.now();
    const { lost, verified } = await verifyAcked(target, o.keyPrefix, clients.acked, o.timeoutMs);
    return trialResult(o, { startedAt, old, watch, clients, t0, healedAt, restoredAt, cuts, lost, verified, firstOk: firstOkAfter() });
  } finally {
    parts.healAll();
    await watch?.stop();
    await clients.stop();
    clients.close();
  }
}

interface Measured {
  startedAt: string;
  old: LeaderInfo;
  watch: LeaderWatch;
  clients: PartitionClients;
  t0: number;
  healedAt: number;
  restoredAt: number;
  cuts: string[];
  lost: number;
  verified: number;
  firstOk: { end: number } | undefined;
}

function trialResult(o: PartitionOptions, m: Measured): FailoverTrial {
  const { clients, t0, watch } = m;
  const rel = (x: number | null) => (x === null ? null : Math.round(x - t0));
  const fails = clients.outcomes.filter((x) => !x.ok && x.end >= t0);
  const timeline = buildTimeline(clients.outcomes, t0, o.preMs, o.bucketMs ?? 100);
  timeline.marks = [{ label: "fault", atMs: 0 }];
  if (watch.newLeaderAt !== null) timeline.marks.push({ label: "new leader", atMs: rel(watch.newLeaderAt)! });
  if (m.firstOk) timeline.marks.push({ label: "first write", atMs: rel(m.firstOk.end)! });
  timeline.marks.push({ label: "healed", atMs: rel(m.healedAt)! }, { label: "restored", atMs: rel(m.restoredAt)! });
  const during = clients.probeReads.filter((r) => r.start >= t0);
  const stale = findStaleReads(clients.probeReads, clients.probeWrites);
  const action = o.scenario === "partition-flap" ? `flap ${o.flaps}× (${o.partitionMs} ms cut, ${o.flapUpMs} ms up)` : `${m.cuts.join(" ")} for ${Math.round(m.healedAt - t0)} ms`;
  return {
    kind: "failover",
    trial: o.trial,
    scenario: o.scenario,
    startedAt: m.startedAt,
    victim: { name: m.old.name, role: "leader" },
    action,
    oldLeader: m.old.name,
    newLeader: watch.newLeader ?? m.old.name,
    leaderChanged: watch.newLeader !== null,
    timeToNewLeaderMs: rel(watch.newLeaderAt),
    timeToFirstWriteMs: m.firstOk ? rel(m.firstOk.end) : null,
    errorWindowMs: fails.length ? Math.round(Math.max(...fails.map((x) => x.end)) - Math.min(...fails.map((x) => x.end))) : 0,
    sent: clients.outcomes.length,
    acked: clients.acked.size,
    failed: clients.outcomes.filter((x) => !x.ok && !x.timeout).length,
    timedOut: clients.outcomes.filter((x) => x.timeout).length,
    lost: m.lost,
    verifiedKeys: m.verified,
    recoveryMs: rel(m.restoredAt),
    timeline,
    ...(Object.keys(clients.errorKinds).length ? { errorKinds: clients.errorKinds } : {}),
    partition: {
      cuts: m.cuts,
      heldMs: Math.round(m.healedAt - t0),
      flaps: o.scenario === "partition-flap" ? o.flaps : null,
      leaders: [...watch.seen],
      oldLeaderReads: {
        sent: during.length,
        ok: during.filter((r) => r.ok).length,
        failed: during.filter((r) => !r.ok && !r.timeout).length,
        timedOut: during.filter((r) => r.timeout).length,
        stale: stale.length,
      },
      staleExamples: stale.slice(0, 5).map((s) => ({ readRevision: s.readRevision, ackedRevision: s.ackedRevision, readValue: s.readValue, atMs: Math.round(s.start - t0) })),
    },
  };
}
