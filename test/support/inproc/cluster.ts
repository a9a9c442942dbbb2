/**
 * N etcd-ts members in one process: the real server (etcdserver, raft, WAL, MVCC, lmdb backend, on
 * files under a temporary directory), composed by embed/compose.ts as a process composes it, but
 * with a FakeNetwork for peer transport and a ManualClock each, moved together. Time moves only when
 * the test ticks; after every tick the cluster is run to quiescence (every Ready handled, every WAL
 * write finished, every message delivered), so what a test observes after `tick()` does not depend
 * on how fast the machine is. Nothing here sleeps. A member can be paused (as SIGSTOP: its clock
 * stands still, messages to it wait) and resumed (its timers fire once, the waiting messages arrive).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { parseConfig } from "../../../server/config/parse.js";
import type { MemberConfig } from "../../../server/config/member-config.js";
import { composeServer, type ServerEnvironment } from "../../../server/embed/compose.js";
import { clientServices } from "../../../server/embed/etcd.js";
import type { LeaseRequests } from "../../../server/etcdserver/requests/lease.js";
import { openMember, type OpenedMember } from "../../../server/etcdserver/bootstrap.js";
import type { StableStorage } from "../../../server/etcdserver/raft-loop.js";
import type { EtcdServer } from "../../../server/etcdserver/server.js";
import type { Logger } from "../../../server/log/logger.js";
import type { RawNode } from "../../../server/raft/raw-node.js";
import type { Ready } from "../../../server/raft/types.js";
import { ManualClock, settle } from "../manual-clock.js";
import { mulberry32 } from "../prng.js";
import { FakeNetwork } from "./network.js";
import { InprocLeaderLink } from "./leader-link.js";

export interface InprocOptions {
  /** Members (default 3). */
  readonly size?: number;
  /** --heartbeat-interval: one tick (default 100 ms). */
  readonly heartbeatMs?: number;
  /** --election-timeout (default 1000 ms: 10 ticks). */
  readonly electionMs?: number;
  /** Seeds raft's randomized election timeouts (default 1): the same seed, the same elections. */
  readonly seed?: number;
  /** More etcd flags for every member (e.g. --snapshot-count=...). */
  readonly flags?: readonly string[];
  /** pino level of the members' logs (default silent; "info" to debug a test). */
  readonly logLevel?: pino.LevelWithSilent;
}

export interface InprocMember {
  readonly name: string;
  readonly id: bigint;
  readonly config: MemberConfig;
  server: EtcdServer;
  /**
   * Its request layer's Lease service (embed/etcd.ts's clientServices, as gRPC serves it): on a
   * follower, keep-alive and time-to-live go to the leader over an InprocLeaderLink.
   */
  readonly leases: LeaseRequests;
  /** The links its lease service opened to leaders, in order (one per leader URL it forwarded to). */
  readonly leaderLinks: InprocLeaderLink[];
  /** This member's clock: the cluster's time, except while it is paused. */
  readonly clock: ManualClock;
  /** False between stop() and restart(). */
  running: boolean;
  /** Between pause() and resume(): no timer fires, nothing is delivered to it. */
  paused: boolean;
  /** How often the server asked to stop fatally (ServerEnvironment.fatal): a process would have exited. */
  readonly fatals: number;
  /** Its raft node has work to do (a Ready), or the raft loop is still handling one (persisting, installing a snapshot, applying). */
  hasReady(): boolean;
  /** WAL writes under way. */
  readonly persisting: Set<Promise<unknown>>;
  /** Between stallDisk() and resumeDisk(): WAL writes wait (a disk that does not answer). */
  readonly diskStalled: boolean;
}

/** Quiescence is given up on (an error, not a hang) after this many event-loop turns. */
const MAX_SETTLE_TURNS = 1_000_000;

