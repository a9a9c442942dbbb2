/**
 * The leader's saves after its early send (raft-loop.ts StableStorage `afterSend`): a synced one
 * goes through the thread pool (`inline: false`), so the appends just handed to the transport leave
 * while the leader's fdatasync runs; an unsynced one (the commit index) is written inline, since its
 * pool round trip sat between "committed" and "applied" on every put. A follower's save is inline.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DurableLog } from "../../server/etcdserver/durable-log.js";
import type { Wal } from "../../server/wal/wal.js";
import type { Snapshotter } from "../../server/snap/snapshotter.js";
import type { Entry, HardState } from "../../server/raft/types.js";

function recorder(events: string[]): Wal {
  const wal = {
    save(_hs: HardState | undefined, entries: readonly Entry[], mustSync: boolean, opts?: { inline?: boolean }) {
      events.push(`save ${entries.length} sync=${mustSync} inline=${opts?.inline !== false}`);
      return Promise.resolve();
    },
  };
  return wal as unknown as Wal;
}

const hs = { term: 2n, vote: 1n, commit: 5 } as unknown as HardState;
const entry = { index: 6, term: 2n, type: 0, data: new Uint8Array(3) } as unknown as Entry;

describe("DurableLog.save after the leader's early send", () => {
  test("a synced save goes through the pool; the commit-index save and a follower's save are inline; call order holds", async () => {
    const events: string[] = [];
    const log = new DurableLog(recorder(events), {} as Snapshotter);
    const saves = [log.save(hs, [entry], true, true), log.save(hs, [], false, true), log.save(hs, [entry], true, false)];
    await Promise.all(saves);
    assert.deepEqual(events, ["save 1 sync=true inline=false", "save 0 sync=false inline=true", "save 1 sync=true inline=true"]);
  });
});
