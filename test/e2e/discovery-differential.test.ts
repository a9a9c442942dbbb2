/**
 * --discovery (etcd's v2 discovery protocol) on etcd and etcd-ts, with a real etcd 3.4.23 started with
 * --enable-v2 as the discovery service on 127.0.0.1: the same bootstrap of 3 members, a 4th member
 * beyond the size, a token without a size key, a member ID registered twice, an unreachable service,
 * and --discovery-proxy through a forward proxy the test runs. Member IDs differ between the runs
 * (other ports) but both must follow etcd's rule: sha1(peer URLs + the discovery URL as the token).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import { randomUUID } from "node:crypto";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";
import { exitCodeWithin, startBootstrapMember, waitHealthyOrExit, type BootstrapMember } from "../support/bootstrap-member.js";
import { etcdctl } from "../support/etcdctl.js";
import { freePort } from "../support/ports.js";
import { computeClusterId, computeMemberId } from "../../server/membership/ids.js";

const FLAVORS: readonly Flavor[] = ["etcd", "etcd-ts"];
let service: MemberProcess;
const started: BootstrapMember[] = [];

async function newToken(size: number | undefined): Promise<string> {
  const token = randomUUID().replace(/-/g, "");
  if (size !== undefined) {
    const r = await fetch(`${service.clientUrl}/v2/keys/discovery/${token}/_config/size`, { method: "PUT", body: new URLSearchParams({ value: String(size) }) });
    assert.ok(r.ok, `size key: HTTP ${r.status}`);
  }
  return `${service.clientUrl}/v2/keys/discovery/${token}`;
}

async function member(flavor: Flavor, name: string, flags: string[]): Promise<BootstrapMember> {
  const m = await startBootstrapMember(flavor, name, { flags });
  started.push(m);
  return m;
}

function messages(m: BootstrapMember): Array<{ msg: unknown; error?: unknown }> {
  return m.lines().map((l) => ({ msg: l.msg, ...(l.error !== undefined ? { error: l.error } : {}) }));
}

/** The warnings etcdmain prints for a failed discovery, in order (timestamps, callers and other fields dropped). */
function failureLines(m: BootstrapMember): Array<{ msg: unknown; error?: unknown }> {
  const interesting = new Set([
    "failed to start etcd",
    "failed to bootstrap; discovery token was already used",
    "do not reuse discovery token; generate a new one to bootstrap a cluster",
    "member has been registered with discovery service",
    "but could not find valid cluster configuration",
    "check data dir if previous bootstrap succeeded",
    "or use a new discovery token if previous bootstrap failed",
  ]);
  return messages(m).filter((l) => interesting.has(String(l.msg)));
}

before(async () => {
  service = await startMember("etcd", { flags: ["--enable-v2=true", "--logger=zap"] });
});

after(async () => {
  await Promise.all(started.map((m) => m.dispose()));
  await service?.dispose();
});