export class InprocCluster {
  /** The cluster's time (the network's; every running member's clock but a paused one's). */
  readonly clock = new ManualClock();
  readonly net = new FakeNetwork(this.clock);
  readonly members: InprocMember[] = [];
  private readonly logger: Logger;
  /** Each member's disk gate (stallDisk). */
  private readonly disks = new WeakMap<InprocMember, Disk>();
  private ticks = 0;
  /** Members opened so far (each gets its own PRNG seed). */
  private opens = 0;

  private constructor(
    readonly dir: string,
    private readonly o: Required<Omit<InprocOptions, "flags" | "logLevel">> & Pick<InprocOptions, "flags">,
    logLevel: pino.LevelWithSilent,
  ) {
    this.logger = pino({ level: logLevel, base: null });
  }

  /** Starts the members and ticks until every one has published itself (is ready to serve). */
  static async start(options: InprocOptions = {}): Promise<InprocCluster> {
    const o = { size: 3, heartbeatMs: 100, electionMs: 1000, seed: 1, flags: options.flags, ...options };
    const c = new InprocCluster(mkdtempSync(join(tmpdir(), "etcdts-inproc-")), o, options.logLevel ?? "silent");
    try {
      const names = Array.from({ length: o.size }, (_, i) => `m${i + 1}`);
      const initialCluster = names.map((n, i) => `${n}=${peerUrlOf(i)}`).join(",");
      for (const [i, name] of names.entries()) {
        const config = parseConfig([
          `--name=${name}`,
          `--data-dir=${join(c.dir, name)}`,
          `--initial-cluster=${initialCluster}`,
          `--initial-advertise-peer-urls=${peerUrlOf(i)}`,
          `--advertise-client-urls=http://127.0.0.1:${32379 + i}`,
          `--heartbeat-interval=${o.heartbeatMs}`,
          `--election-timeout=${o.electionMs}`,
          ...(o.flags ?? []),
        ]).config;
        c.members.push(await c.open(name, config));
      }
      for (const m of c.members) m.server.start();
      await c.untilReady(c.members);
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  /** Ticks until each of `members` has published itself through raft (EtcdServer.readyNotify). */
  async untilReady(members: readonly InprocMember[]): Promise<void> {
    let ready = 0;
    for (const m of members) void m.server.readyNotify().then(() => ready++);
    await this.until(() => ready === members.length, 10 * this.electionTicks, `${members.map((m) => m.name).join(", ")} ready`);
  }

  /** Ticks since the cluster was made. */
  get elapsedTicks(): number {
    return this.ticks;
  }

  /** The election timeout in ticks. */
  get electionTicks(): number {
    return Math.round(this.o.electionMs / this.o.heartbeatMs);
  }

  /** etcd's request timeout (5 s + 2 election timeouts) in ticks. */
  get requestTimeoutTicks(): number {
    return Math.ceil((5000 + 2 * this.o.electionMs) / this.o.heartbeatMs);
  }

  member(name: string): InprocMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** The running member that leads in the highest term, if any. */
  leader(): InprocMember | undefined {
    const leaders = this.members.filter((m) => m.running && m.server.leader() === m.id);
    return leaders.sort((a, b) => b.server.status().raftTerm - a.server.status().raftTerm)[0];
  }

  followers(): InprocMember[] {
    const l = this.leader();
    return this.members.filter((m) => m.running && m !== l);
  }

  /** Advances time by `n` heartbeat intervals, running the cluster to quiescence after each. */
  async tick(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.ticks++;
      await this.clock.advance(this.o.heartbeatMs);
      for (const m of this.members) if (m.running && !m.paused) await m.clock.advance(this.o.heartbeatMs);
      this.net.onTick();
      await this.settle();
    }
  }

  /** Ticks until `cond` holds; throws after `maxTicks` (what a timeout in ticks, not seconds, says). */
  async until(cond: () => boolean, maxTicks: number, what: string): Promise<number> {
    await this.settle();
    for (let i = 0; i <= maxTicks; i++) {
      if (cond()) return i;
      if (i < maxTicks) await this.tick();
    }
    throw new Error(`not within ${maxTicks} ticks: ${what}`);
  }

  /** Ticks until `p` settles (at most `maxTicks`); returns its outcome, or "pending". */
  async outcome<T>(p: Promise<T>, maxTicks: number): Promise<{ state: "fulfilled"; value: T } | { state: "rejected"; error: unknown } | { state: "pending" }> {
    let result: { state: "fulfilled"; value: T } | { state: "rejected"; error: unknown } | undefined;
    p.then(
      (value) => (result = { state: "fulfilled", value }),
      (error: unknown) => (result = { state: "rejected", error }),
    );
    try {
      await this.until(() => result !== undefined, maxTicks, "the promise settles");
    } catch {
      return { state: "pending" };
    }
    return result!;
  }

  /** Runs to quiescence without moving time: no Ready left, no WAL write or message under way. */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < MAX_SETTLE_TURNS; turn++) {
      await settle();
      const writes = this.members.flatMap((m) => [...m.persisting]);
      if (writes.length > 0 || this.net.busy()) {
        quiet = 0;
        await Promise.allSettled(writes);
        await this.net.drainInFlight();
        continue;
      }
      // a member whose disk is stalled is stuck in its Ready until resumeDisk(): nothing to wait for
      if (this.members.some((m) => m.running && !m.paused && !m.diskStalled && m.hasReady())) {
        quiet = 0;
        continue;
      }
      // a few empty turns: promise chains that resolve on the next turn (proposals, reads) run too
      if (++quiet >= 3) return;
    }
    throw new Error(`no quiescence after ${MAX_SETTLE_TURNS} event-loop turns`);
  }

  /**
   * Pauses a member as SIGSTOP does: its clock stops, messages to it wait (as in its socket), and it
   * runs nothing until resume(). Requests a test makes to a paused member are the test's business.
   */
  async pause(name: string): Promise<void> {
    const m = this.member(name);
    await this.settle();
    m.paused = true;
    this.net.hold(m.id);
  }

  /** SIGCONT: the member's clock jumps to the cluster's (each due timer fires once), then the waiting messages arrive. */
  async resume(name: string): Promise<void> {
    const m = this.member(name);
    if (!m.paused) return;
    m.paused = false;
    await m.clock.jump(this.clock.now() - m.clock.now());
    this.net.release(m.id);
    await this.settle();
  }

  /**
   * From now on the member's WAL writes wait (its raft loop with them: it applies nothing more), as
   * on a disk that stopped answering, until resumeDisk(). Time and the network go on.
   */
  stallDisk(name: string): void {
    const disk = this.disks.get(this.member(name));
    if (disk && !disk.gate) disk.gate = new Promise((r) => (disk.open = r));
  }

  /** The writes that waited go on, in order (a stallDisk() right after stalls only the writes after them). */
  resumeDisk(name: string): void {
    const disk = this.disks.get(this.member(name));
    if (!disk?.gate) return;
    disk.open();
    disk.gate = undefined;
  }

  /** Stops a member gracefully (no leadership transfer: as a crash, as far as the others see). */
  async stopMember(name: string): Promise<void> {
    const m = this.member(name);
    if (!m.running) return;
    m.running = false;
    this.net.detach(m.id);
    this.resumeDisk(name);
    m.leases.close();
    await m.server.stop();
  }

  /** Starts a stopped member again on its data directory (WAL, snapshots, backend). */
  async restartMember(name: string): Promise<void> {
    const old = this.member(name);
    if (old.running) throw new Error(`${name} is running`);
    const m = await this.open(name, old.config);
    this.members[this.members.indexOf(old)] = m;
    m.server.start();
    await this.untilReady([m]);
  }

  /** Stops every member and removes the data directories. */
  async stop(): Promise<void> {
    for (const m of this.members) if (m.running) await this.stopMember(m.name);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async open(name: string, config: MemberConfig): Promise<InprocMember> {
    // one PRNG per member: its election timeouts do not depend on the order members draw in
    const rand = mulberry32(this.o.seed * 1000 + this.opens++);
    const opened = await openMember(config, this.logger.child({ member: name }), undefined, { randInt: (n) => Math.floor(rand() * n) });
    const persisting = new Set<Promise<unknown>>();
    const clock = new ManualClock(this.clock.now());
    const faults = { fatals: 0 };
    const env: ServerEnvironment = {
      clock,
      transport: this.net.transportFor(opened.memberId),
      fatal: () => void faults.fatals++,
      peerHashKV: async (peerUrl, rev) => {
        const peer = this.members.find((x) => x.running && x.config.initialAdvertisePeerUrls.includes(peerUrl));
        if (!peer || this.net.isCut(opened.memberId, peer.id)) throw new Error(`peer ${peerUrl} unreachable`);
        const h = peer.server.hashKV(rev);
        return { hash: h.hash, compactRevision: h.compactRevision, revision: h.rev };
      },
    };
    const readies = { open: 0 };
    const node = handlingReady(opened.node, readies);
    const disk: Disk = { gate: undefined, open: () => undefined };
    const server = composeServer(config, this.logger.child({ member: name }), { ...opened, node, stable: tracked(opened.stable, persisting, disk) }, env);
    const leaderLinks: InprocLeaderLink[] = [];
    const linkTo = (url: string) => {
      const link = new InprocLeaderLink(url, opened.memberId, this.net, clock, (u) => this.linkEnd(u));
      leaderLinks.push(link);
      return link;
    };
    const { leases } = clientServices(config, server, { clock, linkTo });
    const member: InprocMember = {
      name,
      id: opened.memberId,
      config,
      server,
      leases,
      leaderLinks,
      clock,
      running: true,
      paused: false,
      get fatals() {
        return faults.fatals;
      },
      hasReady: () => readies.open > 0 || opened.node.hasReady(),
      persisting,
      get diskStalled() {
        return disk.gate !== undefined;
      },
    };
    this.disks.set(member, disk);
    this.net.attach(opened.memberId, member.server.peers);
    return member;
  }

  /** The running member a lease request to `clientUrl` reaches. */
  private linkEnd(clientUrl: string) {
    const m = this.members.find((x) => x.running && x.config.advertiseClientUrls.includes(clientUrl));
    return m && { id: m.id, leases: m.leases, clock: m.clock, answers: () => m.running && !m.paused };
  }
}

