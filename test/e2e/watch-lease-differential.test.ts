import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type { MemberProcess } from "../support/launcher.js";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { sideBySide } from "../support/side-by-side.js";
import { gatewayPost } from "../support/gateway.js";
import { assertSameTranscripts } from "../support/transcript.js";

/**
 * Differential: the same watch and lease sessions against Debian's etcd 3.4.23 and etcd-ts.
 * Outputs are compared after normalizing what legitimately differs: lease IDs (chosen by each
 * server), cluster/member IDs, and remaining TTLs (timing).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `etcdctl watch ...` as a child process; stop() waits until `until` was printed (bounded), then kills it. */
function watcher(endpoint: string, args: readonly string[]) {
  const child = spawn("etcdctl", [`--endpoints=${endpoint}`, "watch", ...args], { env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? -1)));
  return {
    output: () => out,
    async stop(until?: string, timeoutMs = 8000): Promise<{ out: string; err: string; code: number | "killed" }> {
      const deadline = Date.now() + timeoutMs;
      let code: number | "killed" = "killed";
      let done = false;
      void exited.then((c) => {
        done = true;
        code = c;
      });
      while (!done && until !== undefined && !out.includes(until) && Date.now() < deadline) await sleep(25);
      if (!done) child.kill("SIGKILL");
      await exited;
      return { out, err: err.replace(/\{"level".*\n?/g, ""), code };
    },
  };
}

/** Lease IDs (16 hex digits in etcdctl's text, decimal in JSON) become L1, L2… in order of appearance. */
function normalizer() {
  const ids = new Map<string, string>();
  const name = (id: string) => {
    const k = id.replace(/^0+/, "").toLowerCase();
    if (!ids.has(k)) ids.set(k, `L${ids.size + 1}`);
    return ids.get(k)!;
  };
  return {
    /** register a lease ID given in hex */
    hex(id: string) {
      return name(id);
    },
    text(s: string): string {
      let t = s.replace(/\b[0-9a-f]{16}\b/g, (m) => name(m));
      t = t.replace(/remaining\(-?\d+s\)/g, "remaining(Ns)");
      // etcd lists a lease's keys in Go map order (random): compare them as a set
      t = t.replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, ks: string) => `attached keys([${ks.split(" ").sort().join(" ")}])`);
      t = t.replace(/"(cluster_id|member_id)":\d+,?/g, "");
      t = t.replace(/"lease":(\d+)/g, (_m, d: string) => `"lease":"${name(BigInt(d).toString(16))}"`);
      return t;
    },
  };
}

interface Transcript {
  steps: Array<[string, unknown]>;
}

