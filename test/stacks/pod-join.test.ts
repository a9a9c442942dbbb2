/** How a StatefulSet pod decides to start (stacks/pod/join.ts), against a scripted membership. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ClusterClient, ClusterMember } from "../../stacks/pod/cluster-client.js";
import { decideStart, initialClusterOf, peerClientUrls, type PodIdentity } from "../../stacks/pod/join.js";

const dom = "etcd-3-peer.ns.svc.cluster.local";
const peer = (i: number) => `http://etcd-3-${i}.${dom}:2380`;
const client = (i: number) => `http://etcd-3-${i}.${dom}:2379`;
const pod = (i: number, hasWal = false): PodIdentity => ({ name: `etcd-3-${i}`, peerUrls: [peer(i)], clientUrls: [client(i)], initialMembers: ["etcd-3-0", "etcd-3-1", "etcd-3-2"], hasWal });
const member = (i: number, started = true): ClusterMember => ({ id: String(100 + i), name: started ? `etcd-3-${i}` : "", peerUrls: [peer(i)], clientUrls: started ? [client(i)] : [] });

/** A cluster of members; `leaderAt` lists the client URLs that answer with a leader. */
function fake(members: ClusterMember[], leaderAt: string[]) {
  const calls: string[] = [];
  const c: ClusterClient = {
    leader: async (url) => {
      if (!leaderAt.includes(url)) throw new Error("connection refused");
      return "100";
    },
    members: async (url) => (calls.push(`list ${url}`), [...members]),
    add: async (url, peerUrls) => {
      calls.push(`add ${peerUrls.join(",")}`);
      const m = { id: String(200 + members.length), name: "", peerUrls: [...peerUrls], clientUrls: [] };
      members.push(m);
      return { id: m.id, members: [...members] };
    },
    remove: async (url, id) => {
      calls.push(`remove ${id}`);
      members.splice(members.findIndex((m) => m.id === id), 1);
      return [...members];
    },
  };
  return { c, calls, members };
}
const deps = (c: ClusterClient, attempts = 3) => ({ client: c, sleep: async () => {}, log: () => {}, attempts, intervalMs: 1 });

test("the other pods' client URLs follow the pod's own DNS name", () => {
  assert.deepEqual(peerClientUrls(pod(1)), [client(0), client(2)]);
  assert.deepEqual(peerClientUrls(pod(4)), [0, 1, 2, 3].map(client));
  assert.throws(() => peerClientUrls({ ...pod(1), clientUrls: ["http://10.0.0.1:2379"] }), /does not start with the pod name/);
});

test("a WAL in the data dir: restart, nobody asked", async () => {
  const f = fake([], []);
  assert.equal((await decideStart(pod(0, true), deps(f.c))).kind, "restart");
  assert.deepEqual(f.calls, []);
});

test("an initial member with no leader anywhere bootstraps", async () => {
  const f = fake([], []);
  assert.equal((await decideStart(pod(1), deps(f.c))).kind, "bootstrap");
});

test("an initial member late to a cluster the others formed joins as listed (unstarted), without MemberAdd", async () => {
  const f = fake([member(0, false), member(1), member(2)], [client(1), client(2)]);
  const d = await decideStart(pod(0), deps(f.c));
  assert.equal(d.kind, "join");
  assert.equal(d.initialCluster, `etcd-3-0=${peer(0)},etcd-3-1=${peer(1)},etcd-3-2=${peer(2)}`);
  assert.ok(!f.calls.some((c) => c.startsWith("add")));
});

test("a new ordinal adds itself with MemberAdd and joins with the full member list", async () => {
  const f = fake([member(0), member(1), member(2)], [client(0), client(1), client(2)]);
  const d = await decideStart(pod(3), deps(f.c));
  assert.equal(d.kind, "join");
  assert.deepEqual(f.calls.filter((c) => c.startsWith("add")), [`add ${peer(3)}`]);
  assert.equal(d.initialCluster, [0, 1, 2, 3].map((i) => `etcd-3-${i}=${peer(i)}`).join(","));
});

test("a new ordinal waits while another added member has not started, and gives up after the attempts", async () => {
  const f = fake([member(0), member(1), member(2), member(3, false)], [client(0)]);
  await assert.rejects(decideStart(pod(4), deps(f.c, 2)), /no cluster answered|not an initial member/);
  assert.ok(!f.calls.some((c) => c.startsWith("add")), "no second unstarted member is added");
});

test("a new ordinal with no leader anywhere never bootstraps a cluster of its own", async () => {
  const f = fake([], []);
  await assert.rejects(decideStart(pod(3), deps(f.c, 2)), /etcd-3-3 is not an initial member and could not join a cluster with a leader after 2 attempts/);
});

test("listed as started but the data is gone (a lost volume): removed and added again", async () => {
  const f = fake([member(0), member(1), member(2)], [client(0), client(2)]);
  const d = await decideStart(pod(1), deps(f.c));
  assert.equal(d.kind, "join");
  assert.deepEqual(f.calls.filter((c) => !c.startsWith("list")), ["remove 101", `add ${peer(1)}`]);
  assert.match(d.initialCluster!, /etcd-3-1=http:\/\/etcd-3-1\./);
});

test("the initial cluster names unstarted members after their pod (first label of the peer URL)", () => {
  assert.equal(initialClusterOf([member(0), member(3, false), { ...member(4, false), id: "9" }], "9", "etcd-3-4"), `etcd-3-0=${peer(0)},etcd-3-3=${peer(3)},etcd-3-4=${peer(4)}`);
});

test("a refused MemberAdd (etcd's \"unhealthy cluster\" right after the cluster formed) is tried again, not fatal", async () => {
  const f = fake([member(0), member(1), member(2)], [client(0)]);
  const add = f.c.add;
  let refusals = 1;
  f.c.add = async (url, peerUrls) => {
    if (refusals-- > 0) throw new Error("MemberAdd at x: etcdserver: unhealthy cluster");
    return add(url, peerUrls);
  };
  const d = await decideStart(pod(3), deps(f.c));
  assert.equal(d.kind, "join");
  assert.equal(f.members.length, 4);
});