function peerUrlOf(i: number): string {
  return `http://127.0.0.1:${32380 + i}`;
}

/** The raft node, counting Readies taken by the loop and not yet advanced (the loop awaits file I/O in between). */
function handlingReady(node: RawNode, readies: { open: number }): RawNode {
  return new Proxy(node, {
    get(target, prop) {
      if (prop === "ready")
        return () => {
          const rd = target.ready();
          readies.open++;
          return rd;
        };
      if (prop === "advance")
        return (rd: Ready) => {
          readies.open--;
          target.advance(rd);
        };
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A member's disk: while `gate` is set, WAL writes wait for it. */
interface Disk {
  gate: Promise<void> | undefined;
  open: () => void;
}

/**
 * The WAL with its writes counted while under way, so that settle() can wait for them; a write made
 * while the disk is stalled waits for the gate first (not counted: settle() must not wait for it).
 */
function tracked(inner: OpenedMember["stable"], persisting: Set<Promise<unknown>>, disk: Disk): StableStorage {
  const track = <T>(write: () => Promise<T>): Promise<T> => {
    const go = () => {
      const p = write();
      persisting.add(p);
      void p.finally(() => persisting.delete(p)).catch(() => undefined);
      return p;
    };
    // a write that waited goes on when its gate opens, even if the disk is stalled again right after
    return disk.gate ? disk.gate.then(go) : go();
  };
  return {
    save: (hs, entries, mustSync) => track(() => inner.save(hs, entries, mustSync)),
    saveSnapshot: (s) => track(() => inner.saveSnapshot(s)),
  };
}
