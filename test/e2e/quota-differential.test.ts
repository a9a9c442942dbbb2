/**
 * Differential: the space quota's whole runbook on Debian's etcd 3.4.23 and etcd-ts, both started
 * with --quota-backend-bytes=4 MiB: puts of 64 KiB until one is refused; then what is refused and
 * what still works (etcdctl's outputs compared, member IDs normalized), and the recovery etcd's
 * maintenance guide gives: delete, compact, defrag, alarm disarm, and writes work again.
 * How many puts fit differs (bbolt and lmdb grow differently) and is not compared.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import type { MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

const QUOTA = 4 * 1024 * 1024;
const VALUE = "x".repeat(64 * 1024);

describe("the space quota and its recovery match etcd 3.4", { timeout: 240_000 }, () => {
  let etcd!: MemberProcess;
  let ours!: MemberProcess;
  sideBySide(
    (e, o) => {
      etcd = e;
      ours = o;
    },
    { flags: [`--quota-backend-bytes=${QUOTA}`] },
  );
  const ids = new Map<MemberProcess, string>();
  const idOf = async (m: MemberProcess) => {
    // `endpoint status` prints the ID in hex (its JSON form has it as a number too large for JS)
    if (!ids.has(m)) ids.set(m, (await etcdctl(m.endpoint, ["endpoint", "status"])).stdout.split(", ")[1]!);
    return ids.get(m)!;
  };
  /** etcdctl's exit code and output, this member's ID (hex or decimal) and endpoint replaced, log lines dropped. */
  const ctl = async (m: MemberProcess, args: string[], stdin?: string) => {
    const r: CtlResult = await etcdctl(m.endpoint, args, stdin);
    const id = await idOf(m);
    const norm = (s: string) =>
      s
        .split("\n")
        .filter((l) => !l.startsWith('{"level"'))
        .join("\n")
        .split(BigInt("0x" + id).toString())
        .join("<id>")
        .split(id)
        .join("<id>")
        .split(m.endpoint)
        .join("<ep>");
    return { code: r.code, out: norm(r.stdout), err: norm(r.stderr) };
  };
  async function same(what: string, steps: (m: MemberProcess) => Promise<unknown>): Promise<void> {
    const theirs = await steps(etcd);
    const mine = await steps(ours);
    assert.deepEqual(mine, theirs, `${what}\n  etcd:    ${JSON.stringify(theirs)}\n  etcd-ts: ${JSON.stringify(mine)}`);
  }

  test("puts until the quota: refused with etcd's error, NOSPACE raised and listed", async () => {
    await same("filling up", async (m) => {
      let refused: Awaited<ReturnType<typeof ctl>> | undefined;
      for (let i = 0; i < 400 && !refused; i++) {
        const r = await ctl(m, ["put", `big/${String(i).padStart(4, "0")}`, VALUE]);
        if (r.code !== 0) refused = r;
      }
      return refused;
    });
  });

  test("while NOSPACE is raised: puts, txn puts and lease grants refused; reads, deletes work; status shows the alarm", async () => {
    await same("under the alarm", async (m) => ({
      list: await ctl(m, ["alarm", "list"]),
      put: await ctl(m, ["put", "small", "v"]),
      txnPut: await ctl(m, ["txn"], "\nput small v\n\n\n"),
      lease: (await ctl(m, ["lease", "grant", "60"])).err,
      get: (await ctl(m, ["get", "big/0000", "--print-value-only"])).out.length,
      count: (await ctl(m, ["get", "big/", "--prefix", "--count-only", "-w", "fields"])).code,
      statusErrors: (await ctl(m, ["endpoint", "status", "-w", "table"])).out.split("\n")[3]?.split("|").at(-2)?.trim(),
      del: (await ctl(m, ["del", "--prefix", "big/"])).code,
    }));
  });

  test("recovery: compact, defrag, disarm; writes work again and the alarm is gone", async () => {
    await same("recovery", async (m) => {
      const rev = (JSON.parse((await etcdctl(m.endpoint, ["get", "x", "-w", "json"])).stdout) as { header: { revision: number } }).header.revision;
      const compact = await ctl(m, ["compact", String(rev), "--physical"]);
      const stillRefused = await ctl(m, ["put", "small", "v"]);
      const defrag = await ctl(m, ["defrag"]);
      const disarm = await ctl(m, ["alarm", "disarm"]);
      return {
        compact: { ...compact, out: compact.out.replace(String(rev), "<rev>") },
        stillRefused,
        defrag,
        disarm,
        list: await ctl(m, ["alarm", "list"]),
        put: await ctl(m, ["put", "small", "v"]),
        get: await ctl(m, ["get", "small", "--print-value-only"]),
      };
    });
  });
});
