/**
 * Linearizability under chaos: 6 gRPC clients (two per member to start with, each moving on to the
 * next member after an error) run put / linearizable get / cas (Txn comparing the value) on a few
 * keys for ~15 s, while a chaos loop kills -9 and restarts, or SIGSTOPs and SIGCONTs, one member at
 * a time (so a quorum always remains). The recorded history (timeouts and connection errors are
 * "unknown" outcomes) must pass test/linearizability's checkHistory, and a final read of every key
 * must show no acknowledged write lost.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkHistory, findLostWrites, HistoryRecorder } from "../linearizability/index.js";
import { downCluster, logsDir, upCluster, type LocalCluster } from "../support/launcher.js";
import { hostPort, isHealthy, rpc, sleep, waitConverged, waitLeader, type Rpc } from "../support/cluster-client.js";
import { mulberry32 } from "../support/prng.js";

const CLIENTS = 6;
const KEYS = ["lin/a", "lin/b", "lin/c", "lin/d", "lin/e"];
const RUN_MS = 15_000;
const OP_TIMEOUT_MS = 1000;
/** Bounds the whole load: no client sends more than this many ops. */
const MAX_OPS_PER_CLIENT = 3000;

// etcd's Compare enums.
const EQUAL = 0;
const CREATE = 1;
const VALUE = 3;


