import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

/** The npm etcd3 client drives the same operations against real etcd and etcd-ts; results must agree. */
describe("npm etcd3 client", () => {
  let etcd: MemberProcess;
  let ours: MemberProcess;
  sideBySide((e, o) => ([etcd, ours] = [e, o]));

  async function session(m: MemberProcess) {
    const c = new Etcd3({ hosts: m.clientUrl });
    try {
      const out: Record<string, unknown> = {};
      await c.put("svc/a").value("1");
      await c.put("svc/b").value("2");
      await c.put("svc/c").value("3");
      out.prev = (await c.put("svc/a").value("10").getPrevious())?.value.toString();
      out.get = await c.get("svc/a").string();
      out.missing = await c.get("svc/zz").string();
      out.prefix = await c.getAll().prefix("svc/").strings();
      out.keys = await c.getAll().prefix("svc/").keys();
      out.count = await c.getAll().prefix("svc/").count();
      out.sorted = await c.getAll().prefix("svc/").sort("Value", "Descend").limit(2).strings();
      const txnOk = await c.if("svc/a", "Value", "==", "10").then(c.put("svc/t").value("yes")).else(c.put("svc/t").value("no")).commit();
      const txnNo = await c.if("svc/a", "Version", ">", 5).then(c.put("svc/u").value("yes")).else(c.put("svc/u").value("no")).commit();
      out.txn = [txnOk.succeeded, txnNo.succeeded, await c.get("svc/t").string(), await c.get("svc/u").string()];
      out.deleted = (await c.delete().prefix("svc/").exec()).deleted;
      out.after = await c.getAll().prefix("svc/").count();
      const res = await c.get("svc/a").exec();
      out.revision = res.header.revision;
      try {
        await c.put("").value("x");
        out.emptyKey = "no error";
      } catch (e) {
        out.emptyKey = (e as Error).message;
      }
      return out;
    } finally {
      c.close();
    }
  }

  test("put, get, prefix, sort, count, txn, delete and errors agree with etcd", async () => {
    const want = await session(etcd);
    const got = await session(ours);
    assert.deepEqual(got, want);
    assert.equal(got.get, "10");
  });
});
