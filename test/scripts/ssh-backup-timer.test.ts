/**
 * Scheduled backups in the SSH deploy (inventory `cluster.backup`): the timer + service rendered
 * for the cluster pass `systemd-analyze verify`; the deploy script of the first member's host (and
 * only that host) installs them and enables the timer under systemd, says it does not under the
 * supervisor; teardown removes them and keeps the backups; hostile values are refused naming the
 * field; a backup dir the sandbox hides is refused.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseInventory } from "../../ansible-free-scripts/ssh/inventory.js";
import { backupUnits, groupByHost, memberFiles, sandboxConflicts } from "../../ansible-free-scripts/ssh/deploy.js";
import { deployScript, teardownScript } from "../../ansible-free-scripts/ssh/scripts.js";
import { which } from "../../ansible-free-scripts/common/paths.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-ssh-backup-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const doc = (backup: unknown) => ({
  cluster: { name: "prod", server: "etcd-ts", ...(backup === undefined ? {} : { backup }) },
  hosts: ["10.0.0.11", "10.0.0.12", "10.0.0.13"].map((address, i) => ({ address, name: `etcd-${i + 1}` })),
});

test("cluster.backup: the pair verifies, the first host installs it and enables the timer; no backup key, no timer", (t) => {
  const inv = parseInventory(doc({ schedule: "*-*-* 02:30:00", keep: 14, maxAge: "30d", dir: "/srv/etcd-backups" }));
  assert.deepEqual(inv.cluster.backup, { schedule: "*-*-* 02:30:00", dir: "/srv/etcd-backups", keep: 14, maxAge: "30d" });
  const b = backupUnits(inv)!;
  assert.equal(b.name, "etcdkit-backup-prod");
  assert.ok(
    b.serviceText.split("\n").includes("ExecStart=/usr/bin/node /opt/etcdkit/app/bin/etcdkit.js backup --endpoints=https://10.0.0.11:2379,https://10.0.0.12:2379,https://10.0.0.13:2379 --cluster=prod --backup-dir=/srv/etcd-backups/prod --keep=14 --max-age=30d" +
        " --cacert=/etc/etcdkit/pki/etcd-1/ca.crt --cert=/etc/etcdkit/pki/etcd-1/server.crt --key=/etc/etcdkit/pki/etcd-1/server.key"),
    b.serviceText,
  );
  assert.ok(b.timerText.split("\n").includes("OnCalendar=*-*-* 02:30:00"));
  const scripts = groupByHost(inv).map((g, i) => deployScript(inv.cluster, g.members.map((m) => memberFiles(inv, m, false)), false, i === 0 ? b : undefined));
  assert.match(scripts[0]!, /systemctl enable --now --quiet -- '?etcdkit-backup-prod\.timer'?/);
  assert.match(scripts[0]!, /scheduled backups need systemd/);
  assert.ok(scripts.slice(1).every((s) => !s.includes("etcdkit-backup")));
  const down = teardownScript(inv.cluster, [], "etcdkit-backup-prod");
  assert.match(down, /systemctl disable --now --quiet -- '?etcdkit-backup-prod\.timer'?/);
  assert.doesNotMatch(down, /srv\/etcd-backups/, "backups are kept");
  assert.equal(backupUnits(parseInventory(doc(undefined))), undefined);
  assert.deepEqual(parseInventory(doc({})).cluster.backup, { schedule: "daily", dir: "/var/backups/etcdkit", keep: 7 });

  const tool = which("systemd-analyze");
  if (!tool) return t.skip("systemd-analyze is missing");
  writeFileSync(join(tmp, `${b.name}.service`), b.serviceText.replace("/usr/bin/node", process.execPath));
  writeFileSync(join(tmp, `${b.name}.timer`), b.timerText);
  const r = spawnSync(tool, ["verify", join(tmp, `${b.name}.service`), join(tmp, `${b.name}.timer`)], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), "", "no warnings");
});

test("cluster.backup: hostile or wrong values are refused naming the field; a hidden backup dir is a sandbox conflict", () => {
  const refused: [unknown, RegExp][] = [
    [{ schedule: "daily\nExecStartPre=/bin/sh -c id" }, /cluster\.backup\.schedule "daily\\nExecStartPre=\/bin\/sh -c id" is not a systemd calendar expression/],
    [{ schedule: "daily; $(touch x)" }, /cluster\.backup\.schedule .* is not a systemd calendar expression/],
    [{ schedule: "%n" }, /cluster\.backup\.schedule "%n" is not a systemd calendar expression/],
    [{ dir: "/srv/$(x)" }, /cluster\.backup\.dir "\/srv\/\$\(x\)" may only hold/],
    [{ dir: "relative" }, /cluster\.backup\.dir "relative"/],
    [{ keep: 0 }, /cluster\.backup\.keep "?0"? must be a whole number from 1/],
    [{ keep: "7; rm" }, /cluster\.backup\.keep "7; rm" must be a whole number/],
    [{ maxAge: "7 days" }, /cluster\.backup\.maxAge "7 days" must be a number and a unit/],
    [{ every: "day" }, /cluster\.backup has unknown setting "every"/],
    ["daily", /cluster\.backup "daily" must be a mapping/],
  ];
  for (const [b, re] of refused) assert.throws(() => parseInventory(doc(b)), re, JSON.stringify(b));
  assert.deepEqual(sandboxConflicts(parseInventory(doc({ dir: "/home/ops/backups" })).cluster), [
    "cluster.backup.dir /home/ops/backups is under /home, which the systemd units hide from members (ProtectHome=yes, PrivateTmp=yes): choose another directory",
  ]);
});
