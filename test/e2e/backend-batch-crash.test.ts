import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Backend, BUCKET_KEY, BUCKET_META } from "../../server/backend/backend.js";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { grpcClient } from "../support/grpc-client.js";

interface Acked {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

/** What a member's backend file holds, read with the member stopped: its consistent index and newest revision. */
async function backendState(dataDir: string): Promise<{ consistentIndex: number; revision: number }> {
  const be = Backend.open(join(dataDir, "data", "member", "snap", "db"));
  try {
    const ci = be.bucket(BUCKET_META).get(Buffer.from("consistent_index"));
    let revision = 1;
    for (const { key } of be.bucket(BUCKET_KEY).getRange({ reverse: true, limit: 1 })) revision = Number(key.readBigUInt64BE(0));
    return { consistentIndex: ci ? Number(ci.readBigUInt64BE(0)) : 0, revision };
  } finally {
    await be.close();
  }
}

/**
 * A member holds its backend writes for up to 100 ms (etcd's backend batch interval) and commits them
 * as one lmdb transaction with the consistent index that covers them; the WAL, fsynced before apply,
 * is the durable record. kill -9 while writes are held: after restart the member replays from the
 * WAL exactly what the backend had not committed. A consistent index committed ahead of its data
 * would skip acknowledged writes; one behind it would apply entries twice (revisions shift).
 */
describe("kill -9 during held backend batches", () => {
  let m: MemberProcess | undefined;
  after(async () => m?.dispose());

  test("no acknowledged write is lost; revision and consistent index agree with the data after restart", async () => {
    m = await startMember("etcd-ts");
    const acked: Acked[] = [];
    let roundsWithHeldWrites = 0;
    for (let round = 0; round < 3; round++) {
      const kv = grpcClient(m.endpoint, "KV");
      let stop = false;
      const writer = async (w: number) => {
        for (let i = 0; !stop && i < 5000; i++) {
          const key = `k/r${round}/w${w}/${i}`;
          const value = `${key}@${round}`;
          try {
            const res = await kv.call<{ header: { revision: string } }>("Put", { key: Buffer.from(key), value: Buffer.from(value) });
            acked.push({ key, value, revision: Number(res.header.revision) });
          } catch {
            return; // the member died under us: outcome unknown, not acknowledged
          }
        }
      };
      const writers = Array.from({ length: 16 }, (_, w) => writer(w));
      await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 600)));
      await m.kill("SIGKILL");
      stop = true;
      await Promise.all(writers);
      kv.close();
      // The premise: acknowledged writes the backend file did not hold yet (held, or not yet committed).
      const atKill = await backendState(m.dataDir);
      const newestAcked = Math.max(0, ...acked.map((a) => a.revision));
      if (atKill.revision < newestAcked) roundsWithHeldWrites++;
      m = await startMember("etcd-ts", { dataDir: m.dataDir });
    }
    assert.ok(acked.length > 100, `only ${acked.length} writes were acknowledged`);
    assert.ok(roundsWithHeldWrites > 0, "no kill landed while acknowledged writes were held (the test proved nothing)");

    const kv = grpcClient(m.endpoint, "KV");
    const maintenance = grpcClient(m.endpoint, "Maintenance");
    let revision: number;
    let applied: number;
    try {
      const res = await kv.call<{ header: { revision: string }; kvs: Array<{ key: Buffer; value: Buffer; mod_revision: string; version: string }> }>("Range", {
        key: Buffer.from("k/"),
        range_end: Buffer.from("k0"),
      });
      const found = new Map(res.kvs.map((k) => [k.key.toString(), k]));
      for (const a of acked) {
        const kvp = found.get(a.key);
        assert.ok(kvp, `acknowledged key ${a.key} is missing after restart`);
        assert.equal(kvp.value.toString(), a.value);
        assert.equal(Number(kvp.mod_revision), a.revision, `${a.key} changed revision (an entry applied twice or skipped)`);
      }
      // Every put wrote a fresh key once: one revision each, no entry applied twice, none skipped.
      for (const k of res.kvs) assert.equal(Number(k.version), 1, `${k.key.toString()} was written more than once`);
      revision = Number(res.header.revision);
      assert.equal(revision, res.kvs.length + 1, "the revision counts exactly the puts applied");
      const st = await maintenance.call<{ raftAppliedIndex: string }>("Status", {});
      applied = Number(st.raftAppliedIndex);
    } finally {
      kv.close();
      maintenance.close();
    }
    // A clean stop commits what is held: the file's consistent index is the applied index, its newest revision the served one.
    await m.kill("SIGTERM");
    const stopped = await backendState(m.dataDir);
    assert.equal(stopped.consistentIndex, applied, "consistent index after a clean stop = the applied index");
    assert.equal(stopped.revision, revision, "newest revision in the file = the revision served");
  });
});
