/**
 * Hostile values in every inventory field. Each (field, value) pair must either be refused before
 * anything runs, with an error naming the field and showing the value, or (the one field where
 * such characters are legitimate: the local ssh identity file) be passed through unchanged. The
 * proof that nothing is ever evaluated is a canary: every value tries to `touch` a file that must
 * never appear — after `etcdkit ssh deploy|status|teardown --dry-run`, and after running the
 * printed dry-run listing itself with ssh/scp replaced by recorders.
 * (The same values against a real sshd: test/scripts/ssh-deploy.test.ts.)
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify as toYaml } from "yaml";
import { parseInventory } from "../../ansible-free-scripts/ssh/inventory.js";
import { main as sshMain } from "../../ansible-free-scripts/ssh/cli.js";
import { SshRemote, sshArgs } from "../../ansible-free-scripts/ssh/remote.js";
import { deploy, status, teardown } from "../../ansible-free-scripts/ssh/deploy.js";
import { hostileValues, setField, validInventory, INVENTORY_FIELDS, type Doc } from "../support/hostile-values.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-hostile-"));
const canary = join(tmp, "canary");
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI with its output captured (it writes to process.stdout/stderr). */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  const grab = (chunk: string | Uint8Array) => ((out += String(chunk)), true);
  process.stdout.write = grab as typeof process.stdout.write;
  process.stderr.write = grab as typeof process.stderr.write;
  try {
    return { code: await sshMain(args), out };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

describe("every inventory field refuses hostile values with a message naming the field and the value", () => {
  for (const f of INVENTORY_FIELDS) {
    test(f.field, async () => {
      let refused = 0;
      for (const v of hostileValues(f.kind, canary)) {
        const doc = validInventory();
        setField(doc, f, v);
        const file = join(tmp, "inventory.json");
        writeFileSync(file, JSON.stringify(doc));
        // A list shows the offending element; anything else shows itself.
        const shownOf = (x: unknown) => JSON.stringify(typeof x === "string" ? x : String(x)).slice(0, 12).replace(/"$/, "");
        const shown = Array.isArray(v) ? v.map(shownOf) : [shownOf(v)];
        let err: Error | undefined;
        try {
          parseInventory(doc);
        } catch (e) {
          err = e as Error;
        }
        if (f.kind === "identity" && err === undefined) continue; // legitimate: checked below
        assert.ok(err, `${f.field} = ${JSON.stringify(v)} was accepted`);
        assert.equal(err!.name, "TopologyError", `${f.field} = ${JSON.stringify(v)}: ${err!.message}`);
        assert.ok(err!.message.includes(f.field), `the message names ${f.field}: ${err!.message}`);
        assert.ok(shown.some((x) => err!.message.includes(x)), `the message shows the value ${shown.join(" ")}: ${err!.message}`);
        refused++;
        // The CLI, dry-run or not, refuses the same inventory before running anything.
        for (const cmd of ["deploy", "status", "teardown", "rolling-restart"]) {
          const r = await cli([cmd, "--inventory", file, "--dry-run"]);
          assert.equal(r.code, 1, `${cmd} ${f.field}=${JSON.stringify(v)}: ${r.out}`);
          assert.ok(r.out.includes(f.field), r.out);
          assert.doesNotMatch(r.out, /ssh -o|ETCDKIT_SCRIPT/, "nothing was printed to run");
        }
        assert.equal(existsSync(canary), false, `canary created by ${f.field} = ${JSON.stringify(v)}`);
      }
      assert.ok(refused > 0 || f.kind === "identity");
    });
  }
});

describe("a hostile but legitimate identity file name is passed to ssh and scp unchanged, never evaluated", () => {
  const bin = join(tmp, "bin");
  const record = join(tmp, "record");
  mkdirSync(bin, { recursive: true });
  // ssh and scp stand-ins: one file per call with the argv (NUL-separated) and what came on stdin.
  for (const tool of ["ssh", "scp"]) {
    const p = join(bin, tool);
    writeFileSync(p, `#!/bin/sh\nn=$(ls ${JSON.stringify(record)} | wc -l)\nprintf '%s\\0' ${tool} "$@" > ${JSON.stringify(record)}/$n.argv\ncat > ${JSON.stringify(record)}/$n.stdin\n`);
    chmodSync(p, 0o755);
  }

  const legitimate = hostileValues("identity", canary).filter((v): v is string => typeof v === "string" && !/[%\0\n\r\t\u2028]|\$\{/.test(v) && v !== "" && v.length < 1024);
  for (const identity of legitimate) {
    test(JSON.stringify(identity).slice(0, 60), async () => {
      const doc = validInventory();
      for (const host of doc.hosts as Doc[]) (host.ssh as Doc).identity = identity;
      (doc.cluster as Doc).server = "etcd-ts"; // so the bundle's scp is in the listing too
      const inv = parseInventory(doc);
      assert.equal(inv.members[0]!.ssh.identity, identity.startsWith("~/") ? join(process.env.HOME ?? "", identity.slice(2)) : identity);
      const printed: string[] = [];
      const o = { remote: new SshRemote(true, (l: string) => printed.push(l)), log: () => {} };
      await deploy(inv, o);
      await status(inv, o);
      await teardown(inv, o);
      const listing = printed.join("\n");
      assert.equal(existsSync(canary), false, "dry run created the canary");

      // Run the printed listing as a user would paste it: every ssh/scp gets exactly the planned argv.
      rmSync(record, { recursive: true, force: true });
      mkdirSync(record);
      const r = spawnSync("sh", ["-c", listing], { cwd: tmp, encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(existsSync(canary), false, "running the dry-run listing created the canary");
      const calls = readdirSync(record).filter((n) => n.endsWith(".argv")).sort((a, b) => parseInt(a) - parseInt(b));
      assert.ok(calls.length >= 4, `${calls.length} calls`);
      for (const c of calls) {
        const argv = readFileSync(join(record, c), "utf8").split("\0").slice(0, -1);
        const i = argv.indexOf("-i");
        assert.equal(argv[i + 1], inv.members[0]!.ssh.identity, "identity arrives as one argument, unchanged");
        if (argv[0] === "ssh") {
          assert.deepEqual(argv.slice(1), sshArgs(inv.members[0]!.ssh, "sh -s"));
          const stdin = readFileSync(join(record, c.replace(".argv", ".stdin")), "utf8");
          assert.match(stdin, /^set -[eu]/, "the script arrives whole on stdin");
        }
      }
    });
  }
});

test("the inventory is otherwise accepted (so every refusal above is the hostile value's doing)", () => {
  const inv = parseInventory(validInventory() as Doc);
  assert.equal(inv.members.length, 3);
});

test("the dry-run listing stays valid shell when a script line equals the heredoc delimiter", async () => {
  const printed: string[] = [];
  const remote = new SshRemote(true, (l: string) => printed.push(l));
  await remote.run({ host: "127.0.0.1", options: [] }, "echo one\nETCDKIT_SCRIPT\ntouch " + canary, "x");
  const r = spawnSync("sh", ["-n", "-c", printed.join("\n")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(printed[0]!, /<<'ETCDKIT_SCRIPT_1'\n/);
  assert.match(printed[0]!, / -- 127\.0\.0\.1 /, "-- before the destination");
});

// yaml is the inventory format users write: a hostile value survives a YAML round trip too.
test("YAML inventories carry the same refusals", async () => {
  const doc = validInventory();
  (doc.cluster as Record<string, unknown>).deployDir = `/opt/x'$(touch ${canary})'`;
  const file = join(tmp, "inventory.yaml");
  writeFileSync(file, toYaml(doc));
  const r = await cli(["deploy", "--inventory", file, "--dry-run"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /cluster\.deployDir ".*" may only hold letters, digits/);
  assert.equal(existsSync(canary), false);
});