async function ctl(n: ReturnType<typeof normalizer>, t: Transcript, endpoint: string, args: string[], label = args.join(" ")): Promise<CtlResult> {
  const r = await etcdctl(endpoint, args);
  t.steps.push([n.text(label), { code: r.code, out: n.text(r.stdout), err: n.text(r.stderr.replace(/\{"level".*\n?/g, "")) }]);
  return r;
}

const leaseIdOf = (r: CtlResult) => /lease ([0-9a-f]{16}) granted/.exec(r.stdout)?.[1] ?? "";

/** The whole etcdctl session against one member; returns its normalized transcript. */
async function etcdctlSession(m: MemberProcess): Promise<Transcript> {
  const n = normalizer();
  const t: Transcript = { steps: [] };
  const e = m.endpoint;
  await ctl(n, t, e, ["put", "k1", "a"]); // rev 2
  await ctl(n, t, e, ["put", "x1", "b"]); // rev 3

  // live watchers (their start revision is explicit, so a late connection still sees the same events)
  const wPrefix = watcher(e, ["--prefix", "k", "--prev-kv", "--rev=4"]);
  const wJson = watcher(e, ["-w", "json", "k2", "--rev=4"]);
  const wAll = watcher(e, ["--prefix", "", "--rev=4"]);
  await sleep(700);
  await ctl(n, t, e, ["put", "k2", "v1"]); // 4
  await ctl(n, t, e, ["put", "k2", "v2"]); // 5
  await ctl(n, t, e, ["put", "x2", "ignored-by-prefix-watch"]); // 6
  await ctl(n, t, e, ["del", "k2"]); // 7
  const txn = await etcdctl(e, ["txn", "-i"], "\nput k3 x\nput k4 y\n\n\n"); // 8: two events in one revision
  t.steps.push(["txn k3 k4", { code: txn.code, out: n.text(txn.stdout), err: txn.stderr }]);

  // leases
  const g1 = await ctl(n, t, e, ["lease", "grant", "100"]);
  const l1 = leaseIdOf(g1);
  await ctl(n, t, e, ["put", "--lease=" + l1, "k5", "leased"]); // 9
  await ctl(n, t, e, ["put", "--lease=" + l1, "k6", "leased"]); // 10
  const ttl = await ctl(n, t, e, ["lease", "timetolive", "--keys", l1]);
  const remaining = Number(/remaining\((\d+)s\)/.exec(ttl.stdout)?.[1] ?? -1);
  assert.ok(remaining >= 95 && remaining <= 100, `remaining TTL ${remaining} (${m.flavor})`);
  await ctl(n, t, e, ["lease", "keep-alive", "--once", l1]);
  await ctl(n, t, e, ["lease", "timetolive", l1]);
  await ctl(n, t, e, ["lease", "list"]);
  await ctl(n, t, e, ["lease", "revoke", l1]); // 11: k5 and k6 deleted in one revision
  await ctl(n, t, e, ["get", "--prefix", "k"]);
  await ctl(n, t, e, ["lease", "revoke", l1], "revoke twice");
  await ctl(n, t, e, ["lease", "timetolive", l1], "timetolive of a revoked lease");
  await ctl(n, t, e, ["lease", "keep-alive", "--once", l1], "keep-alive of a revoked lease");
  await ctl(n, t, e, ["lease", "keep-alive", "--once", "1234"], "keep-alive of an unknown lease");
  await ctl(n, t, e, ["lease", "grant", "0"], "grant TTL 0");
  await ctl(n, t, e, ["lease", "grant", "1"], "grant TTL under the minimum");
  await ctl(n, t, e, ["lease", "grant", "9000000001"], "grant a too large TTL");
  await ctl(n, t, e, ["lease", "grant", "9000000000"], "grant the largest TTL");
  await ctl(n, t, e, ["lease", "grant", "abc"], "grant a TTL that is not a number");
  await ctl(n, t, e, ["put", "--lease=1234", "k7", "v"], "put with an unknown lease");

  // expiry: a 2 s lease (the minimum) with a key; the watchers see the delete once the leader revokes it
  const g2 = await ctl(n, t, e, ["lease", "grant", "2"]);
  const l2 = leaseIdOf(g2);
  await ctl(n, t, e, ["put", "--lease=" + l2, "k8", "short"]); // 12
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    const r = await etcdctl(e, ["get", "k8", "--print-value-only"]);
    if (r.stdout.trim() === "") break;
    await sleep(200);
  }
  await ctl(n, t, e, ["get", "k8"], "k8 gone after expiry"); // 13 was the delete
  await ctl(n, t, e, ["lease", "timetolive", l2], "timetolive of an expired lease");
  await ctl(n, t, e, ["put", "k9", "end"]); // 14

  const s1 = await wPrefix.stop("k9\nend");
  const s2 = await wJson.stop('"mod_revision":7', 4000);
  const s3 = await wAll.stop("k9\nend");
  t.steps.push(["watch --prefix k --prev-kv --rev=4", n.text(s1.out)]);
  t.steps.push(["watch -w json k2 --rev=4", n.text(s2.out)]);
  t.steps.push(["watch --prefix '' --rev=4", n.text(s3.out)]);

  // history: a watch from a past revision replays it, then compaction makes that impossible
  const wPast = watcher(e, ["--prefix", "k", "--rev=2"]);
  const sp = await wPast.stop("k9\nend");
  t.steps.push(["watch --prefix k --rev=2 (history)", n.text(sp.out)]);
  const wPastPrev = watcher(e, ["k2", "--rev=2", "--prev-kv"]);
  const spp = await wPastPrev.stop("DELETE\nk2\nv2\nk2\n");
  t.steps.push(["watch k2 --rev=2 --prev-kv (history)", n.text(spp.out)]);
  // interactive: watch requests typed on stdin (kept open: etcdctl exits when it ends)
  const wi = spawn("etcdctl", [`--endpoints=${e}`, "watch", "-i"], { env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["pipe", "pipe", "pipe"] });
  let wiOut = "";
  wi.stdout.on("data", (d: Buffer) => (wiOut += d.toString()));
  wi.stdin.write("watch --rev=2 --prefix k\n");
  wi.stdin.write("watch --rev=3 x1 --prev-kv\n");
  wi.stdin.write("nonsense\n");
  const wiDeadline = Date.now() + 8000;
  while (!(wiOut.includes("k9\nend") && wiOut.includes("x1\nb")) && Date.now() < wiDeadline) await sleep(50);
  await sleep(300);
  wi.kill("SIGKILL");
  // The two watches print from two goroutines, so their outputs interleave by timing, even inside an
  // event's lines (etcd 3.4 printed "PUT", then the other watch's event, then this one's key under
  // load): compare the lines as a multiset. Each watch alone is compared in order above and below.
  t.steps.push(["watch -i (two watches, a bad line)", n.text(wiOut).split("\n").filter((l) => l !== "").sort()]);
  await ctl(n, t, e, ["compact", "6"]);
  const wCompacted = watcher(e, ["--prefix", "k", "--rev=3"]);
  const sc = await wCompacted.stop("compacted", 5000);
  t.steps.push(["watch --rev=3 after compaction at 6", { out: n.text(sc.out), err: sc.err, code: sc.code }]);
  const wAtCompact = watcher(e, ["--prefix", "k", "--rev=6"]);
  const sac = await wAtCompact.stop("k9\nend");
  t.steps.push(["watch --rev=6 after compaction at 6", n.text(sac.out)]);
  return t;
}

