import { test } from "node:test";
import assert from "node:assert/strict";
import { computeClusterId, computeMemberId, idToHex } from "../../server/membership/ids.js";
import { applyChange, decodeCluster, emptyCluster, encodeCluster } from "../../server/membership/cluster.js";

test("member and cluster IDs are etcd's (the default single member is 8e9e05c52164694d in cdf818194e3a8c32)", () => {
  const m = computeMemberId(["http://localhost:2380"], "etcd-cluster");
  assert.equal(idToHex(m), "8e9e05c52164694d");
  assert.equal(idToHex(computeClusterId([m])), "cdf818194e3a8c32");
});

test("IDs keep all 64 bits through the membership encoding", () => {
  const id = 0xfedcba9876543210n;
  const c = applyChange(emptyCluster(0xffffffffffffffffn), { kind: "add", member: { id, name: "a", peerUrls: ["http://x:2380"], clientUrls: [], isLearner: true } });
  const back = decodeCluster(encodeCluster(applyChange(c, { kind: "promote", id })));
  assert.equal(back.clusterId, 0xffffffffffffffffn);
  assert.equal(back.members.get(id)?.isLearner, false);
  const removed = applyChange(back, { kind: "remove", id });
  assert.equal(removed.members.size, 0);
  assert.ok(removed.removed.has(id));
});
