import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Generation } from "../../server/mvcc/key-index.js";

/** The generation's revisions as plain arrays, for comparing with a model. */
const revs = (g: Generation) => g.mains().map((m, i) => [m, g.subAt(i)]);

describe("Generation (compact layout: first main inline, subs only once one is not 0)", () => {
  it("push, pop and dropBefore agree with plain arrays over a mixed sequence", () => {
    let seed = 7;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    for (let round = 0; round < 200; round++) {
      const g = new Generation();
      const model: number[][] = [];
      let main = 1;
      for (let step = 0; step < 12; step++) {
        const op = rnd(6);
        if (op < 4) {
          const sub = rnd(3) === 0 ? rnd(4) : 0;
          g.push(main, sub);
          model.push([main, sub]);
          main += 1 + rnd(3);
        } else if (op === 4) {
          g.pop();
          model.pop();
        } else {
          const from = rnd(model.length + 1);
          g.dropBefore(from);
          model.splice(0, from);
        }
        assert.equal(g.size, model.length);
        assert.equal(g.isEmpty(), model.length === 0);
        assert.deepEqual(revs(g), model);
        assert.ok(model.length === 0 ? Number.isNaN(g.lastMain()) : g.lastMain() === model.at(-1)![0]);
        const at = rnd(main + 1);
        let want = -1;
        model.forEach(([m], i) => {
          if (m! <= at) want = i;
        });
        assert.equal(g.newestAtOrBelow(at), want);
      }
    }
  });

  it("the constructor takes mains and subs as arrays", () => {
    assert.deepEqual(revs(new Generation(3, 5, 0, [5, 6, 7], [0, 2, 0])), [[5, 0], [6, 2], [7, 0]]);
    assert.deepEqual(revs(new Generation(1, 9, 0, [9], [0])), [[9, 0]]);
  });
});