describe("watch and lease match etcd 3.4 (etcdctl)", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("etcdctl watch, lease grant/keep-alive/timetolive/revoke/list and expiry print what etcd prints", async () => {
    const [want, got] = await Promise.all([etcdctlSession(etcd), etcdctlSession(ours)]);
    if (process.env.DUMP_TRANSCRIPTS) writeFileSync(`${process.env.DUMP_TRANSCRIPTS}.etcdctl.json`, JSON.stringify({ want, got }, null, 1));
    assert.equal(got.steps.length, want.steps.length);
    for (let i = 0; i < want.steps.length; i++) {
      assert.deepEqual(got.steps[i], want.steps[i], `step ${i}: ${want.steps[i]![0]}`);
    }
  });
});

// ------------------------------------------------------------------ gRPC level

type WireResp = Record<string, unknown>;

/** A raw Watch stream: send requests, collect responses. */
function watchStream(endpoint: string) {
  const Ctor = clientConstructor("etcdserverpb", "Watch");
  const client = new Ctor(endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  const call = (client.Watch as () => grpc.ClientDuplexStream<object, WireResp>).call(client);
  const got: WireResp[] = [];
  call.on("data", (r: WireResp) => got.push(r));
  call.on("error", () => undefined);
  return {
    send: (r: object) => call.write(r),
    /** Responses received since the last take: waits at least `ms`, then until none came for 250 ms (at most 3 s). */
    async take(ms = 400): Promise<WireResp[]> {
      await sleep(ms);
      const deadline = Date.now() + 3000;
      let seen = got.length;
      for (;;) {
        await sleep(250);
        if (got.length === seen || Date.now() > deadline) break;
        seen = got.length;
      }
      return got.splice(0);
    },
    close() {
      call.cancel();
      client.close();
    },
  };
}

function unary(endpoint: string, service: string, method: string, req: object): Promise<WireResp> {
  const Ctor = clientConstructor("etcdserverpb", service);
  const client = new Ctor(endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  return new Promise((resolve) => {
    (client[method] as (r: object, cb: (e: grpc.ServiceError | null, r: WireResp) => void) => void).call(client, req, (e, r) => {
      client.close();
      resolve(e ? { code: e.code, details: e.details } : r);
    });
  });
}

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v && typeof v === "object" && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== "cluster_id" && k !== "member_id") out[k] = stripIds(x);
    return out;
  }
  return v;
}

