/** HistoryRecorder (what clients call around requests) and findLostWrites (the direct message). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkHistory } from "./checker.js";
import { cas, del, failed, get, put } from "./helpers.js";
import { findLostWrites } from "./lost-writes.js";
import { HistoryRecorder } from "./recorder.js";

/** A fake clock: every reading advances by 1. */
function ticking(): () => number {
  let t = 0;
  return () => ++t;
}

describe("HistoryRecorder", () => {
  it("records calls, returns, outputs and outcomes", () => {
    const rec = new HistoryRecorder(ticking());
    const a = rec.begin("c1", "put", { key: "k", value: "1" }); // call 1
    const b = rec.begin("c2", "get", { key: "k" }); // call 2
    rec.end(a); // return 3
    rec.end(b, "1"); // return 4
    const c = rec.begin("c1", "cas", { key: "k", expected: "1", value: "2" });
    rec.fail(c, "unknown");
    const d = rec.begin("c2", "delete", { key: "k" });
    rec.fail(d, "definite");
    const e = rec.begin("c3", "get", { key: "k" }); // never ends: the client was killed
    assert.equal(rec.pending, 1);
    assert.equal(rec.size, 5);
    void e;
    assert.deepEqual(rec.history(), [
      { clientId: "c1", op: "put", input: { key: "k", value: "1" }, call: 1, return: 3, outcome: "ok" },
      { clientId: "c2", op: "get", input: { key: "k" }, call: 2, return: 4, output: "1", outcome: "ok" },
      { clientId: "c1", op: "cas", input: { key: "k", expected: "1", value: "2" }, call: 5, return: 6, outcome: "unknown" },
      { clientId: "c2", op: "delete", input: { key: "k" }, call: 7, return: 8, outcome: "failed" },
      { clientId: "c3", op: "get", input: { key: "k" }, call: 9, return: undefined, outcome: "unknown" },
    ]);
    assert.equal(checkHistory(rec.history()).ok, true);
  });

  it("refuses to resolve an op twice", () => {
    const rec = new HistoryRecorder(ticking());
    const t = rec.begin(1, "delete", { key: "k" });
    rec.end(t, 0);
    assert.throws(() => rec.end(t, 1), /already ok/);
    assert.throws(() => rec.fail(t, "unknown"), /already ok/);
    assert.throws(() => rec.end(99 as typeof t, 0), /unknown token/);
  });

  it("copies inputs, and uses performance.now() by default", () => {
    const rec = new HistoryRecorder();
    const input = { key: "k", value: "1" };
    const t = rec.begin(1, "put", input);
    input.value = "changed";
    rec.end(t);
    const [e] = rec.history();
    assert.equal(e!.op === "put" && e!.input.value, "1");
    assert.ok(e!.return! >= e!.call && e!.call > 0);
  });

  it("records concurrent async clients into a checkable history", async () => {
    const rec = new HistoryRecorder();
    const store = new Map<string, string>();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // a trivially linearizable in-memory "server": each request applies at a random moment
    const client = async (id: number) => {
      for (let i = 0; i < 15; i++) {
        if (i % 3 === 0) {
          const t = rec.begin(id, "put", { key: "k", value: `${id}.${i}` });
          await sleep(Math.random() * 2);
          store.set("k", `${id}.${i}`);
          await sleep(Math.random() * 2);
          rec.end(t);
        } else {
          const t = rec.begin(id, "get", { key: "k" });
          await sleep(Math.random() * 2);
          const v = store.get("k") ?? null;
          await sleep(Math.random() * 2);
          rec.end(t, v);
        }
      }
    };
    await Promise.all([client(1), client(2), client(3)]);
    const r = checkHistory(rec.history());
    assert.equal(r.ok, true, JSON.stringify(r));
  });
});

describe("findLostWrites", () => {
  it("reports an acknowledged last write missing from the final state", () => {
    const h = [put(1, 0, 10, "x", "old"), put(2, 20, 30, "x", "new"), get(3, 40, 50, "x", "old")];
    const lost = findLostWrites(h, { x: "old" });
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.kind, "lost-write");
    assert.equal(lost[0]!.index, 1);
    assert.equal(lost[0]!.expected, "new");
    assert.equal(lost[0]!.found, "old");
    assert.match(lost[0]!.message, /lost write on key "x": acknowledged put\("x", "new"\) \(#1, client 2, \[20\.000, 30\.000\]\).*returned "old"/);
    // and the checker agrees, given the final read
    assert.equal(checkHistory(h).ok, false);
  });

  it("is satisfied by the last write, or one that may come after it", () => {
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), put(1, 2, 3, "x", "b")], new Map([["x", "b"]])), []);
    // concurrent puts: either may be last
    assert.deepEqual(findLostWrites([put(1, 0, 10, "x", "a"), put(2, 5, 15, "x", "b")], { x: "a" }), []);
    // a later write of unknown outcome may have overwritten it
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), put(2, 2, undefined, "x", "b")], { x: "b" }), []);
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), del(2, 2, undefined, "x")], {}), []);
    // delete, then absent: a key missing from the final reads is absent
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), del(1, 2, 3, "x", 1)], {}), []);
    // a cas that failed its compare wrote nothing; one that succeeded did
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), cas(1, 2, 3, "x", "z", "b", false)], { x: "a" }), []);
    assert.equal(findLostWrites([put(1, 0, 1, "x", "a"), cas(1, 2, 3, "x", "a", "b", true)], { x: "a" })[0]?.index, 1);
    // definitely failed writes are ignored: they neither explain a final value nor overwrite one
    assert.deepEqual(findLostWrites([put(1, 0, 1, "x", "a"), failed(put(1, 2, 3, "x", "b"))], { x: "a" }), []);
    const lost = findLostWrites([put(1, 0, 1, "x", "a"), failed(put(1, 2, 3, "x", "b"))], { x: "b" });
    assert.deepEqual(lost.map((l) => [l.kind, l.index]), [["lost-write", 0]]);
  });

  it("reports a final value no possible last write left", () => {
    const lost = findLostWrites([put(1, 0, 10, "x", "a"), put(2, 5, 15, "x", "b"), put(3, 0, 1, "x", "c")], { x: "c" });
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.kind, "unexplained-final-value");
    assert.match(lost[0]!.message, /returned "c"/);
    assert.equal(findLostWrites([get(1, 0, 1, "x", null)], { x: "ghost" }).length, 0); // no writes: not its business
    assert.equal(findLostWrites([put(1, 0, 1, "y", "a")], { y: "ghost" })[0]?.kind, "lost-write");
  });
});