describe("linearizability of 3 etcd-ts members under kill -9 / SIGSTOP chaos", { timeout: 150_000 }, () => {
  const label = "linearizable";
  let cluster: LocalCluster;
  const channels: Rpc[] = [];

  before(async () => {
    cluster = await upCluster(label, { members: 3, server: "etcd-ts" });
  });
  after(async () => {
    channels.forEach((c) => c.close());
    await downCluster(cluster, label);
  });

  test("6 clients, put/get/cas on 5 keys for ~15 s with chaos: checkHistory ok, no acknowledged write lost", async (t) => {
    const seed = Number(process.env.LIN_CHAOS_SEED ?? Date.now() % 1_000_000);
    const rand = mulberry32(seed);
    t.diagnostic(`seed ${seed} (LIN_CHAOS_SEED=${seed} seeds the op and fault choices; timing still varies)`);
    const names = cluster.members.map((m) => m.name);
    const eps = cluster.endpoints().map(hostPort);
    await waitConverged(eps, 20_000);

    const rec = new HistoryRecorder();
    let stop = false;
    const counts = { ok: 0, unknown: 0, failedReads: 0 };

    const client = async (id: number) => {
      // One channel per member; the client starts on member id % 3 and moves to the next after an error.
      const kvs = eps.map((e) => {
        const c = rpc(e, "KV");
        channels.push(c);
        return c;
      });
      let at = id % eps.length;
      const lastSeen = new Map<string, string | null>();
      for (let seq = 0; seq < MAX_OPS_PER_CLIENT && !stop; seq++) {
        const kv = kvs[at]!;
        const key = KEYS[Math.floor(rand() * KEYS.length)]!;
        const value = `c${id}-${seq}`;
        const r = rand();
        try {
          if (r < 0.4) {
            const tok = rec.begin(id, "get", { key });
            try {
              const res = await kv.call<{ kvs: { value: Buffer }[] }>("Range", { key: Buffer.from(key) }, OP_TIMEOUT_MS);
              const v = res.kvs[0] ? res.kvs[0].value.toString() : null;
              rec.end(tok, v);
              lastSeen.set(key, v);
            } catch (e) {
              // A read that errored changed nothing: drop it.
              rec.fail(tok, "definite");
              counts.failedReads++;
              throw e;
            }
          } else if (r < 0.7) {
            const tok = rec.begin(id, "put", { key, value });
            try {
              await kv.call("Put", { key: Buffer.from(key), value: Buffer.from(value) }, OP_TIMEOUT_MS);
              rec.end(tok);
              lastSeen.set(key, value);
            } catch (e) {
              rec.fail(tok, "unknown");
              counts.unknown++;
              throw e;
            }
          } else {
            const expected = lastSeen.has(key) ? lastSeen.get(key)! : null;
            const tok = rec.begin(id, "cas", { key, expected, value });
            const compare =
              expected === null
                ? { result: EQUAL, target: CREATE, key: Buffer.from(key), create_revision: 0 }
                : { result: EQUAL, target: VALUE, key: Buffer.from(key), value: Buffer.from(expected) };
            try {
              const res = await kv.call<{ succeeded: boolean }>(
                "Txn",
                { compare: [compare], success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(value) } }], failure: [] },
                OP_TIMEOUT_MS,
              );
              rec.end(tok, res.succeeded);
              if (res.succeeded) lastSeen.set(key, value);
              else lastSeen.delete(key); // unknown now: read it again before the next cas
            } catch (e) {
              rec.fail(tok, "unknown");
              counts.unknown++;
              throw e;
            }
          }
          counts.ok++;
        } catch {
          at = (at + 1) % eps.length;
          await sleep(20);
        }
      }
    };

    const faults: string[] = [];
    const chaos = async () => {
      const t0 = Date.now();
      await sleep(1000);
      while (Date.now() - t0 < RUN_MS - 3000) {
        const victim = rand() < 0.5 ? ((await waitLeader(cluster, 5000).catch(() => undefined)) ?? names[0]!) : names[Math.floor(rand() * names.length)]!;
        const kind = rand() < 0.5 ? "kill" : "pause";
        const downMs = 1000 + Math.floor(rand() * 1500);
        faults.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${kind} ${victim} ${downMs}ms`);
        if (kind === "kill") {
          await cluster.kill(victim, "SIGKILL");
          await sleep(downMs);
          await cluster.start(victim);
        } else {
          await cluster.pause(victim);
          await sleep(downMs);
          await cluster.resume(victim);
        }
        // One fault at a time: wait for the victim to be back before the next one (bounded).
        const deadline = Date.now() + 15_000;
        while (!(await isHealthy(cluster.members.find((m) => m.name === victim)!.clientUrl)) && Date.now() < deadline) await sleep(100);
        await sleep(500 + Math.floor(rand() * 1000));
      }
    };

    const started = Date.now();
    const chaosDone = chaos();
    const clientsDone = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    while (Date.now() - started < RUN_MS) await sleep(100);
    stop = true;
    await Promise.all([chaosDone, clientsDone]);
    t.diagnostic(`faults: ${faults.join("; ")}`);

    // Heal: every member running and not paused, all at the same raft index.
    for (const m of cluster.members) {
      if (!m.running) await cluster.start(m.name);
      else if (m.paused) await cluster.resume(m.name);
    }
    await cluster.waitHealthy(undefined, 30_000);
    await waitConverged(eps, 30_000);

    // Final reads (linearizable, recorded in the history too).
    const finals = new Map<string, string | null>();
    const reader = rpc(eps[0]!, "KV");
    channels.push(reader);
    for (const key of KEYS) {
      const tok = rec.begin("final", "get", { key });
      const res = await reader.call<{ kvs: { value: Buffer }[] }>("Range", { key: Buffer.from(key) }, 5000);
      const v = res.kvs[0] ? res.kvs[0].value.toString() : null;
      rec.end(tok, v);
      finals.set(key, v);
    }

    const history = rec.history();
    const out = logsDir(label);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "history.json"), JSON.stringify({ seed, faults, history, finals: Object.fromEntries(finals) }));
    t.diagnostic(`${history.length} ops (${counts.ok} ok, ${counts.unknown} unknown-outcome writes, ${counts.failedReads} failed reads) in ${Date.now() - started} ms; history in ${out}/history.json`);
    assert.ok(faults.length >= 2, `the chaos loop injected faults (${faults.length})`);
    assert.ok(counts.ok >= 200, `the clients got work done (${counts.ok} ok ops)`);

    const lost = findLostWrites(history, finals);
    assert.deepEqual(lost.map((l) => l.message), [], "no acknowledged write lost");

    const t1 = Date.now();
    const result = checkHistory(history);
    t.diagnostic(`checkHistory in ${Date.now() - t1} ms: ${JSON.stringify(result.ok === false ? { ok: false, key: result.key } : result)}`);
    if (result.ok === false) assert.fail(`not linearizable (seed ${seed}; faults: ${faults.join("; ")}):\n${result.explanation}`);
    assert.equal(result.ok, true, result.ok === "unknown" ? `the checker gave up: ${result.reason}` : "");
  });
});
