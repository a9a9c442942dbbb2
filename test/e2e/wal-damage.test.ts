import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMember, type MemberProcess } from "../support/member-process.js";
import { etcdctl } from "../support/etcdctl.js";

function walFiles(m: MemberProcess): string[] {
  const dir = join(m.dataDir, "data", "member", "wal");
  return readdirSync(dir).filter((f) => f.endsWith(".wal")).sort().map((f) => join(dir, f));
}

/** Start-up with a damaged WAL: a torn tail (crash mid-write) is repaired; corruption stops the server naming the file. */
describe("WAL damage at start-up", () => {
  const members: MemberProcess[] = [];
  after(async () => Promise.all(members.map((m) => m.dispose())));

  test("a torn tail is truncated and every acknowledged write survives", async () => {
    const m = await startMember("etcd-ts");
    members.push(m);
    for (let i = 0; i < 20; i++) assert.equal((await etcdctl(m.endpoint, ["put", `k${i}`, `v${i}`])).code, 0);
    await m.kill("SIGKILL");
    const last = walFiles(m).at(-1)!;
    appendFileSync(last, Buffer.from([0x30, 0, 0, 0, 0x02, 0xde, 0xad])); // a record header cut short
    const again = await startMember("etcd-ts", { dataDir: m.dataDir });
    members.push(again);
    const got = await etcdctl(again.endpoint, ["get", "k", "--prefix", "--print-value-only"]);
    assert.equal(got.stdout.trim().split("\n").length, 20);
  });

  test("a corrupted record stops the server with an error naming the WAL file", async () => {
    const m = await startMember("etcd-ts");
    members.push(m);
    for (let i = 0; i < 20; i++) await etcdctl(m.endpoint, ["put", `k${i}`, `value-${i}`]);
    await m.kill("SIGTERM");
    const file = walFiles(m)[0]!;
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from("value-3"));
    assert.ok(at > 0, "test setup: the value is in the WAL");
    bytes[at] ^= 0xff;
    writeFileSync(file, bytes);
    const again = await startMember("etcd-ts", { dataDir: m.dataDir, waitReady: false });
    members.push(again);
    const code = await again.exited;
    assert.notEqual(code, 0);
    assert.ok(again.log().includes(file.split("/").pop()!), `log should name ${file}:\n${again.log().slice(-2000)}`);
  });
});
