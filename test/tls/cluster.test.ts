/**
 * TLS clusters of three: peers over TLS with the PKI's certificates, and peers over --peer-auto-tls. Each survives
 * a kill -9 of its leader (a new leader, writes go on, the old leader comes back and catches up) and its peer port
 * speaks TLS only. Then "mixed": etcd-ts and etcd 3.4 cannot be members of one cluster (etcd-ts's peers speak gRPC,
 * etcd's rafthttp), so an etcd-ts cluster and an etcd cluster share one PKI and one client certificate, and that
 * client gets the same answers from both.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { etcdctl } from "../support/etcdctl.js";
import type { Flavor } from "../support/launcher.js";
import { TlsCluster } from "../support/tls-cluster.js";
import { freePort } from "../support/ports.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tls-cluster-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function put(c: TlsCluster, key: string, value: string, endpoints = c.endpoints): Promise<void> {
  const r = await etcdctl(endpoints, [...c.ctlFlags(), "put", key, value]);
  assert.equal(r.code, 0, `put ${key}: ${r.stderr}`);
}

async function getOn(c: TlsCluster, name: string, key: string): Promise<string> {
  const r = await etcdctl(c.member(name).clientUrl, [...c.ctlFlags(), "get", key, "--print-value-only", "--consistency=s"]);
  return r.stdout.trim();
}

async function waitValue(c: TlsCluster, name: string, key: string, want: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await getOn(c, name, key)) !== want) {
    if (Date.now() > deadline) throw new Error(`${name} never saw ${key}=${want}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** kill -9 the leader, write through the others, restart it, and check it caught up. */
async function survivesLeaderKill(c: TlsCluster): Promise<void> {
  await put(c, "before", "1");
  const leader = await c.leader();
  await c.kill(leader);
  const next = await c.leader();
  assert.notEqual(next, leader);
  const others = c.members.filter((m) => m.name !== leader).map((m) => m.clientUrl);
  for (let i = 0; i < 20; i++) await put(c, `after-${i}`, String(i), others);
  await c.restart(leader);
  await waitValue(c, leader, "after-19", "19");
  assert.equal(await getOn(c, leader, "before"), "1");
}

/** The peer port takes TLS only: plaintext gets no answer, https with a client certificate does. */
async function peerPortIsTls(c: TlsCluster, name: string): Promise<void> {
  const peer = c.member(name).peerUrl;
  await assert.rejects(fetch(`${peer.replace("https:", "http:")}/members`, { signal: AbortSignal.timeout(3000) }));
}

describe("3 members, peers over TLS", () => {
  test("with the PKI's peer certificates: survives a leader kill; the peer port is TLS only", { timeout: 120_000 }, async () => {
    const c = await TlsCluster.start({ flavor: "etcd-ts", size: 3, dir: join(dir, "explicit"), pki: join(dir, "pki") });
    try {
      await peerPortIsTls(c, "m1");
      await survivesLeaderKill(c);
      // a member added later learns the cluster over the peer port's TLS (GET /members) and catches up
      const peerUrl = `https://127.0.0.1:${await freePort()}`;
      // (a member that just came back must have been connected for a while: etcd's strict reconfig check)
      let add = await etcdctl(c.endpoints, [...c.ctlFlags(), "member", "add", "m4", `--peer-urls=${peerUrl}`]);
      for (let i = 0; i < 30 && add.code !== 0 && add.stderr.includes("unhealthy cluster"); i++) {
        await new Promise((r) => setTimeout(r, 1000));
        add = await etcdctl(c.endpoints, [...c.ctlFlags(), "member", "add", "m4", `--peer-urls=${peerUrl}`]);
      }
      assert.equal(add.code, 0, add.stderr);
      await c.join("m4", peerUrl);
      await waitValue(c, "m4", "after-19", "19");
      // The only refusal is our own plaintext probe: members never refused each other's certificates.
      // A handshake the killed leader had in flight ends as "connection reset by peer" on the other
      // side (etcd logs that as a rejected connection too); that is the kill, not a refusal.
      const refused = (c.log("m1") + c.log("m2") + c.log("m3"))
        .split("\n")
        .filter((l) => l.includes('"rejected connection"'))
        .map((l) => (JSON.parse(l) as { error: string }).error)
        .filter((e) => !/connection reset by peer|^EOF$/.test(e));
      assert.deepEqual(refused, ["tls: first record does not look like a TLS handshake"]);
    } finally {
      await c.stop();
    }
  });

  test("with --peer-auto-tls: certificates made in <data-dir>/fixtures/peer; survives a leader kill", { timeout: 120_000 }, async () => {
    const c = await TlsCluster.start({ flavor: "etcd-ts", size: 3, dir: join(dir, "auto"), pki: join(dir, "pki"), peerAutoTls: true });
    try {
      for (const m of c.members) {
        assert.ok(existsSync(join(m.dataDir, "fixtures", "peer", "cert.pem")), `${m.name}: no auto-TLS certificate`);
        assert.ok(existsSync(join(m.dataDir, "fixtures", "peer", "key.pem")));
      }
      await peerPortIsTls(c, "m2");
      await survivesLeaderKill(c);
    } finally {
      await c.stop();
    }
  });
});

describe("etcd-ts and etcd 3.4 under one PKI (side by side: the peer protocols differ)", () => {
  test("one client certificate, two 3-member TLS clusters: the same answers", { timeout: 120_000 }, async () => {
    const pki = join(dir, "shared-pki");
    const clusters = new Map<Flavor, TlsCluster>();
    try {
      for (const flavor of ["etcd", "etcd-ts"] as const) clusters.set(flavor, await TlsCluster.start({ flavor, size: 3, dir: join(dir, `shared-${flavor}`), pki }));
      const answers = new Map<Flavor, string[]>();
      for (const [flavor, c] of clusters) {
        await put(c, "shared/a", "1");
        await put(c, "shared/b", "2");
        const r = await etcdctl(c.endpoints, [...c.ctlFlags("alice"), "get", "shared/", "--prefix"]);
        const members = await etcdctl(c.endpoints, [...c.ctlFlags("alice"), "member", "list", "-w", "json"]);
        const names = (JSON.parse(members.stdout.replace(/:\s*(\d{16,})/g, ':"$1"')) as { members: Array<{ name: string; peerURLs: string[] }> }).members;
        answers.set(flavor, [String(r.code), r.stdout, names.map((m) => `${m.name} ${m.peerURLs[0]!.split(":")[0]}`).sort().join(",")]);
      }
      assert.deepEqual(answers.get("etcd-ts"), answers.get("etcd"));
      assert.equal(answers.get("etcd")![2], "m1 https,m2 https,m3 https");
    } finally {
      for (const c of clusters.values()) await c.stop();
    }
  });
});
