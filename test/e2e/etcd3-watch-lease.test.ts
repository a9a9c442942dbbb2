import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Etcd3, type IKeyValue } from "etcd3";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond() && Date.now() < deadline) await sleep(25);
}

/** The npm etcd3 client's watch and lease APIs, driven the same way against real etcd and etcd-ts. */
describe("npm etcd3 client: watch and lease", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  async function session(m: MemberProcess) {
    const c = new Etcd3({ hosts: m.clientUrl });
    const out: Record<string, unknown> = {};
    const events: string[] = [];
    const show = (kv: IKeyValue, prev?: IKeyValue) => `${kv.key.toString()}=${kv.value.toString()} (prev ${prev ? prev.value.toString() : "-"}) lease:${kv.lease === "0" ? "none" : "yes"}`;
    try {
      const w = await c.watch().prefix("w/").withPreviousKV().create();
      w.on("put", (kv, prev) => events.push(`put ${show(kv, prev)}`));
      w.on("delete", (kv, prev) => events.push(`delete ${show(kv, prev)}`));
      await c.put("w/a").value("1");
      await c.put("w/a").value("2");
      await c.delete().key("w/a");

      // a lease with a key, kept alive once, then revoked: the key goes with it
      const lease = c.lease(30, { autoKeepAlive: false });
      await lease.grant();
      await lease.put("w/leased").value("x");
      const ka = await lease.keepaliveOnce();
      out.keepaliveTTL = ka.TTL;
      await lease.revoke();
      out.afterRevoke = await c.get("w/leased").string();
      try {
        await lease.keepaliveOnce();
        out.keepaliveAfterRevoke = "no error";
      } catch (e) {
        out.keepaliveAfterRevoke = (e as Error).message.replace(/\d{6,}/, "<id>");
      }

      // a 2 s lease kept alive automatically survives past its TTL; once released it expires
      const auto = c.lease(2);
      await auto.grant();
      let fired = 0;
      auto.on("keepaliveSucceeded", () => fired++);
      await auto.put("w/auto").value("alive");
      await sleep(3000);
      out.autoKeptAlive = (await c.get("w/auto").string()) === "alive" && fired > 0;
      auto.release();
      await until(() => events.some((e) => e.startsWith("delete w/auto")), 8000);
      out.autoExpired = await c.get("w/auto").string();

      await c.put("w/end").value("1");
      await until(() => events.some((e) => e.startsWith("put w/end")), 5000);
      await w.cancel();
      await c.put("w/after-cancel").value("1");
      await sleep(300);
      out.events = [...events];

      // history: a watcher from revision 2 replays what happened under the prefix
      const replay: string[] = [];
      const h = await c.watch().prefix("w/").startRevision("2").create();
      h.on("put", (kv) => replay.push(`put ${kv.key.toString()}`));
      h.on("delete", (kv) => replay.push(`delete ${kv.key.toString()}`));
      await until(() => replay.includes("put w/after-cancel"), 5000);
      await h.cancel();
      out.replay = replay;
      return out;
    } finally {
      c.close();
    }
  }

  test("watch events, lease keepalive/revoke/expiry agree with etcd", async () => {
    const [want, got] = await Promise.all([session(etcd), session(ours)]);
    assert.deepEqual(got, want);
    assert.equal(got.autoKeptAlive, true);
    assert.equal(got.afterRevoke, null);
    assert.equal(got.autoExpired, null);
  });
});