const b = (s: string) => Buffer.from(s);

async function grpcSession(m: MemberProcess): Promise<Array<[string, unknown]>> {
  const e = m.endpoint;
  const out: Array<[string, unknown]> = [];
  const put = (k: string, v: string | Buffer) => unary(e, "KV", "Put", { key: b(k), value: typeof v === "string" ? b(v) : v });
  const ws = watchStream(e);
  try {
    const step = async (label: string, reqs: object[], f?: () => Promise<unknown>) => {
      for (const r of reqs) ws.send(r);
      if (f) await f();
      out.push([label, stripIds(await ws.take())]);
    };
    await step("create on an empty key (watches \\x00)", [{ create_request: { key: Buffer.alloc(0) } }], async () => {
      await sleep(200);
      await put("\x00", "zero");
    });
    await step("create with a client-chosen watch_id", [{ create_request: { key: b("a"), watch_id: 7 } }]);
    await step("the same watch_id again", [{ create_request: { key: b("b"), watch_id: 7 } }]);
    await step("auto IDs skip IDs in use", [{ create_request: { key: b("c") } }, { create_request: { key: b("d") } }]);
    await step("range_end before key", [{ create_request: { key: b("b"), range_end: b("a") } }]);
    await step("range_end equal to key", [{ create_request: { key: b("b"), range_end: b("b") } }]);
    await step("from-key range (range_end \\x00) with filters and prev_kv", [{ create_request: { key: b("f"), range_end: Buffer.from([0]), filters: [0], prev_kv: true, watch_id: 20 } }], async () => {
      await sleep(200);
      await put("f1", "1");
      await put("f1", "2");
      await unary(e, "KV", "DeleteRange", { key: b("f1") });
    });
    await step("NOPUT+NODELETE filters send nothing", [{ create_request: { key: b("g"), filters: [0, 1], watch_id: 21 } }], async () => {
      await sleep(200);
      await put("g", "1");
    });
    await step("progress request", [{ progress_request: {} }]);
    await step("cancel a watch", [{ cancel_request: { watch_id: 7 } }]);
    await step("cancel an unknown watch", [{ cancel_request: { watch_id: 99 } }]);
    await step("empty request", [{}]);
    await step("negative start revision", [{ create_request: { key: b("a"), start_revision: -5, watch_id: 30 } }]);
    await step("start revision 1 (history)", [{ create_request: { key: b("f1"), start_revision: 1, watch_id: 31, prev_kv: true } }]);
    await step("future start revision", [{ create_request: { key: b("h"), start_revision: 1000, watch_id: 32 } }], async () => {
      await sleep(200);
      await put("h", "1");
    });
    // compaction cancels a watch whose start revision is gone
    await unary(e, "KV", "Compact", { revision: 5, physical: true });
    await step("start revision below the compacted revision", [{ create_request: { key: b("f1"), start_revision: 3, watch_id: 40 } }]);
    await step("start revision at the compacted revision", [{ create_request: { key: b("f1"), start_revision: 5, watch_id: 41 } }]);
    await step("cancel a compacted watch", [{ cancel_request: { watch_id: 40 } }]);
  } finally {
    ws.close();
  }
  // fragmentation: 12 values of 60 kB replayed in one catch-up response (> max-request-bytes + 512 KiB)
  const big = Buffer.alloc(60_000, 0x61);
  const first = Number(((await put("big", big)) as { header: { revision: string } }).header.revision);
  for (let i = 1; i < 12; i++) await put("big", big);
  const fw = watchStream(e);
  try {
    fw.send({ create_request: { key: b("big"), start_revision: first, fragment: true, watch_id: 1 } });
    fw.send({ create_request: { key: b("big"), start_revision: first, watch_id: 2 } });
    const rs = await fw.take(1000);
    // per watcher, in order (how two watchers' responses interleave is timing)
    const summary = (id: string) => rs.filter((r) => r.watch_id === id).map((r) => ({ created: r.created, fragment: r.fragment, events: (r.events as unknown[]).length }));
    out.push(["fragmented catch-up", { fragmented: summary("1"), whole: summary("2") }]);
  } finally {
    fw.close();
  }

  // leases at the gRPC level (IDs chosen by the client, so they compare as they are)
  out.push(["LeaseGrant with ID", stripIds(await unary(e, "Lease", "LeaseGrant", { ID: 4242, TTL: 30 }))]);
  out.push(["LeaseGrant with an ID in use", stripIds(await unary(e, "Lease", "LeaseGrant", { ID: 4242, TTL: 30 }))]);
  out.push(["LeaseGrant negative TTL", stripIds(await unary(e, "Lease", "LeaseGrant", { ID: 4243, TTL: -7 }))]);
  out.push(["LeaseGrant too large TTL", stripIds(await unary(e, "Lease", "LeaseGrant", { ID: 4244, TTL: "9000000001" }))]);
  out.push(["LeaseRevoke the 2 s lease before it expires", stripIds(await unary(e, "Lease", "LeaseRevoke", { ID: 4243 }))]);
  out.push(["LeaseGrant another", stripIds(await unary(e, "Lease", "LeaseGrant", { ID: 4245, TTL: 60 }))]);
  await unary(e, "KV", "Put", { key: b("lk2"), value: b("v"), lease: 4242 });
  await unary(e, "KV", "Put", { key: b("lk1"), value: b("v"), lease: 4242 });
  const ttl = (await unary(e, "Lease", "LeaseTimeToLive", { ID: 4242, keys: true })) as { TTL: string };
  const keys = ((ttl as unknown as { keys: Buffer[] }).keys ?? []).map(String).sort(); // etcd: Go map order
  out.push(["LeaseTimeToLive keys", stripIds({ ...ttl, keys, TTL: Number(ttl.TTL) >= 28 ? "ok" : ttl.TTL })]);
  out.push(["LeaseTimeToLive unknown", stripIds(await unary(e, "Lease", "LeaseTimeToLive", { ID: 999, keys: true }))]);
  out.push(["LeaseLeases", stripIds(await unary(e, "Lease", "LeaseLeases", {}))]);
  out.push(["LeaseRevoke", stripIds(await unary(e, "Lease", "LeaseRevoke", { ID: 4242 }))]);
  out.push(["LeaseRevoke again", stripIds(await unary(e, "Lease", "LeaseRevoke", { ID: 4242 }))]);
  out.push(["LeaseRevoke ID 0", stripIds(await unary(e, "Lease", "LeaseRevoke", { ID: 0 }))]);
  out.push(["keys after revoke", stripIds(await unary(e, "KV", "Range", { key: b("lk"), range_end: b("ll") }))]);

  // keep-alive stream: known lease, unknown lease, then the client half-closes
  const Ctor = clientConstructor("etcdserverpb", "Lease");
  const client = new Ctor(e, grpc.credentials.createInsecure());
  const ka = (client.LeaseKeepAlive as () => grpc.ClientDuplexStream<object, WireResp>).call(client);
  const kaOut: unknown[] = [];
  ka.on("data", (r: WireResp) => kaOut.push(stripIds(r)));
  const kaEnd = new Promise<string>((r) => {
    ka.on("status", (s: grpc.StatusObject) => r(`status ${s.code}`));
    ka.on("error", () => undefined);
  });
  ka.write({ ID: 4245 });
  ka.write({ ID: 5555 });
  ka.end();
  out.push(["LeaseKeepAlive stream", { responses: kaOut, end: await kaEnd }]);
  client.close();
  return out;
}

