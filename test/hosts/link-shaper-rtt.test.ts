/**
 * The link shaper between two namespace hosts (the kit's hosts lab): the round trip measured from
 * host 1 to host 2 through the shaper is the one asked for, within a stated tolerance, while the
 * direct path (a port the shaper does not redirect) stays unshaped; a bandwidth cap holds; and the
 * lab goes away without a trace.
 *
 * Tolerance (the machine is loaded, timers fire late, the shaper is a Node process): the median
 * round trip is at least the asked one minus 0.5 ms (the shaper never releases early) and at most
 * the asked one plus 25 ms. Bandwidth: between 40% and 110% of the cap. Skips (saying why) only
 * where network namespaces cannot be created.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HostsLab } from "../../ansible-free-scripts/hosts/lab.js";
import { linkConditions, parseLinkOverride } from "../../ansible-free-scripts/hosts/link-conditions.js";
import { labUnavailable } from "../../ansible-free-scripts/hosts/netns.js";
import { ensureSshd } from "../support/ensure-sshd.js";

const RTT_TOLERANCE_MS = 25;
const unavailable = labUnavailable();

describe("link shaper between namespace hosts", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 180_000 }, () => {
  test("RTT through the shaper = 30 ms one way + 10 ms back, within -0.5/+25 ms; direct path unshaped; no trace left", async (t) => {
    ensureSshd();
    const base = linkConditions({ delay: "10ms" });
    const links = Object.fromEntries(parseLinkOverride("1>2:delay=30ms", 2, base));
    const lab = await HostsLab.create({ hosts: 2, conditions: { base, links } });
    let check;
    try {
      check = lab.record().linkCheck;
    } finally {
      await lab.destroy();
    }
    assert.deepEqual(lab.leftovers(), []);
    assert.ok(check, "the lab measured its link");
    t.diagnostic(JSON.stringify(check));
    assert.equal(check.requestedRttMs, 40);
    assert.ok(check.shaped.rttP50Ms >= 39.5, `median RTT ${check.shaped.rttP50Ms} ms is not below the asked 40 ms`);
    assert.ok(check.shaped.rttP50Ms <= 40 + RTT_TOLERANCE_MS, `median RTT ${check.shaped.rttP50Ms} ms is within ${RTT_TOLERANCE_MS} ms of the asked 40 ms`);
    assert.ok(check.direct.rttP50Ms < 5, `the direct path is not delayed (${check.direct.rttP50Ms} ms)`);
  });

  test("a 20 mbit cap: bulk throughput through the shaper between 40% and 110% of it", async (t) => {
    ensureSshd();
    const lab = await HostsLab.create({ hosts: 2, conditions: { base: linkConditions({ bandwidth: "20mbit" }), links: {} } });
    let check;
    try {
      check = lab.record().linkCheck;
    } finally {
      await lab.destroy();
    }
    assert.deepEqual(lab.leftovers(), []);
    assert.ok(check);
    t.diagnostic(JSON.stringify(check));
    assert.ok(check.shaped.mbit <= 22 && check.shaped.mbit >= 8, `${check.shaped.mbit} Mbit/s under a 20 mbit cap`);
    assert.ok(check.direct.mbit > 40, `the direct path is not capped (${check.direct.mbit} Mbit/s)`);
  });
});

if (unavailable) console.log(`# link shaper tests skipped: ${unavailable}`);
