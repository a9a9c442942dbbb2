/**
 * Differential: alarms on one member of Debian's etcd 3.4.23 and of etcd-ts. Alarms are raised with
 * the Maintenance Alarm call (etcdctl cannot raise one; etcd raises NOSPACE itself at its quota),
 * listed and cleared with `etcdctl alarm list` / `alarm disarm`; what a raised alarm does to writes,
 * Status and /health, and that the alarms survive a kill -9 and restart (etcd's `alarm` bucket).
 * Member IDs are normalized: etcd's and etcd-ts's differ.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import { grpcClient } from "../support/grpc-client.js";
import { startMember, type Flavor, type MemberProcess } from "../support/launcher.js";

const FLAVORS: Flavor[] = ["etcd", "etcd-ts"];
const ACTIVATE = 1;
const DEACTIVATE = 2;
const NOSPACE = 1;
const CORRUPT = 2;
const OTHER_MEMBER = "42";

interface AlarmReply {
  header: { member_id: string };
  alarms: { memberID: string; alarm: number }[];
}

describe("alarms match etcd 3.4 (one member each)", { timeout: 120_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  const selfIds = new Map<Flavor, string>();
  after(async () => {
    for (const m of members.values()) await m.dispose();
  });
  before(async () => {
    for (const f of FLAVORS) {
      const m = await startMember(f);
      members.set(f, m);
      selfIds.set(f, await memberIdOf(m));
    }
  });

  /** Text with this member's own ID as <self> (etcdctl prints it in hex and in decimal). */
  const norm = (f: Flavor, text: string): string => {
    const id = BigInt(selfIds.get(f)!);
    return text.split(id.toString()).join("<self>").split(id.toString(16)).join("<self>");
  };
  const ctl = async (f: Flavor, args: string[], stdin?: string) => {
    const r: CtlResult = await etcdctl(members.get(f)!.endpoint, args, stdin);
    // one alarm a line; etcd lists them in Go map order
    return { code: r.code, out: norm(f, r.stdout).split("\n").map((l) => l.trim()).filter((l) => l !== "").sort(), err: norm(f, r.stderr.replace(/\{"level".*\n?/g, "")).trim() };
  };
  const alarm = async (f: Flavor, action: number, memberID: string, type: number) => {
    const c = grpcClient(members.get(f)!.endpoint, "Maintenance");
    try {
      const r = await c.call<AlarmReply>("Alarm", { action, memberID: memberID === "self" ? selfIds.get(f)! : memberID, alarm: type });
      return r.alarms.map((a) => ({ memberID: a.memberID === selfIds.get(f) ? "<self>" : a.memberID, alarm: a.alarm })).sort((a, b) => a.alarm - b.alarm);
    } finally {
      c.close();
    }
  };
  const statusErrors = async (f: Flavor) => {
    const c = grpcClient(members.get(f)!.endpoint, "Maintenance");
    try {
      return (await c.call<{ errors: string[] }>("Status", {})).errors.map((e) => norm(f, e)).sort();
    } finally {
      c.close();
    }
  };
  const healthy = async (f: Flavor) => ((await (await fetch(`${members.get(f)!.clientUrl}/health`)).json()) as { health: string }).health;

  /** Runs `steps` on both members, in order; etcd-ts's outcomes must equal etcd's. */
  async function same(what: string, steps: (f: Flavor) => Promise<unknown>): Promise<void> {
    const got: Record<string, unknown> = {};
    for (const f of FLAVORS) got[f] = await steps(f);
    assert.deepEqual(got["etcd-ts"], got.etcd, `${what}\n  etcd:    ${JSON.stringify(got.etcd)}\n  etcd-ts: ${JSON.stringify(got["etcd-ts"])}`);
  }

  test("no alarm at first: an empty list, and disarm prints nothing", async () => {
    await same("alarm list / disarm", async (f) => [await ctl(f, ["alarm", "list"]), await ctl(f, ["alarm", "disarm"])]);
  });

  test("NOSPACE raised for this member: listed, in Status, /health false, puts refused, deletes allowed", async () => {
    await same("activate NOSPACE", async (f) => ({
      activated: await alarm(f, ACTIVATE, "self", NOSPACE),
      again: await alarm(f, ACTIVATE, "self", NOSPACE),
      list: await ctl(f, ["alarm", "list"]),
      status: await statusErrors(f),
      health: await healthy(f),
      put: await ctl(f, ["put", "k", "v"]),
      txnPut: await ctl(f, ["txn"], "\nput k v\n\n"),
      del: await ctl(f, ["del", "k"]),
    }));
  });

  test("CORRUPT raised for another member too: both listed; a get by alarm type; writes refused as corrupt", async () => {
    await same("activate CORRUPT", async (f) => ({
      activated: await alarm(f, ACTIVATE, OTHER_MEMBER, CORRUPT),
      list: await ctl(f, ["alarm", "list"]),
      onlyCorrupt: await alarm(f, 0, "0", CORRUPT),
      status: await statusErrors(f),
      put: await ctl(f, ["put", "k", "v"]),
      del: await ctl(f, ["del", "k"]),
    }));
  });

  test("deactivating: an alarm that is not raised answers nothing; disarm clears every alarm; writes work again", async () => {
    await same("deactivate and disarm", async (f) => ({
      notRaised: await alarm(f, DEACTIVATE, "7", NOSPACE),
      disarm: await ctl(f, ["alarm", "disarm"]),
      list: await ctl(f, ["alarm", "list"]),
      status: await statusErrors(f),
      health: await healthy(f),
      put: await ctl(f, ["put", "k", "v"]),
    }));
  });

  test("a raised alarm survives kill -9 and a restart", async () => {
    for (const f of FLAVORS) {
      await alarm(f, ACTIVATE, "self", NOSPACE);
      await alarm(f, ACTIVATE, OTHER_MEMBER, CORRUPT);
      // wait for the write to be applied and flushed as etcd does (its backend commits every 100 ms)
      await etcdctl(members.get(f)!.endpoint, ["alarm", "list"]);
      await new Promise((r) => setTimeout(r, 300));
      const old = members.get(f)!;
      await old.kill("SIGKILL");
      // not waiting for /health: it is false while an alarm is raised
      const m = await startMember(f, { dataDir: old.dataDir, clientPort: Number(new URL(old.clientUrl).port), peerPort: peerPortOf(old), waitReady: false });
      members.set(f, m);
      await untilServing(m);
    }
    await same("after restart", async (f) => ({ list: await ctl(f, ["alarm", "list"]), put: await ctl(f, ["put", "k", "v"]), disarm: await ctl(f, ["alarm", "disarm"]) }));
  });
});

async function memberIdOf(m: MemberProcess): Promise<string> {
  const c = grpcClient(m.endpoint, "Maintenance");
  try {
    return (await c.call<{ header: { member_id: string } }>("Status", {})).header.member_id;
  } finally {
    c.close();
  }
}

/** Waits until the member answers a Status call with a leader (its /health is false while an alarm is raised). */
async function untilServing(m: MemberProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const c = grpcClient(m.endpoint, "Maintenance");
      try {
        const s = await c.call<{ leader: string }>("Status", {});
        if (s.leader !== "0") return;
      } finally {
        c.close();
      }
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${m.flavor} did not come back:\n${m.log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The peer port the member was started with (from its command line). */
function peerPortOf(m: MemberProcess): number {
  const arg = m.child.spawnargs.find((a) => a.startsWith("--listen-peer-urls="))!;
  return Number(new URL(arg.slice("--listen-peer-urls=".length)).port);
}
