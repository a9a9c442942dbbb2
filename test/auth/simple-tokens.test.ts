/**
 * The simple token provider on a ManualClock (its clock seam): a token lives --auth-token-ttl after
 * its last use, each use renews it, the sweeper (every second, on the clock) drops expired ones, and
 * disabling auth stops the sweeper and ends every token. No sleeps: time moves only by advance().
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SimpleTokens } from "../../server/auth/simple-tokens.js";
import { tokenProviderOf } from "../../server/auth/token-options.js";
import { ManualClock } from "../support/manual-clock.js";

const TTL_MS = 2000;
const applied = async (): Promise<void> => undefined;

function enabledTokens(clock: ManualClock): SimpleTokens {
  const t = new SimpleTokens(TTL_MS, clock);
  t.enabled();
  return t;
}

describe("simple tokens on an injected clock", () => {
  test("valid until --auth-token-ttl after its last use, then refused", async () => {
    const clock = new ManualClock();
    const t = enabledTokens(clock);
    t.assignSimple("alice", "abcdefghijklmnop.7");
    await clock.advance(TTL_MS);
    assert.deepEqual(await t.info("abcdefghijklmnop.7", 3, applied), { user: "alice", revision: 3 }, "at the TTL: still valid (and renewed)");
    await clock.advance(TTL_MS - 1);
    assert.equal((await t.info("abcdefghijklmnop.7", 3, applied))?.user, "alice", "the use renewed it");
    await clock.advance(TTL_MS + 1);
    assert.equal(await t.info("abcdefghijklmnop.7", 3, applied), undefined, "a TTL without use: refused");
    t.close();
  });

  test("the sweeper runs on the clock: an expired token is dropped within a second, without a use", async () => {
    const clock = new ManualClock();
    const t = enabledTokens(clock);
    t.assignSimple("alice", "abcdefghijklmnop.7");
    t.assignSimple("bob", "ponmlkjihgfedcba.8");
    await clock.advance(TTL_MS - 500);
    assert.equal((await t.info("ponmlkjihgfedcba.8", 1, applied))?.user, "bob"); // bob's renewed, alice's not
    await clock.advance(1500);
    // alice's expired 1000 ms ago: a sweep has run since; it is gone from the map, not just refused
    const held = (t as unknown as { tokens: Map<string, unknown> }).tokens;
    assert.deepEqual([...held.keys()], ["ponmlkjihgfedcba.8"]);
    t.close();
  });

  test("disabling auth ends every token and stops the sweeper's timer", async () => {
    const clock = new ManualClock();
    const t = enabledTokens(clock);
    let sweeps = 0;
    const sweep = (t as unknown as { sweep: () => void }).sweep.bind(t);
    (t as unknown as { sweep: () => void }).sweep = () => {
      sweeps++;
      sweep();
    };
    t.assignSimple("alice", "abcdefghijklmnop.7");
    t.disabled();
    await clock.advance(10_000);
    assert.equal(sweeps, 0, "no sweep after disable");
    assert.equal(await t.info("abcdefghijklmnop.7", 1, applied), undefined);
  });

  test("--auth-token=simple takes the member's clock", async () => {
    const clock = new ManualClock();
    const t = tokenProviderOf("simple", 2, clock);
    t.enabled();
    t.assignSimple("alice", "abcdefghijklmnop.7");
    await clock.advance(2001);
    assert.equal(await t.info("abcdefghijklmnop.7", 1, applied), undefined);
    t.close();
  });
});
