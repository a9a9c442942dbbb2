/**
 * The leader's synced save after its early send (raft-loop.ts StableStorage `afterSend`): it lets
 * one event-loop turn pass before the WAL's inline write + fdatasync, so what the transport was just
 * handed (Node's http2 writes it in the check phase) leaves before the loop blocks on the disk. An
 * unsynced save (a commit index) does not wait, and saves stay in call order either way.
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

const hs: HardState = { term: 2n, vote: 1n, commit: 5 } as unknown as HardState;
const entry = { index: 6, term: 2n, type: 0, data: new Uint8Array(3) } as unknown as Entry;

describe("DurableLog.save after the leader's early send", () => {
  test("a synced save waits one turn: an immediate queued before it (the http2 write) runs first", async () => {
    const events: string[] = [];
    const log = new DurableLog(recorder(events), {} as Snapshotter);
    setImmediate(() => events.push("socket write"));
    await log.save(hs, [entry], true, true);
    assert.deepEqual(events, ["socket write", "save 1 sync=true inline=true"]);
  });

  test("an unsynced save (commit index only) and a follower's save do not wait", async () => {
    const events: string[] = [];
    const log = new DurableLog(recorder(events), {} as Snapshotter);
    setImmediate(() => events.push("socket write"));
    await log.save(hs, [], false, true);
    await log.save(hs, [entry], true, false);
    events.push("loop turn");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ["save 0 sync=false inline=true", "save 1 sync=true inline=true", "loop turn", "socket write"]);
  });

  test("saves keep call order when one waits for a turn", async () => {
    const events: string[] = [];
    const log = new DurableLog(recorder(events), {} as Snapshotter);
    const a = log.save(hs, [entry], true, true);
    const b = log.save(hs, [], false, false);
    await Promise.all([a, b]);
    assert.deepEqual(events, ["save 1 sync=true inline=true", "save 0 sync=false inline=true"]);
  });
});
