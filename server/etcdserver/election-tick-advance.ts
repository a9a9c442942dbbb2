/**
 * etcd's adjustTicks for a member of several (--initial-election-tick-advance): once its peer
 * connections are up, a starting member fast-forwards its election clock to two ticks short of a
 * timeout, so a cluster that boots together elects a leader about one election timeout sooner.
 * A lone voter is handled by RaftEvents (it campaigns once its log is applied, flag or not).
 */
import type { Logger } from "../log/logger.js";
import type { Clock } from "../util/clock.js";
import { idToHex } from "../membership/ids.js";

/** etcd polls its peer connections every 50 ms for up to rafthttp.ConnReadTimeout (5 s). */
export const POLL_MS = 50;
export const WAIT_MS = 5_000;

export interface TickAdvanceDeps {
  readonly enabled: boolean;
  readonly memberId: bigint;
  readonly electionTicks: number;
  readonly tickMs: number;
  /** The voters as this member knows them at start. */
  readonly voters: () => readonly bigint[];
  /** Since when the stream to a peer is up (0: not up). */
  readonly activeSince: (id: bigint) => number;
  readonly tick: () => void;
  readonly kick: () => void;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Starts the wait for peers; returns a function that stops it (at shutdown). */
export function startElectionTickAdvance(d: TickAdvanceDeps): () => void {
  const voters = d.voters();
  if (voters.length <= 1) return () => undefined;
  if (!d.enabled) {
    d.logger.info({ "election-ticks": d.electionTicks }, "skipping initial election tick advance");
    return () => undefined;
  }
  d.logger.info({ "election-ticks": d.electionTicks }, "starting initial election tick advance");
  let polls = 0;
  const stop = d.clock.every(POLL_MS, () => {
    polls++;
    const active = voters.filter((id) => id !== d.memberId && d.activeSince(id) > 0).length;
    // etcd's condition, ActivePeers() > 1, kept as is
    if (active > 1) {
      stop();
      const ticks = d.electionTicks - 2;
      d.logger.info(
        { "local-member-id": idToHex(d.memberId), "forward-ticks": ticks, "forward-duration": `${ticks * d.tickMs}ms`, "election-ticks": d.electionTicks },
        "initialized peer connections; fast-forwarding election ticks",
      );
      for (let i = 0; i < ticks; i++) d.tick();
      d.kick();
    } else if (polls * POLL_MS >= WAIT_MS) {
      stop();
    }
  });
  return stop;
}
