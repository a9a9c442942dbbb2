import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMember, type MemberProcess } from "../support/launcher.js";
import { etcdctl } from "../support/etcdctl.js";
import { AckedWrites } from "../support/acked-writes.js";
import { frames, type FrameInfo } from "../support/wal-frames.js";
import { REC_ENTRY, REC_HARDSTATE } from "../../server/wal/record.js";

function walFiles(dataDir: string): string[] {
  const dir = join(dataDir, "data", "member", "wal");
  return readdirSync(dir).filter((f) => f.endsWith(".wal")).sort().map((f) => join(dir, f));
}

/** Waits for the member to exit (a refusal to start), at most `ms`; kills it and fails if it does not. */
async function expectExit(m: MemberProcess, ms = 30000): Promise<number | NodeJS.Signals> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"running">((r) => (timer = setTimeout(() => r("running"), ms)));
  const code = await Promise.race([m.exited, timeout]);
  clearTimeout(timer);
  if (code === "running") {
    await m.kill("SIGKILL");
    assert.fail(`the member started although its storage is damaged:\n${m.log().slice(-2000)}`);
  }
  return code;
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
    const last = walFiles(m.dataDir).at(-1)!;
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
    const file = walFiles(m.dataDir)[0]!;
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

type Kind = "zeroed" | "truncated" | "flipped";
type Where = "head" | "middle" | "tail";

interface Case {
  readonly kind: Kind;
  readonly where: Where;
  /**
   * "repaired": the member starts and every acknowledged write is there. "wal": it refuses to start
   * with the WAL error, naming the segment and the offset. "inconsistent": the WAL was repaired
   * (a cut file looks like a write cut short) but lost acknowledged entries the backend holds, so
   * the start-up consistency check refuses it.
   */
  readonly expect: "repaired" | "wal" | "inconsistent";
  /** For "wal": the offset named: the damaged frame's, or the segment's head. */
  readonly at?: "frame" | 0;
}

/** The last segment of a member's WAL, damaged at its head, its middle (1.6 MB before the end) and its tail. */
const CASES: readonly Case[] = [
  { kind: "zeroed", where: "head", expect: "wal", at: 0 },
  { kind: "truncated", where: "head", expect: "wal", at: 0 },
  { kind: "flipped", where: "head", expect: "wal", at: 0 },
  // The issue: a zeroed header with 1.6 MB of acknowledged records after it was cut as a torn tail.
  { kind: "zeroed", where: "middle", expect: "wal", at: "frame" },
  { kind: "truncated", where: "middle", expect: "inconsistent" },
  { kind: "flipped", where: "middle", expect: "wal", at: "frame" },
  // The last frame is the hard state after the last entries: losing it loses no entry.
  { kind: "zeroed", where: "tail", expect: "repaired" },
  { kind: "truncated", where: "tail", expect: "repaired" },
  { kind: "flipped", where: "tail", expect: "wal", at: "frame" },
];

function damage(file: string, f: FrameInfo, kind: Kind): void {
  const buf = readFileSync(file);
  if (kind === "truncated") return truncateSync(file, f.offset === 0 ? 8 : f.offset + Math.floor((f.end - f.offset) / 2));
  if (kind === "zeroed") buf.fill(0, f.offset, f.end);
  else buf[f.offset + 16]! ^= 0x08;
  writeFileSync(file, buf);
}

describe("WAL damage matrix on a member (last segment)", () => {
  const root = mkdtempSync(join(tmpdir(), "wal-damage-e2e-"));
  const writes = new AckedWrites();
  const members: MemberProcess[] = [];
  let base = "";
  let fr: FrameInfo[] = [];

  before(async () => {
    const m = await startMember("etcd-ts");
    members.push(m);
    await writes.putUntilFailure(m.endpoint, { prefix: "k", count: 600, valueBytes: 3000, concurrency: 4 });
    assert.equal(writes.acked.size, 600, `every put acknowledged: ${writes.firstError?.message}`);
    await m.kill("SIGTERM");
    base = m.dataDir;
    const segs = walFiles(base);
    assert.equal(segs.length, 1, "one segment (64 MiB), so the last is also the first");
    fr = await frames(segs[0]!);
    assert.equal(fr.at(-1)!.type, REC_HARDSTATE, "test setup: the WAL ends with a hard state");
  });
  after(async () => {
    await Promise.all(members.map((m) => m.kill("SIGKILL")));
    rmSync(root, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(`${c.kind} ${c.where} of the last segment: ${c.expect}`, async () => {
      const dataDir = join(root, `${c.kind}-${c.where}`);
      cpSync(join(base, "data"), join(dataDir, "data"), { recursive: true });
      const file = walFiles(dataDir)[0]!;
      const size = fr.at(-1)!.end;
      const f =
        c.where === "head" ? fr[0]! : c.where === "tail" ? fr.at(-1)! : fr.find((x) => x.type === REC_ENTRY && x.offset >= size - 1_600_000)!;
      damage(file, f, c.kind);

      const m = await startMember("etcd-ts", { dataDir, waitReady: c.expect === "repaired" });
      members.push(m);
      if (c.expect === "repaired") {
        await writes.verify(m.endpoint, `${c.kind} ${c.where}: `);
        assert.equal((await etcdctl(m.endpoint, ["put", "after", "x"])).code, 0, "and it takes writes");
        await m.kill("SIGTERM");
        return;
      }
      assert.notEqual(await expectExit(m), 0);
      const log = m.log();
      if (c.expect === "wal") {
        const offset = c.at === 0 ? 0 : f.offset;
        assert.ok(log.includes(`${file} at offset ${offset}`), `the log names ${file} at offset ${offset}:\n${log.slice(-2000)}`);
      } else {
        assert.match(log, /has applied raft entries up to index \d+, but after the torn tail of .*\.wal was cut at offset \d+ the WAL in .* hold the log only up to index \d+/, log.slice(-2000));
      }
    });
  }
});
