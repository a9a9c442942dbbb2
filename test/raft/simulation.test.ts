/**
 * Randomized simulation runs (see sim/simulation.ts). Each run prints its seed on failure;
 * reproduce one with RAFT_SIM_SEED=<seed> RAFT_SIM_SIZE=<3|5> [RAFT_SIM_STEPS=n]
 * [RAFT_SIM_CONF=1] node --import tsx --test test/raft/simulation.test.ts
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSimulation, type SimOptions } from "./sim/simulation.js";

const STEPS = Number(process.env.RAFT_SIM_STEPS ?? 2000);

function run(o: SimOptions): void {
  try {
    const r = runSimulation(o);
    assert.ok(r.committed > 0);
  } catch (err) {
    const e = err as Error;
    e.message = `simulation failed: seed=${o.seed} size=${o.size} steps=${o.steps} confChanges=${o.confChanges ?? false}\n${e.message}`;
    throw e;
  }
}

describe("randomized simulation", () => {
  if (process.env.RAFT_SIM_SEED !== undefined) {
    const o: SimOptions = {
      seed: Number(process.env.RAFT_SIM_SEED),
      size: Number(process.env.RAFT_SIM_SIZE ?? 3) === 5 ? 5 : 3,
      steps: STEPS,
      confChanges: process.env.RAFT_SIM_CONF === "1",
    };
    it(`seed ${o.seed}`, () => run(o));
    return;
  }
  it("3 members", () => {
    for (let seed = 1; seed <= 16; seed++) run({ seed, size: 3, steps: STEPS });
  });
  it("5 members", () => {
    for (let seed = 101; seed <= 112; seed++) run({ seed, size: 5, steps: STEPS });
  });
  it("5 members with membership changes", () => {
    for (let seed = 201; seed <= 212; seed++) run({ seed, size: 5, steps: STEPS, confChanges: true });
  });
});
