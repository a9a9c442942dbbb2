/**
 * `etcdkit ssh restore` on the kit's namespace hosts (3 hosts, each its own sshd; the SSH deploy
 * runs the members under the supervisor fallback): a 3-member etcd-ts cluster is deployed, keys are
 * written, `etcdkit backup` takes a snapshot, more keys are written and some deleted, then:
 * - a damaged snapshot is refused before anything on the hosts changes (members keep running, the
 *   later keys are still there);
 * - the real snapshot restores every member: the keys and the revision are the snapshot's on every
 *   member, the later writes are gone, the cluster ID is new, each old data dir is kept beside the
 *   new one, and the restored cluster takes writes.
 * Skips (saying why) only where network namespaces cannot be created.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, truncateSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostsLab } from "../../ansible-free-scripts/hosts/lab.js";
import { labUnavailable } from "../../ansible-free-scripts/hosts/netns.js";
import { takeBackup } from "../../ansible-free-scripts/backup/backup.js";
import { parseEndpoints } from "../../ansible-free-scripts/backup/snapshot-client.js";
import { SshRemote } from "../../ansible-free-scripts/ssh/remote.js";
import { sshRestore } from "../../ansible-free-scripts/ssh/restore.js";
import { etcdctl } from "../support/etcdctl.js";
import { ensureSshd } from "../support/ensure-sshd.js";

const unavailable = labUnavailable();

interface Range {
  header: { revision: number; cluster_id: number | string };
  kvs?: { key: string; value: string }[];
  count?: number;
}

describe("SSH restore on namespace hosts", { skip: unavailable ? `skipped: ${unavailable}` : false, timeout: 400_000 }, () => {
  test("a damaged snapshot changes nothing; the real one restores every member to its keys and revision, under a new cluster ID", { timeout: 380_000 }, async (t) => {
    ensureSshd();
    const t0 = Date.now();
    const lines: string[] = [];
    const log = (l: string) => lines.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${l}`);
    const lab = await HostsLab.create({ hosts: 3, checkLink: false, log });
    const work = mkdtempSync(join(tmpdir(), "etcdkit-ssh-restore-"));
    try {
      // TLS, the kit's default: etcdctl and the backup present the PKI's root client certificate.
      const inv = await lab.deploy("etcd-ts", log);
      const tls = lab.clientTls;
      assert.ok(tls, "a TLS deploy");
      const endpoints = lab.members().map((m) => m.clientUrl);
      assert.ok(endpoints.every((e) => e.startsWith("https://")));
      const ctl = (args: string[], ep: string | string[] = endpoints) => etcdctl(ep, [`--cacert=${tls.ca}`, `--cert=${tls.cert}`, `--key=${tls.key}`, ...args]);
      const range = async (ep: string, prefix: string): Promise<Range> => {
        const r = await ctl(["get", prefix, "--prefix", "--consistency=s", "-w", "json"], ep);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout.replace(/"cluster_id":(\d+)/, '"cluster_id":"$1"')) as Range;
      };
      for (let i = 0; i < 30; i++) assert.equal((await ctl(["put", `r/k${String(i).padStart(2, "0")}`, `v${i}`])).code, 0);
      const files = { cacert: tls.ca, cert: tls.cert, key: tls.key };
      const backup = await takeBackup({ cluster: inv.plan.stackName, dir: work, endpoints: parseEndpoints(endpoints, files), tls: files, retention: {} });
      const snapRev = backup.sidecar.revision!;
      t.diagnostic(`backup ${backup.path} at revision ${snapRev}`);
      for (let i = 30; i < 40; i++) assert.equal((await ctl(["put", `r/k${i}`, `later${i}`])).code, 0);
      assert.equal((await ctl(["del", "r/k00"])).code, 0);
      const before = await range(endpoints[0]!, "r/");
      assert.equal(before.kvs?.length, 39);

      // A damaged copy (cut short): refused here, before any host is touched.
      const damaged = join(work, "damaged.db");
      copyFileSync(backup.path, damaged);
      truncateSync(damaged, Math.floor(statSync(damaged).size / 2));
      await assert.rejects(sshRestore(inv, { remote: new SshRemote(false, log), log, from: damaged }), /snapshot restore .* failed/);
      for (const m of lab.members()) assert.notEqual(lab.memberPid(m.name), null, `${m.name} still runs`);
      assert.equal((await range(endpoints[1]!, "r/")).kvs?.length, 39, "nothing changed");

      await sshRestore(inv, { remote: new SshRemote(false, log), log, from: backup.path });
      for (const ep of endpoints) {
        const got = await range(ep, "r/");
        const keys = (got.kvs ?? []).map((kv) => Buffer.from(kv.key, "base64").toString());
        assert.deepEqual(keys, Array.from({ length: 30 }, (_, i) => `r/k${String(i).padStart(2, "0")}`), `${ep}: the snapshot's keys, not the later writes`);
        assert.equal(got.header.revision, snapRev, `${ep}: the snapshot's revision`);
        assert.notEqual(String(got.header.cluster_id), String(before.header.cluster_id), `${ep}: a new cluster ID`);
      }
      // Every member's old data dir is kept beside the new one.
      for (const [i, m] of lab.members().entries()) {
        const parent = join(lab.hostFs(lab.net.hosts[i]!), "var", "lib", "etcdkit");
        assert.ok(readdirSync(parent).some((d) => d.startsWith(`${m.name}.pre-restore-`)), `${m.name}: old data dir kept (${readdirSync(parent).join(", ")})`);
      }
      const put = await ctl(["put", "r/after", "x", "-w", "json"]);
      assert.equal(put.code, 0, put.stderr);
      assert.equal((await range(endpoints[2]!, "r/after")).kvs?.length, 1);
      t.diagnostic(lines.filter((l) => /restore|stopping|starting|kept|healthy/.test(l)).join("\n"));
    } catch (e) {
      t.diagnostic(lines.join("\n"));
      throw e;
    } finally {
      await lab.destroy();
      rmSync(work, { recursive: true, force: true });
      assert.equal(existsSync(work), false);
    }
  });
});
