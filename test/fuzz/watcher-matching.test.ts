/**
 * The watcher group's interval index finds exactly the watchers the former linear scan found: after
 * any sequence of adds and removes of single-key, range, prefix and from-key watchers (keys over a
 * small byte alphabet with 0x00 and 0xff, so ranges share ends, nest and touch), every key gets the
 * same watchers, each once.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzParams } from "./settings.js";
import { Watcher } from "../../server/watch/watcher.js";
import { WatcherGroup } from "../../server/watch/watcher-group.js";
import type { WatchStream } from "../../server/watch/watchable-store.js";

/** The matching as it was before the interval index: a map for single keys, a scan of every range watcher. */
class LinearGroup {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  add(w: Watcher): void {
    if (w.isRange()) this.ranges.add(w);
    else {
      let s = this.byKey.get(w.key);
      if (!s) this.byKey.set(w.key, (s = new Set()));
      s.add(w);
    }
  }
  delete(w: Watcher): void {
    if (w.isRange()) this.ranges.delete(w);
    else this.byKey.get(w.key)?.delete(w);
  }
  forEachWatching(k: string, f: (w: Watcher) => void): void {
    const s = this.byKey.get(k);
    if (s) for (const w of s) f(w);
    for (const w of this.ranges) if (w.contains(k)) f(w);
  }
}

/** etcd's clientv3.GetPrefixRangeEnd, on latin1 strings: "" (from key, "\0") when there is no end. */
function prefixEnd(p: string): string {
  for (let i = p.length - 1; i >= 0; i--) {
    const c = p.charCodeAt(i);
    if (c < 0xff) return p.slice(0, i) + String.fromCharCode(c + 1);
  }
  return "";
}

const byte = fc.constantFrom(0x00, 0x01, 0x61, 0x62, 0x7f, 0xfe, 0xff);
const key = fc.array(byte, { maxLength: 4 }).map((bs) => Buffer.from(bs).toString("latin1"));

type Spec = { kind: "single" | "from"; key: string } | { kind: "prefix"; key: string } | { kind: "range"; key: string; end: string };
const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constant("single" as const), key }),
  fc.record({ kind: fc.constant("from" as const), key }),
  fc.record({ kind: fc.constant("prefix" as const), key }),
  fc.record({ kind: fc.constant("range" as const), key, end: key }),
);
const op = fc.oneof({ weight: 3, arbitrary: spec.map((s) => ({ add: s })) }, { weight: 1, arbitrary: fc.nat().map((i) => ({ remove: i })) });

const stream = undefined as unknown as WatchStream;
function watcherOf(s: Spec, id: number): Watcher {
  if (s.kind === "range") return new Watcher(id, stream, s.key, s.end, 1, false, false, false);
  const end = s.kind === "single" ? undefined : s.kind === "from" ? "" : prefixEnd(s.key);
  return new Watcher(id, stream, s.key, end, 1, false, false, false);
}

function matched(g: { forEachWatching(k: string, f: (w: Watcher) => void): void }, k: string): number[] {
  const ids: number[] = [];
  g.forEachWatching(k, (w) => ids.push(w.id));
  return ids.sort((a, b) => a - b);
}

describe("watcher matching: interval index = linear scan", () => {
  it("finds the same watchers for every key, each once, after any adds and removes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(key, { minLength: 1, maxLength: 20 }), (ops, queries) => {
        const group = new WatcherGroup();
        const linear = new LinearGroup();
        const live: Watcher[] = [];
        let id = 0;
        const check = () => {
          for (const k of [...queries, ...live.map((w) => w.key), ...live.map((w) => w.end ?? "")]) {
            const got = matched(group, k);
            assert.deepEqual(got, matched(linear, k), `key ${Buffer.from(k, "latin1").toString("hex")}`);
            assert.equal(new Set(got).size, got.length, "a watcher reported twice");
          }
        };
        for (const o of ops) {
          if ("add" in o) {
            const w = watcherOf(o.add, ++id);
            group.add(w);
            linear.add(w);
            live.push(w);
          } else if (live.length) {
            const [w] = live.splice(o.remove % live.length, 1);
            assert.equal(group.delete(w!), true);
            assert.equal(group.delete(w!), false, "removed twice");
            linear.delete(w!);
          }
          check();
        }
        assert.equal(group.size, live.length);
      }),
      fuzzParams(),
    );
  });

  it("many watchers on one range, and the same ranges added again after all were removed", () => {
    const group = new WatcherGroup();
    const ws = Array.from({ length: 100 }, (_, i) => watcherOf({ kind: "prefix", key: "a" }, i));
    for (const w of ws) group.add(w);
    assert.equal(matched(group, "ab").length, 100);
    assert.equal(matched(group, "b").length, 0);
    for (const w of ws) group.delete(w);
    assert.equal(matched(group, "ab").length, 0);
    group.add(ws[0]!);
    assert.deepEqual(matched(group, "a\xff"), [0]);
  });
});
