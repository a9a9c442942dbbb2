/**
 * Differential: `etcdctl lock` and `etcdctl elect` (clientv3's concurrency recipes over KV, lease
 * and watch) and the npm etcd3 client's lock and election, driven the same way against Debian's
 * etcd 3.4.23 and etcd-ts. Includes the lock passing on when its holder is killed with -9 (its
 * session lease expires) and the election passing on when the leader resigns.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Etcd3 } from "etcd3";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { etcdctl } from "../support/etcdctl.js";
import { leaseNormalizer } from "../support/lease-normalizer.js";
import { assertSameTranscripts, type Transcript } from "../support/transcript.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A long-running etcdctl (lock holder, candidate, observer) whose output can be awaited. */
function ctlProcess(endpoint: string, args: readonly string[]) {
  const child = spawn("etcdctl", [`--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((r) => child.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  return {
    output: () => out,
    /** Waits (bounded) until the output has `lines` lines. */
    async lines(n: number, timeoutMs = 15_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (out.split("\n").length - 1 < n && Date.now() < deadline) await sleep(25);
      return out;
    },
    async stop(signal: NodeJS.Signals): Promise<{ out: string; err: string; code: number | string }> {
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(t);
      return { out, err: err.replace(/\{"level".*\n?/g, ""), code };
    },
    exited,
  };
}

async function ctlSession(m: MemberProcess): Promise<Transcript> {
  const n = leaseNormalizer();
  const out: Transcript = [];
  const rec = (label: string, v: { code: number | string; stdout?: string; out?: string; stderr?: string; err?: string }) =>
    out.push([label, { code: v.code, out: n.str(v.stdout ?? v.out ?? ""), err: n.str((v.stderr ?? v.err ?? "").replace(/\{"level".*\n?/g, "")) }]);
  const ep = m.endpoint;

  rec("lock with a command (gets the key and revision in its environment)", await etcdctl(ep, ["lock", "L", "sh", "-c", "echo $ETCD_LOCK_KEY $ETCD_LOCK_REV"]));
  rec("lock without a name", await etcdctl(ep, ["lock"]));
  rec("the lock is free again", await etcdctl(ep, ["get", "--prefix", "L/"]));

  // a holder killed with -9: its 2 s session lease expires and the waiter gets the lock
  const holder = ctlProcess(ep, ["lock", "--ttl=2", "L2"]);
  const held = await holder.lines(2);
  const waiter = ctlProcess(ep, ["lock", "--ttl=2", "L2", "echo", "waiter ran"]);
  await sleep(500);
  const waiting = waiter.output();
  const killedAt = Date.now();
  await holder.stop("SIGKILL");
  const w = await Promise.race([waiter.exited.then(() => "done"), sleep(15_000).then(() => "timeout")]);
  const tookMs = Date.now() - killedAt;
  const wr = await waiter.stop("SIGKILL");
  out.push(["holder's output", n.str(held)]);
  out.push(["waiter, while the holder lives", waiting]);
  rec("waiter, after the holder was killed", wr);
  out.push(["the waiter got the lock within TTL + 2 s", w === "done" && tookMs < 4000]);

  // SIGINT releases the lock at once
  const h2 = ctlProcess(ep, ["lock", "L3"]);
  await h2.lines(2);
  rec("holder interrupted", await h2.stop("SIGINT"));
  rec("an interrupted holder unlocked", await etcdctl(ep, ["get", "--prefix", "L3/"]));

  // election: an observer, a leader, a waiting candidate; the leader resigns on SIGINT
  const observer = ctlProcess(ep, ["elect", "-l", "E"]);
  await sleep(300);
  const a = ctlProcess(ep, ["elect", "E", "alpha"]);
  await a.lines(2);
  const bCand = ctlProcess(ep, ["elect", "E", "beta"]);
  await sleep(500);
  out.push(["second candidate waits", bCand.output()]);
  rec("leader resigns (SIGINT)", await a.stop("SIGINT"));
  await bCand.lines(2);
  rec("second candidate elected", await bCand.stop("SIGINT"));
  await observer.lines(4);
  await sleep(300);
  rec("observer", await observer.stop("SIGINT"));
  rec("elect without a proposal or -l", await etcdctl(ep, ["elect", "E"]));
  rec("elect -l with a proposal", await etcdctl(ep, ["elect", "-l", "E", "x"]));
  rec("no candidates left", await etcdctl(ep, ["get", "--prefix", "E/"]));
  return out;
}

async function etcd3Session(m: MemberProcess): Promise<Record<string, unknown>> {
  const c = new Etcd3({ hosts: m.clientUrl });
  const out: Record<string, unknown> = {};
  try {
    const order: string[] = [];
    const l1 = c.lock("res").ttl(2);
    await l1.acquire();
    order.push("first acquired");
    // etcd3's lock is a try-lock: a second acquire fails while the first holds it
    const l2 = c.lock("res").ttl(2);
    await l2.acquire().then(
      () => order.push("second acquired while held"),
      (e: Error) => order.push(`second refused: ${e.message}`),
    );
    order.push("first releases");
    await l1.release();
    await l2.acquire();
    order.push("second acquired");
    await l2.release();
    out.lockOrder = order;
    out.doResult = await c.lock("res").do(async () => "ran under the lock");

    const election = c.election("el");
    const observer = await election.observe();
    await sleep(300);
    const seen: string[] = [];
    observer.on("change", (v: string | undefined) => seen.push(String(v)));
    const camp1 = election.campaign("one");
    await camp1.wait();
    await sleep(300);
    await camp1.proclaim("one-b");
    await sleep(300);
    const camp2 = election.campaign("two");
    await sleep(300);
    out.leaderBeforeResign = await election.leader();
    await camp1.resign();
    await camp2.wait();
    await sleep(300);
    out.leaderAfterResign = await election.leader();
    await camp2.resign();
    await sleep(300);
    out.observed = seen;
    await observer.cancel();
  } finally {
    c.close();
  }
  return out;
}

describe("etcdctl lock/elect and the etcd3 client's lock and election match etcd 3.4", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  test("etcdctl lock and elect print what they print against etcd, and a killed holder's lock passes on", async () => {
    const want = await assertSameTranscripts("etcdctl-lock-elect", etcd, ours, ctlSession);
    assert.deepEqual(want.find((s) => s[0].startsWith("the waiter got the lock"))![1], true, "etcd itself passes the lock on");
  });

  test("npm etcd3: lock ordering and election campaign/proclaim/resign/observe agree", async () => {
    const [want, got] = await Promise.all([etcd3Session(etcd), etcd3Session(ours)]);
    assert.deepEqual(got, want);
  });
});
