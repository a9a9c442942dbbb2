/**
 * What the topology model writes into unit and env files cannot inject anything: a newline (a new
 * directive or env line), a trailing '\' (a continued line), NUL or another control character is
 * refused with the setting named; '%' is doubled so systemd does not expand it; a path with
 * spaces or quotes is quoted where the setting is a list. `systemd-analyze verify` reads a unit
 * full of such (legitimate, local) characters without a complaint. Host-side values (the stacks'
 * ETCDKIT_HOST_* options, host addresses, data dirs) have the strict forms of the SSH inventory.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnvFile, toEnvFile } from "../../server/config/render.js";
import { parseConfig } from "../../server/config/parse.js";
import { parseUnit, planTopology, renderUnit, type UnitSpec } from "../../topology/index.js";
import { readStackOptions } from "../../stacks/options.js";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-unit-safety-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const spec = (over: Partial<UnitSpec> = {}): UnitSpec => ({
  memberName: "etcd-1",
  user: "etcd",
  envFile: "/etc/etcdkit/etcd-1.env",
  execStart: ["/usr/bin/etcd"],
  writablePaths: ["/var/lib/etcdkit/etcd-1"],
  ...over,
});

test("a newline, CR, NUL, other control characters or a trailing backslash in any unit value is refused, naming the setting", () => {
  const bad = ["x\nExecStartPre=/bin/touch /tmp/pwned", "x\r\nUser=root", "x\0y", "x\ty", "x\\", "x\u007f"];
  const cases: [string, (v: string) => Partial<UnitSpec>][] = [
    ["Description", (v) => ({ description: v })],
    ["User=", (v) => ({ user: v })],
    ["Group=", (v) => ({ group: v })],
    ["EnvironmentFile=", (v) => ({ envFile: `/etc/${v}` })],
    ["WorkingDirectory=", (v) => ({ workingDirectory: `/srv/${v}` })],
    ["ExecStart argument", (v) => ({ execStart: ["/usr/bin/etcd", v] })],
    ["writable path", (v) => ({ writablePaths: [`/var/lib/${v}`] })],
  ];
  for (const [what, make] of cases) {
    for (const v of bad) {
      if (what === "ExecStart argument" && (v === "x\\" || v === "x\ty")) continue; // quoted: a legitimate argument
      if (what === "writable path" && v === "x\ty") continue; // ditto, checked below
      assert.throws(() => renderUnit(spec(make(v))), (e: Error) => e.name === "TopologyError" && e.message.includes(what.replace("=", "")), `${what} ${JSON.stringify(v)}`);
    }
  }
});

test("'%' is doubled everywhere systemd expands specifiers; list paths with spaces are quoted", () => {
  const u = renderUnit(
    spec({
      description: "100% etcd",
      envFile: "/etc/%n/x.env",
      workingDirectory: "/srv/%h",
      execStart: ["/opt/my app/%i/etcd", "--x=$HOME"],
      writablePaths: ["/data/a b", '/data/q"uote', "/data/%p"],
    }),
  );
  for (const line of ["Description=100%% etcd", "EnvironmentFile=/etc/%%n/x.env", "WorkingDirectory=/srv/%%h", 'ExecStart="/opt/my app/%%i/etcd" --x=$$HOME', 'ReadWritePaths="/data/a b" "/data/q\\"uote" /data/%%p']) {
    assert.ok(u.split("\n").includes(line), `unit has ${line}:\n${u}`);
  }
  assert.deepEqual(parseUnit(u).execStart, ["/opt/my app/%i/etcd", "--x=$HOME"]);
});

test("systemd-analyze verify reads a unit whose local paths hold spaces, quotes, '$' and '%' without a complaint", (t) => {
  const tool = which("systemd-analyze");
  if (!tool) return t.skip("systemd-analyze is missing (Debian's systemd package)");
  // %z is no specifier: left undoubled, systemd would refuse the line. (Quotes and backslashes are
  // legitimate in arguments and list paths, but systemd refuses them in the executable's path.)
  const dir = join(tmp, `my app $x %z;`);
  const odd = join(tmp, `data "q" 'q' \\ $x %z`);
  mkdirSync(odd, { recursive: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, "node"));
  writeFileSync(join(dir, "etcd-1.env"), "ETCD_NAME=etcd-1\n");
  const unitFile = join(tmp, "etcdkit-etcd-1.service");
  writeFileSync(
    unitFile,
    renderUnit(spec({ description: "etcd %z member", envFile: join(dir, "etcd-1.env"), workingDirectory: dir, execStart: [join(dir, "node"), join(packageRoot(), "bin", "etcd-ts.js"), "%z", `--data-dir=${odd}`], writablePaths: [dir, odd] })),
  );
  const r = spawnSync(tool, ["verify", unitFile], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), "", "no warnings");
  assert.throws(() => renderUnit(spec({ execStart: [`${dir}/"q"/node`] })), /quote or backslash, which systemd refuses in an executable path/);
});

test("env files: a newline in a local data dir is refused; other characters round-trip through the env file", () => {
  assert.throws(() => planTopology({ size: 1, target: "local", dataDirRoot: "/tmp/a\nETCD_NAME=evil" }), /data dir root "\/tmp\/a\\nETCD_NAME=evil" holds a control character/);
  const odd = "/tmp/my \"odd\" dir $(x) `y` 100% 'q'";
  const m = planTopology({ size: 1, target: "local", dataDirRoot: odd }).members[0]!;
  assert.equal(parseConfig([], parseEnvFile(toEnvFile(m.config))).config.dataDir, `${odd}/etcd-1`);
});

test("hosts: data dirs and addresses have the strict forms of the SSH inventory", () => {
  const hosts = [{ address: "10.0.0.1" }];
  assert.throws(() => planTopology({ size: 1, target: "hosts", hosts, dataDirRoot: "/var/lib/$(touch x)" }), /data dir root "\/var\/lib\/\$\(touch x\)" may only hold/);
  assert.throws(() => planTopology({ size: 1, target: "hosts", hosts, dataDirRoot: "/var/lib/../etc" }), /'\.\.' segment/);
  assert.throws(() => planTopology({ size: 1, target: "hosts", hosts: [{ address: "-oProxyCommand=x" }] }), /address of host 1 \(etcd-1\) "-oProxyCommand=x" is neither an IPv4 address nor a DNS name/);
  assert.throws(() => planTopology({ size: 1, target: "docker", dataDirRoot: "/var/lib/etcd data" }), /data dir root/);
  assert.throws(() => planTopology({ size: 1, token: "tok;en" }), /cluster token "tok;en"/);
});

test("stack options for bare hosts are refused before any stack exists, naming the variable", () => {
  const refused: [Record<string, string>, RegExp][] = [
    [{ ETCDKIT_HOST_USER: "etcd\nExecStartPre=/bin/sh" }, /ETCDKIT_HOST_USER "etcd\\nExecStartPre=\/bin\/sh" is not a valid user name/],
    [{ ETCDKIT_HOST_USER: "root;id" }, /ETCDKIT_HOST_USER/],
    [{ ETCDKIT_HOST_DATA_DIR: "/var/lib/x y" }, /ETCDKIT_HOST_DATA_DIR "\/var\/lib\/x y" may only hold/],
    [{ ETCDKIT_HOST_ENV_DIR: "/etc/%n" }, /ETCDKIT_HOST_ENV_DIR/],
    [{ ETCDKIT_HOST_APP_DIR: "opt/etcdkit" }, /ETCDKIT_HOST_APP_DIR "opt\/etcdkit" must be an absolute path/],
    [{ ETCDKIT_HOST_NODE: "/usr/bin/node`id`" }, /ETCDKIT_HOST_NODE/],
    [{ ETCDKIT_HOST_ETCD: "/usr/bin/../bin/etcd" }, /ETCDKIT_HOST_ETCD/],
    [{ ETCDKIT_HOST_SERVER: "etcd-ts; rm -rf /" }, /ETCDKIT_HOST_SERVER/],
    [{ ETCDKIT_HOSTS_3: "10.0.0.1,-oProxyCommand=x,10.0.0.3" }, /ETCDKIT_HOSTS_3\[1\] "-oProxyCommand=x"/],
  ];
  for (const [env, re] of refused) assert.throws(() => readStackOptions(tmp, env), re);
  assert.equal(readStackOptions(tmp, {}).bareHosts.user, "etcd");
});
