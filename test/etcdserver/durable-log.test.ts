/**
 * The leader's saves after its early send (raft-loop.ts StableStorage `afterSend`): a synced one of
 * several entries goes through the thread pool (`inline: false`), so the loop reads requests and
 * acknowledgements while the leader's fdatasync runs; a synced one of a sole entry is inline (its
 * appends are already in the kernel, and nothing else waits for the loop); an unsynced one (the
 * commit index) is inline, since its pool round trip sat between "committed" and "applied" on every
 * put. A follower's save is inline.
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
  test("a synced save of several entries goes through the pool; a sole entry's, the commit index's and a follower's are inline; call order holds", async () => {
    const events: string[] = [];
    const log = new DurableLog(recorder(events), {} as Snapshotter);
    const next = { ...entry, index: 7 } as Entry;
    const saves = [log.save(hs, [entry, next], true, true), log.save(hs, [entry], true, true), log.save(hs, [], false, true), log.save(hs, [entry, next], true, false)];
    await Promise.all(saves);
    assert.deepEqual(events, ["save 2 sync=true inline=false", "save 1 sync=true inline=true", "save 0 sync=false inline=true", "save 2 sync=true inline=true"]);
  });
});