describe("watch and lease match etcd 3.4 (gRPC)", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  const flags = ["--max-request-bytes=100000"];
  sideBySide((e, o) => ([etcd, ours] = [e, o]), { flags });

  test("watch create/cancel/progress/filters/compaction/fragment and lease RPCs answer as etcd", async () => {
    await assertSameTranscripts("grpc", etcd, ours, grpcSession);
  });
});

// ------------------------------------------------------------------ JSON gateway

const normalizeGateway = (s: string) =>
  s
    .replace(/"(cluster_id|member_id)":"\d+",?/g, "")
    .replace(/"TTL":"(\d+)"/g, (_m, t: string) => (Number(t) > 20 && Number(t) <= 30 ? '"TTL":"~30"' : `"TTL":"${t}"`));

async function gatewaySession(m: MemberProcess): Promise<Array<[string, unknown]>> {
  const out: Array<[string, unknown]> = [];
  // `unordered`: the answer's lines are compared as a set, where etcd 3.4.23's own order varies from run to run
  const step = async (label: string, path: string, body: string, streamMs = 0, unordered = false) => {
    const r = await gatewayPost(m, path, body, streamMs);
    const text = normalizeGateway(r.body);
    out.push([label, { status: r.status, body: unordered ? text.split("\n").sort().join("\n") : text }]);
  };
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  await step("grant with ID", "/v3/lease/grant", '{"TTL": 30, "ID": 77}');
  await step("grant the same ID", "/v3/lease/grant", '{"TTL": 30, "ID": 77}');
  await step("put with the lease", "/v3/kv/put", JSON.stringify({ key: b64("gk"), value: b64("v"), lease: "77" }));
  await step("timetolive with keys", "/v3/lease/timetolive", '{"ID": 77, "keys": true}');
  await step("timetolive unknown (old path)", "/v3/kv/lease/timetolive", '{"ID": 78}');
  await step("leases", "/v3/lease/leases", "{}");
  await step("leases (old path)", "/v3/kv/lease/leases", "{}");
  await step("keepalive", "/v3/lease/keepalive", '{"ID": 77}');
  await step("keepalive unknown", "/v3/lease/keepalive", '{"ID": 79}');
  await step("keepalive twice in one body", "/v3/lease/keepalive", '{"ID": 77}\n{"ID": 77}');
  await step("keepalive garbage", "/v3/lease/keepalive", "garbage");
  await step("keepalive then garbage", "/v3/lease/keepalive", '{"ID": 77} garbage');
  await step("keepalive empty body", "/v3/lease/keepalive", "");
  // etcd 3.4.23 answers the progress request at once and catches the watcher up within 100 ms, in either order;
  // etcd-ts answers it once the watcher caught up (watch-session.ts, requestProgress)
  await step("watch from revision 1 with a progress request", "/v3/watch", JSON.stringify({ create_request: { key: b64("gk"), start_revision: 1 } }) + JSON.stringify({ progress_request: {} }), 800, true);
  await step("revoke", "/v3/lease/revoke", '{"ID": 77}');
  await step("revoke again (old path)", "/v3/kv/lease/revoke", '{"ID": 77}');
  await step("watch sees the put and the revoke's delete", "/v3/watch", JSON.stringify({ create_request: { key: b64("gk"), start_revision: 1, prev_kv: true } }), 800);
  await step("watch with a bad first request", "/v3/watch", "garbage");
  await step("watch with an array", "/v3/watch", "[]");
  await step("watch then garbage", "/v3/watch", JSON.stringify({ create_request: { key: b64("gk") } }) + " garbage", 500);
  return out;
}

describe("watch and lease match etcd 3.4 (JSON gateway)", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("/v3/lease/* (and /v3/kv/lease/*) and /v3/watch answer as etcd's gateway", async () => {
    await assertSameTranscripts("gateway", etcd, ours, gatewaySession);
  });
});
