/**
 * Differential: `etcdctl snapshot save`, `endpoint hash`, `defrag` and `defrag --cluster` against
 * Debian's etcd 3.4.23 and etcd-ts (one member each, same keys written). The snapshot files differ
 * (bbolt vs lmdb) but etcdctl writes and verifies both the same way; `snapshot status` is etcdctl's
 * on etcd's file and `etcd-ts snapshot status` on etcd-ts's, and must print the same shape in every
 * output format, with the same revision. Defragment must give free pages back on etcd-ts (DB SIZE
 * in `endpoint status` smaller afterwards).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";
import { packageRoot } from "../../server/util/package-root.js";

const run = promisify(execFile);

/** `etcd-ts snapshot ...` */
async function etcdTs(args: string[]): Promise<CtlResult> {
  try {
    const r = await run(process.execPath, [join(packageRoot(), "bin", "etcd-ts.js"), "snapshot", ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** etcdctl's stdout/stderr without its zap JSON log lines. */
const plain = (s: string) => s.split("\n").filter((l) => !l.startsWith("{\"level\"")).join("\n");

/** The shape of a `snapshot status` output: hash, key count and size replaced (they differ by design). */
function statusShape(format: string, out: string): string {
  switch (format) {
    case "json":
      return out.replace(/"hash":\d+/, '"hash":H').replace(/"totalKey":\d+/, '"totalKey":K').replace(/"totalSize":\d+/, '"totalSize":S');
    case "fields":
      return out.replace(/"Hash" : \d+/, '"Hash" : H').replace(/"Keys" : \d+/, '"Keys" : K').replace(/"Size" : \d+/, '"Size" : S');
    case "simple": {
      const [, rev, , size] = out.trim().split(", ");
      return `H, ${rev}, K, ${/^[\d.]+ [kMG]?B$/.test(size ?? "") ? "S" : size}`;
    }
    default: {
      // table: borders and header as they are, cells trimmed (column widths follow the values)
      return out
        .trimEnd()
        .split("\n")
        .map((line) => {
          if (line.startsWith("+")) return "+-+";
          const cells = line.split("|").slice(1, -1).map((c) => c.trim());
          if (/^[0-9a-f]+$/.test(cells[0] ?? "") && cells[0] !== "HASH") return `|${["H", cells[1], "K", /^[\d.]+ [kMG]?B$/.test(cells[3] ?? "") ? "S" : cells[3]].join("|")}|`;
          return `|${cells.join("|")}|`;
        })
        .join("\n");
    }
  }
}

async function putKeys(m: MemberProcess, n: number, valueBytes: number): Promise<void> {
  const value = "v".repeat(valueBytes);
  for (let i = 0; i < n; i += 50) {
    const ops = Array.from({ length: Math.min(50, n - i) }, (_, j) => `put key${String(i + j).padStart(5, "0")} ${value}`).join("\n");
    const r = await etcdctl(m.endpoint, ["txn"], `\n${ops}\n\n\n`);
    assert.equal(r.code, 0, r.stderr);
  }
}

async function dbSize(m: MemberProcess): Promise<number> {
  const r = await etcdctl(m.endpoint, ["endpoint", "status", "-w", "json"]);
  return (JSON.parse(r.stdout) as { Status: { dbSize: number } }[])[0]!.Status.dbSize;
}

describe("snapshot save and defrag match etcd 3.4", { timeout: 180_000 }, () => {
  let etcd!: MemberProcess;
  let ours!: MemberProcess;
  sideBySide((e, o) => {
    etcd = e;
    ours = o;
  });
  const dir = mkdtempSync(join(tmpdir(), "etcd-ts-snapshot-diff-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

  test("etcdctl snapshot save writes and verifies a file from both; status prints the same shape", async () => {
    for (const m of [etcd, ours]) await putKeys(m, 200, 100);
    const files = { etcd: join(dir, "etcd.db"), ours: join(dir, "ours.db") };
    const saved = await Promise.all([etcd, ours].map((m, i) => etcdctl(m.endpoint, ["snapshot", "save", i === 0 ? files.etcd : files.ours])));
    assert.equal(saved[1]!.code, saved[0]!.code, saved[1]!.stderr);
    assert.equal(saved[0]!.code, 0);
    assert.equal(plain(saved[1]!.stdout).replace(files.ours, "F"), plain(saved[0]!.stdout).replace(files.etcd, "F"));
    assert.equal(statSync(files.ours).size % 512, 32, "etcd's rule: the sha256 trailer is there");
    assert.ok(!existsSync(`${files.ours}.part`));
    for (const format of ["simple", "table", "json", "fields"]) {
      const theirs = await etcdctl(etcd.endpoint, ["snapshot", "status", files.etcd, "-w", format]);
      const mine = await etcdTs(["status", files.ours, "-w", format]);
      assert.equal(mine.code, theirs.code, mine.stderr);
      assert.equal(statusShape(format, mine.stdout), statusShape(format, theirs.stdout), `-w ${format}\netcd:\n${theirs.stdout}\netcd-ts:\n${mine.stdout}`);
    }
    // the same revision in both (etcd: 200 puts after revision 1)
    const rev = (r: CtlResult) => (JSON.parse(r.stdout) as { revision: number }).revision;
    assert.equal(rev(await etcdTs(["status", files.ours, "-w", "json"])), rev(await etcdctl(etcd.endpoint, ["snapshot", "status", files.etcd, "-w", "json"])));
  });

  test("snapshot status errors: no argument, a missing file, a file that is not a snapshot", async () => {
    const junk = join(dir, "junk.db");
    await run("sh", ["-c", `head -c 8192 /dev/urandom > ${junk}`]);
    for (const args of [[], [join(dir, "missing.db")], [junk]]) {
      const theirs = await etcdctl(etcd.endpoint, ["snapshot", "status", ...args]);
      const mine = await etcdTs(["status", ...args]);
      assert.deepEqual({ code: mine.code, err: plain(mine.stderr).trim() }, { code: theirs.code, err: plain(theirs.stderr).trim() }, args.join(" "));
    }
  });

  test("etcdctl endpoint hash answers from both", async () => {
    const [a, b] = await Promise.all([etcd, ours].map((m) => etcdctl(m.endpoint, ["endpoint", "hash", "-w", "json"])));
    assert.equal(b!.code, a!.code, b!.stderr);
    const shape = (r: CtlResult) => Object.keys((JSON.parse(r.stdout) as { HashKV?: unknown; Hash?: unknown }[])[0]!).sort();
    assert.deepEqual(shape(b!), shape(a!));
  });

  test("etcdctl defrag and defrag --cluster print the same; etcd-ts's DB SIZE shrinks after deletes", async () => {
    await putKeys(ours, 1000, 2000);
    const del = await etcdctl(ours.endpoint, ["del", "--prefix", "key"]);
    assert.equal(del.code, 0);
    const rev = JSON.parse((await etcdctl(ours.endpoint, ["get", "x", "-w", "json"])).stdout).header.revision as number;
    assert.equal((await etcdctl(ours.endpoint, ["compact", String(rev), "--physical"])).code, 0);
    const before = await dbSize(ours);
    for (const args of [["defrag"], ["defrag", "--cluster"]]) {
      const [theirs, mine] = await Promise.all([etcd, ours].map((m) => etcdctl(m.endpoint, args)));
      const norm = (r: CtlResult, m: MemberProcess) => ({ code: r.code, out: plain(r.stdout).split(m.endpoint).join("E").split(m.clientUrl).join("E"), err: plain(r.stderr) });
      assert.deepEqual(norm(mine!, ours), norm(theirs!, etcd), args.join(" "));
    }
    const after = await dbSize(ours);
    assert.ok(after < before / 2, `DB SIZE ${before} -> ${after}`);
    // the member still serves reads and writes after the swap
    assert.equal((await etcdctl(ours.endpoint, ["put", "after", "defrag"])).code, 0);
    assert.match((await etcdctl(ours.endpoint, ["get", "after"])).stdout, /defrag/);
  });
});