describe("--discovery bootstraps the same cluster on etcd and etcd-ts", { timeout: 180_000 }, () => {
  const shapes = new Map<Flavor, unknown>();
  for (const flavor of FLAVORS) {
    test(`${flavor}: 3 members from one token, a 4th is refused as etcd refuses it`, async () => {
      const durl = await newToken(3);
      const members: BootstrapMember[] = [];
      for (const name of ["m1", "m2", "m3"]) members.push(await member(flavor, name, [`--discovery=${durl}`]));
      await Promise.all(members.map((m) => waitHealthyOrExit(m)));

      // every member publishes its client URLs through raft once it is up: wait until m1 has applied all three
      type Listed = { header: { cluster_id: string }; members: Array<{ ID: string; name: string; peerURLs: string[]; clientURLs?: string[] }> };
      let parsed: Listed | undefined;
      for (let i = 0; i < 100 && !(parsed && parsed.members.every((m) => (m.clientURLs ?? []).length > 0)); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 200));
        const list = await etcdctl(members[0]!.endpoint, ["member", "list", "-w", "json"]);
        assert.equal(list.code, 0, list.stderr);
        parsed = JSON.parse(list.stdout.replace(/:\s*(\d{16,})/g, ':"$1"')) as Listed;
      }
      assert.ok(parsed);
      const byName = new Map(parsed.members.map((m) => [m.name, m]));
      const ids: bigint[] = [];
      for (const m of members) {
        const listed = byName.get(m.name);
        assert.ok(listed, `${m.name} listed`);
        assert.deepEqual(listed.peerURLs, [m.peerUrl]);
        assert.deepEqual(listed.clientURLs, [m.clientUrl]);
        // etcd: with --discovery the discovery URL is the cluster token the IDs are hashed with
        assert.equal(BigInt(listed.ID), computeMemberId([m.peerUrl], durl), `${m.name}'s ID`);
        ids.push(BigInt(listed.ID));
      }
      assert.equal(BigInt(parsed.header.cluster_id), computeClusterId(ids));

      // what each member registered on the discovery service
      const dir = (await (await fetch(`${durl}?recursive=true`)).json()) as { node: { nodes: Array<{ key: string; value?: string; dir?: boolean }> } };
      const registered = dir.node.nodes.filter((n) => !n.key.endsWith("/_config")).map((n) => ({ id: n.key.split("/").pop(), value: n.value })).sort((a, b) => String(a.value).localeCompare(String(b.value)));
      assert.deepEqual(
        registered,
        members.map((m) => ({ id: computeMemberId([m.peerUrl], durl).toString(16), value: `${m.name}=${m.peerUrl}` })),
      );
      shapes.set(flavor, { names: [...byName.keys()].sort(), registered: registered.length, memberCount: parsed.members.length });

      const fourth = await member(flavor, "m4", [`--discovery=${durl}`, "--discovery-fallback=exit"]);
      assert.equal(await exitCodeWithin(fourth), 1);
      assert.deepEqual(failureLines(fourth), [
        { msg: "failed to bootstrap; discovery token was already used", error: "failed to join discovery cluster (discovery: cluster is full)" },
        { msg: "do not reuse discovery token; generate a new one to bootstrap a cluster" },
      ]);
      for (const m of [...members, fourth]) await m.dispose();
    });
  }

  test("both clusters have the same shape", () => {
    assert.equal(shapes.size, 2);
    assert.deepEqual(shapes.get("etcd-ts"), shapes.get("etcd"));
  });
});

