/**
 * The linearizability checker on hand-written histories: what it must accept (concurrent
 * interleavings, unknown outcomes) and what it must reject (stale reads, lost writes, values never
 * written, non-atomic cas, reads seeing writes in opposite orders), and how it explains a violation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkHistory } from "./checker.js";
import { cas, del, failed, get, put } from "./helpers.js";
import type { CheckResult, HistoryEntry } from "./types.js";

function accepts(h: HistoryEntry[], why = ""): void {
  const r = checkHistory(h);
  assert.equal(r.ok, true, `expected linearizable${why ? ` (${why})` : ""}, got ${JSON.stringify(r, null, 1)}`);
}

function rejects(h: HistoryEntry[], why = ""): Extract<CheckResult, { ok: false }> {
  const r = checkHistory(h);
  assert.equal(r.ok, false, `expected a violation${why ? ` (${why})` : ""}, got ${JSON.stringify(r)}`);
  return r as Extract<CheckResult, { ok: false }>;
}

describe("accepts valid histories", () => {
  it("sequential put / get / delete / cas", () => {
    accepts([
      get(1, 0, 1, "x", null),
      put(1, 2, 3, "x", "a"),
      get(1, 4, 5, "x", "a"),
      cas(1, 6, 7, "x", "b", "c", false),
      cas(1, 8, 9, "x", "a", "b", true),
      get(1, 10, 11, "x", "b"),
      del(1, 12, 13, "x", 1),
      del(1, 14, 15, "x", 0),
      get(1, 16, 17, "x", null),
      cas(1, 18, 19, "x", null, "d", true), // create-if-absent (CREATE == 0)
      cas(1, 20, 21, "x", null, "e", false),
      get(1, 22, 23, "x", "d"),
    ]);
  });

  it("a get overlapping a put may see the old or the new value; before/after it sees exactly one", () => {
    const base = [put(1, 0, 5, "x", "old"), put(2, 10, 20, "x", "new")];
    // [call, return] of the get relative to the put's [10, 20], and which values it may return
    const placements: [number, number, (string | null)[]][] = [
      [6, 9, ["old"]],
      [6, 10, ["old", "new"]], // touching intervals count as concurrent
      [6, 12, ["old", "new"]],
      [12, 18, ["old", "new"]],
      [15, 30, ["old", "new"]],
      [20, 30, ["old", "new"]],
      [21, 30, ["new"]],
    ];
    for (const [c, r, ok] of placements) {
      for (const v of ["old", "new", null, "other"]) {
        const h = [...base, get(3, c, r, "x", v)];
        const why = `get [${c}, ${r}] -> ${v}`;
        if (ok.includes(v)) accepts(h, why);
        else rejects(h, why);
      }
    }
  });

  it("concurrent puts may take effect in either order, but every reader sees the same order", () => {
    const puts = [put(1, 0, 10, "x", "1"), put(2, 2, 12, "x", "2"), put(3, 4, 14, "x", "3")];
    for (const order of [["1", "2", "3"], ["3", "1", "2"], ["2", "3", "1"], ["3", "2", "1"]]) {
      // reads during the puts see a prefix of one order, and a read afterwards sees its last value
      const h = [
        ...puts,
        get(4, 1, 5, "x", order[0]!),
        get(4, 6, 8, "x", order[1]!),
        get(5, 8, 11, "x", order[1]!),
        get(5, 15, 16, "x", order[2]!),
        get(4, 17, 18, "x", order[2]!),
      ];
      accepts(h, order.join(" < "));
    }
    // a read before any put returned may still see nothing
    accepts([...puts, get(4, 1, 3, "x", null), get(5, 13, 20, "x", "2")]);
  });

  it("concurrent cas ops: exactly one of two competing cas on the same value succeeds", () => {
    accepts([put(1, 0, 1, "x", "0"), cas(2, 2, 10, "x", "0", "a", true), cas(3, 3, 9, "x", "0", "b", false), get(1, 11, 12, "x", "a")]);
    accepts([put(1, 0, 1, "x", "0"), cas(2, 2, 10, "x", "0", "a", false), cas(3, 3, 9, "x", "0", "b", true), get(1, 11, 12, "x", "b")]);
  });

  it("unknown-outcome writes that did take effect (even after the client gave up)", () => {
    accepts([put(1, 0, 1, "x", "1"), put(2, 2, undefined, "x", "2"), get(3, 3, 4, "x", "2")]);
    // took effect long after the timeout: old value first, then the new one
    accepts([put(1, 0, 1, "x", "1"), put(2, 2, undefined, "x", "2"), get(3, 5, 6, "x", "1"), get(3, 500, 501, "x", "2")]);
    accepts([put(1, 0, 1, "x", "1"), del(2, 2, undefined, "x"), get(3, 5, 6, "x", null)]);
    accepts([put(1, 0, 1, "x", "1"), cas(2, 2, undefined, "x", "1", "2"), get(3, 5, 6, "x", "2")]);
  });

  it("unknown-outcome writes that never took effect", () => {
    accepts([put(1, 0, 1, "x", "1"), put(2, 2, undefined, "x", "2"), get(3, 3, 4, "x", "1"), get(3, 1000, 1001, "x", "1")]);
    accepts([put(1, 0, 1, "x", "1"), del(2, 2, undefined, "x"), cas(2, 3, undefined, "x", "1", "9"), get(3, 10, 11, "x", "1")]);
  });

  it("an unknown cas only takes effect if its compare holds", () => {
    rejects([put(1, 0, 1, "x", "1"), cas(2, 2, undefined, "x", "0", "2"), get(3, 5, 6, "x", "2")]);
  });

  it("definitely failed ops are dropped, reads of unknown outcome constrain nothing", () => {
    accepts([put(1, 0, 1, "x", "1"), failed(put(2, 2, 3, "x", "2")), get(3, 4, 5, "x", "1")]);
    rejects([put(1, 0, 1, "x", "1"), failed(put(2, 2, 3, "x", "2")), get(3, 4, 5, "x", "2")], "read of a failed write");
    const lostRead: HistoryEntry = { clientId: 3, op: "get", input: { key: "x" }, call: 4, return: undefined, outcome: "unknown" };
    accepts([put(1, 0, 1, "x", "1"), lostRead]);
  });

  it("delete counts must match the state", () => {
    rejects([del(1, 0, 1, "x", 1)]);
    rejects([put(1, 0, 1, "x", "a"), del(1, 2, 3, "x", 0)]);
    accepts([put(1, 0, 10, "x", "a"), del(2, 2, 3, "x", 0), del(2, 11, 12, "x", 1)]);
  });
});

describe("rejects violations", () => {
  it("a stale read: a get returns an old value after a later put completed before it began", () => {
    const r = rejects([put(1, 0, 10, "x", "1"), put(2, 20, 30, "x", "2"), get(3, 40, 50, "x", "1")]);
    assert.equal(r.key, "x");
    assert.deepEqual(r.windowOps, [1, 2]); // put "2" then the stale get: the first put is not needed
    assert.match(r.explanation, /#1 +client 2 +\[20\.000, 30\.000\] +put\("x", "2"\)/);
    assert.match(r.explanation, /#2 +client 3 +\[40\.000, 50\.000\] +get\("x"\) -> "1" +<- cannot be linearized/);
    assert.match(r.explanation, /"1": written by #0 put \[0\.000, 10\.000\] \(outside the window\)/);
  });

  it("a lost write: an acknowledged put never visible, later reads return the old value", () => {
    const r = rejects([
      put(1, 0, 10, "x", "old"),
      put(2, 20, 30, "x", "new"),
      get(3, 25, 35, "x", "old"), // concurrent with the put: fine on its own
      get(3, 40, 50, "x", "old"),
      get(1, 60, 70, "x", "old"),
    ]);
    assert.ok(r.windowOps.includes(1) && r.windowOps.includes(3), r.explanation);
  });

  it("a read of a value never written", () => {
    const r = rejects([put(1, 0, 10, "x", "1"), put(2, 5, 15, "x", "2"), get(3, 6, 20, "x", "ghost")]);
    assert.match(r.explanation, /"ghost": never written/);
    rejects([get(1, 0, 1, "x", "ghost")], "from the initial (absent) state");
  });

  it("a non-atomic cas: two cas on the same expected value both succeed", () => {
    const r = rejects([put(1, 0, 1, "x", "0"), cas(2, 2, 10, "x", "0", "a", true), cas(3, 3, 9, "x", "0", "b", true)]);
    assert.deepEqual(r.windowOps, [1, 2]);
    // read-modify-write increments losing an update
    rejects([
      put(1, 0, 1, "n", "0"),
      get(1, 2, 3, "n", "0"),
      get(2, 2, 3, "n", "0"),
      cas(1, 4, 6, "n", "0", "1", true),
      cas(2, 5, 7, "n", "0", "1'", true),
    ]);
  });

  it("two readers see two writes in opposite orders", () => {
    rejects([
      put(1, 0, 100, "x", "1"),
      put(2, 0, 100, "x", "2"),
      get(3, 10, 20, "x", "1"),
      get(3, 30, 40, "x", "2"),
      get(4, 10, 20, "x", "2"),
      get(4, 30, 40, "x", "1"),
    ]);
  });

  it("an unknown write cannot be seen and then un-seen", () => {
    rejects([put(1, 0, 1, "x", "1"), put(2, 2, undefined, "x", "2"), get(3, 5, 6, "x", "2"), get(3, 7, 8, "x", "1")]);
  });

  it("checks keys independently and reports the violating one", () => {
    const h = [
      put(1, 0, 10, "a", "1"),
      put(2, 0, 10, "b", "1"),
      get(1, 11, 12, "a", "1"),
      put(2, 11, 12, "b", "2"),
      get(3, 13, 14, "b", "1"),
      get(3, 15, 16, "a", "1"),
    ];
    const r = rejects(h);
    assert.equal(r.key, "b");
    assert.deepEqual(r.windowOps, [3, 4]);
    assert.match(r.explanation, /violation on key "b"/);
  });

  it("shrinks a long history to the few ops that show the violation", () => {
    const h: HistoryEntry[] = [];
    let t = 0;
    for (let i = 0; i < 200; i++) {
      h.push(put(i % 3, t, t + 5, "x", `v${i}`), get((i + 1) % 3, t + 1, t + 6, "x", i % 2 || i === 0 ? `v${i}` : `v${i - 1}`));
      t += 10;
    }
    h[301] = get(1, 1501, 1506, "x", "v17"); // stale
    const r = rejects(h);
    assert.ok(r.windowOps.length <= 4, r.explanation);
    assert.ok(r.windowOps.includes(301), r.explanation);
  });
});

describe("budget and input errors", () => {
  // 12 concurrent puts, then two reads seeing two different values: the search must try every
  // order of the puts before it can tell.
  const hard = (key: string): HistoryEntry[] => [
    ...Array.from({ length: 12 }, (_, i) => put(i, 0, 100, key, `v${i}`)),
    get(99, 101, 102, key, "v0"),
    get(99, 103, 104, key, "v1"),
  ];

  it("gives up with 'unknown' (naming the key) when a key exceeds its step budget", () => {
    const r = checkHistory(hard("k"), { maxStepsPerKey: 500 });
    assert.equal(r.ok, "unknown");
    assert.ok(r.ok === "unknown" && r.keys.includes("k") && /"k"/.test(r.reason), JSON.stringify(r));
  });

  it("a violation on another key still wins over 'unknown'", () => {
    const r = checkHistory([...hard("k"), put(1, 0, 1, "z", "1"), get(1, 2, 3, "z", "2")], { maxStepsPerKey: 500 });
    assert.equal(r.ok, false);
    assert.ok(r.ok === false && r.key === "z");
  });

  it("finds a local violation in windows when the whole key is over budget", () => {
    const long = (stale: boolean): HistoryEntry[] => {
      const h: HistoryEntry[] = [];
      for (let i = 0, t = 0; i < 1000; i++, t += 10) {
        h.push(put(i % 3, t, t + 5, "x", `v${i}`), get((i + 1) % 3, t + 6, t + 8, "x", `v${i}`));
      }
      if (stale) h[1501] = get(2, 7506, 7508, "x", "v700");
      return h;
    };
    const budget = { maxStepsPerKey: 1500 }; // the 2,000-op key needs more; a 200-op window does not
    assert.equal(checkHistory(long(false), budget).ok, "unknown");
    const r = checkHistory(long(true), budget);
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.ok(r.ok === false && r.windowOps.includes(1501), r.ok === false ? r.explanation : "");
  });

  it("and finds it with the default budget", () => {
    rejects(hard("k"));
  });

  it("rejects malformed entries with the entry index", () => {
    assert.throws(() => checkHistory([put(1, 5, 4, "x", "1")]), /history\[0\].*before call/);
    assert.throws(() => checkHistory([put(1, 0, 1, "x", "1"), { ...get(1, 2, 3, "x", null), output: undefined } as never]), /history\[1\]/);
    assert.throws(() => checkHistory([{ ...del(1, 2, 3, "x", 1), output: 2 } as never]), /deleted count/);
  });
});