describe("--discovery failures as etcd reports them", { timeout: 180_000 }, () => {
  test("a token without a size key: the service's own error, exit 1", async () => {
    const out = new Map<Flavor, unknown>();
    for (const flavor of FLAVORS) {
      const durl = await newToken(undefined);
      const m = await member(flavor, "m1", [`--discovery=${durl}`]);
      assert.equal(await exitCodeWithin(m), 1);
      // the v2 error's index is the service's current one: different between the runs
      out.set(flavor, JSON.stringify(failureLines(m)).replace(/\[\d+\]/g, "[N]").replaceAll(new URL(durl).pathname.replace("/v2/keys", ""), "/discovery/TOKEN"));
      await m.dispose();
    }
    assert.match(String(out.get("etcd")), /failed to join discovery cluster \(100: Key not found \(\/discovery\/TOKEN\) \[N\]\)/);
    assert.equal(out.get("etcd-ts"), out.get("etcd"));
  });

  test("a member ID registered already: duplicate id, exit 1", async () => {
    const out = new Map<Flavor, unknown>();
    for (const flavor of FLAVORS) {
      const durl = await newToken(3);
      // the ID is a hash of the peer URL and the token: register it before the member starts
      const peerPort = await freePort();
      const id = computeMemberId([`http://127.0.0.1:${peerPort}`], durl).toString(16);
      const put = await fetch(`${durl}/${id}?prevExist=false`, { method: "PUT", body: new URLSearchParams({ value: `m1=http://127.0.0.1:${peerPort}` }) });
      assert.equal(put.status, 201);
      const again = await startBootstrapMember(flavor, "m1", { flags: [`--discovery=${durl}`], peerPort });
      started.push(again);
      assert.equal(await exitCodeWithin(again), 1);
      out.set(flavor, failureLines(again));
    }
    assert.deepEqual(out.get("etcd"), [
      { msg: "failed to start etcd", error: "failed to join discovery cluster (discovery: found duplicate id)" },
      { msg: "member has been registered with discovery service", error: "discovery: found duplicate id" },
      { msg: "but could not find valid cluster configuration" },
      { msg: "check data dir if previous bootstrap succeeded" },
      { msg: "or use a new discovery token if previous bootstrap failed" },
    ]);
    assert.deepEqual(out.get("etcd-ts"), out.get("etcd"));
  });

  test("an unreachable service: retried with etcd's backoff, the member keeps waiting", async () => {
    for (const flavor of FLAVORS) {
      const m = await member(flavor, "m1", [`--discovery=http://127.0.0.1:${await freePort()}/v2/keys/discovery/abc`]);
      const deadline = Date.now() + 20_000;
      let retry: Record<string, unknown> | undefined;
      while (!retry && Date.now() < deadline) {
        retry = m.lines().find((l) => l.msg === "retry connecting to discovery service");
        if (!retry) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(retry, `${flavor} logged no retry:\n${m.log().slice(-2000)}`);
      assert.equal(retry.reason, "cluster status check");
      assert.equal(retry.backoff, "2s");
      assert.ok(m.lines().some((l) => l.msg === "failed to get from discovery server" && l.path === "/v2/keys/discovery/abc/_config/size"), flavor);
      assert.equal(m.child.exitCode, null, `${flavor} gave up`);
      await m.dispose();
    }
  });

  test("etcd-ts: a full cluster with --discovery-fallback=proxy exits (etcd would start its v2 proxy, which etcd-ts has not)", async () => {
    const durl = await newToken(1);
    const first = await member("etcd-ts", "m1", [`--discovery=${durl}`]);
    await waitHealthyOrExit(first);
    const second = await member("etcd-ts", "m2", [`--discovery=${durl}`]);
    assert.equal(await exitCodeWithin(second), 1);
    const msgs = messages(second).map((l) => l.msg);
    assert.ok(msgs.includes("discovery cluster is full, falling back to proxy"), second.log());
    assert.ok(msgs.includes("cannot fall back to proxy; exiting"));
    await first.dispose();
  });
});

describe("--discovery-proxy", { timeout: 120_000 }, () => {
  let proxy: Server;
  const seen: string[] = [];
  before(async () => {
    // a forward proxy: requests come with the absolute URL, as Go's transport sends them to an HTTP proxy
    proxy = createServer((req, res) => {
      seen.push(req.url ?? "");
      const target = new URL(req.url ?? "/");
      const up = request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.writeHead(502).end());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  });
  after(() => new Promise<void>((r) => proxy.close(() => r())));

  for (const flavor of FLAVORS) {
    test(`${flavor}: the discovery requests go through the proxy`, async () => {
      const durl = await newToken(1);
      seen.length = 0;
      const port = (proxy.address() as { port: number }).port;
      const m = await member(flavor, "m1", [`--discovery=${durl}`, `--discovery-proxy=127.0.0.1:${port}`]);
      await waitHealthyOrExit(m);
      const path = new URL(durl).pathname;
      assert.ok(seen.some((u) => u.startsWith(`${service.clientUrl}${path}/_config/size`)), `${flavor}: ${seen.join(" ")}`);
      assert.ok(seen.some((u) => u.startsWith(`${service.clientUrl}${path}/`) && u.includes("prevExist=false")), `${flavor}: ${seen.join(" ")}`);
      assert.ok(m.lines().some((l) => l.msg === "running proxy with discovery" && l["proxy-url"] === `http://127.0.0.1:${port}`), m.log().slice(-2000));
      await m.dispose();
    });
  }
});
