/**
 * The backup kit's pure parts and its file handling: backup file names round-trip, the retention
 * rule (count, age, both, the newest always kept), --max-age parsing, endpoint/TLS checks, and
 * applyRetention on a directory (a backup goes with its sidecar; other files stay).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupFileName, expiredBackups, listBackups, parseAge, parseBackupFileName, type BackupEntry } from "../../ansible-free-scripts/backup/retention.js";
import { applyRetention } from "../../ansible-free-scripts/backup/backup.js";
import { parseEndpoints } from "../../ansible-free-scripts/backup/snapshot-client.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-retention-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DAY = 86_400_000;
const now = new Date(Date.UTC(2026, 11, 5, 12, 0, 0, 0));
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY);
const entries = (ages: number[]): BackupEntry[] => ages.map((d) => ({ file: backupFileName("c", daysAgo(d)), takenAt: daysAgo(d) }));
const ages = (es: BackupEntry[]) => es.map((e) => Math.round((now.getTime() - e.takenAt.getTime()) / DAY)).sort((a, b) => a - b);

test("backup file names: UTC, sortable, parsed back exactly; other names and other clusters are not backups", () => {
  const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  assert.equal(backupFileName("prod-1", t), "prod-1-20260102T030405006Z.db");
  assert.equal(parseBackupFileName("prod-1", "prod-1-20260102T030405006Z.db")?.getTime(), t.getTime());
  for (const bad of ["prod-1-20260102T030405006Z.json", "prod-2-20260102T030405006Z.db", "prod-1-20261302T030405006Z.db", "prod-1-20260102T030405006.db", ".prod-1-20260102T030405006Z.db.part", "prod-1-x.db"]) {
    assert.equal(parseBackupFileName("prod-1", bad), undefined, bad);
  }
  // "prod" must not claim the backups of "prod-1"
  assert.equal(parseBackupFileName("prod", "prod-1-20260102T030405006Z.db"), undefined);
  assert.deepEqual(
    listBackups("c", [backupFileName("c", daysAgo(3)), "notes.txt", backupFileName("c", daysAgo(1)), backupFileName("d", daysAgo(0))]).map((e) => e.takenAt.getTime()),
    [daysAgo(1).getTime(), daysAgo(3).getTime()],
  );
});

test("retention: --keep N keeps the newest N; --max-age removes older ones; both apply; the newest is always kept", () => {
  const all = entries([0, 1, 2, 3, 10, 20]);
  assert.deepEqual(ages(expiredBackups(all, { keep: 3 }, now)), [3, 10, 20]);
  assert.deepEqual(ages(expiredBackups(all, { maxAgeMs: 7 * DAY }, now)), [10, 20]);
  assert.deepEqual(ages(expiredBackups(all, { keep: 5, maxAgeMs: 2.5 * DAY }, now)), [3, 10, 20]);
  assert.deepEqual(ages(expiredBackups(all, { keep: 1 }, now)), [1, 2, 3, 10, 20]);
  assert.deepEqual(expiredBackups(all, {}, now), []);
  // backups stopped 30 days ago: the last one stays, whatever its age
  assert.deepEqual(ages(expiredBackups(entries([30, 31]), { maxAgeMs: 7 * DAY }, now)), [31]);
  // order of the listing does not matter
  assert.deepEqual(ages(expiredBackups(entries([20, 0, 10, 3]), { keep: 2 }, now)), [10, 20]);
});

test("--max-age: a whole number and a unit", () => {
  assert.equal(parseAge("7d"), 7 * DAY);
  assert.equal(parseAge("36h"), 36 * 3_600_000);
  assert.equal(parseAge("90m"), 90 * 60_000);
  assert.equal(parseAge("2w"), 14 * DAY);
  assert.equal(parseAge("45s"), 45_000);
  for (const bad of ["7", "d", "0d", "-1d", "1.5d", "7 d", "7D", "7days", ""]) assert.throws(() => parseAge(bad), /--max-age wants/, bad);
});

test("endpoints: schemes, TLS by https or by TLS files for bare host:port; TLS files with only http:// endpoints are refused", () => {
  assert.deepEqual(parseEndpoints(["127.0.0.1:2379", "http://127.0.0.1:2381/"], {}), [
    { url: "http://127.0.0.1:2379", tls: false },
    { url: "http://127.0.0.1:2381", tls: false },
  ]);
  assert.deepEqual(parseEndpoints(["10.0.0.1:2379"], { cacert: "ca.pem" }), [{ url: "https://10.0.0.1:2379", tls: true }]);
  assert.deepEqual(parseEndpoints(["https://h:2379"], {}), [{ url: "https://h:2379", tls: true }]);
  assert.throws(() => parseEndpoints(["http://h:2379"], { cacert: "ca.pem" }), /every endpoint is http/);
  assert.throws(() => parseEndpoints(["https://h:2379"], { cert: "c.pem" }), /--cert and --key go together/);
  assert.throws(() => parseEndpoints(["unix://x"], {}), /scheme must be http or https/);
  assert.throws(() => parseEndpoints([], {}), /no endpoints/);
});

test("applyRetention removes expired backups with their sidecars, and nothing else", async () => {
  const names = [0, 1, 2, 9].map((d) => backupFileName("c", daysAgo(d)));
  for (const n of names) {
    writeFileSync(join(tmp, n), "db");
    writeFileSync(join(tmp, n.replace(/\.db$/, ".json")), "{}");
  }
  writeFileSync(join(tmp, backupFileName("other", daysAgo(30))), "db");
  writeFileSync(join(tmp, "notes.txt"), "keep me");
  const removed = await applyRetention(tmp, "c", { keep: 3, maxAgeMs: 7 * DAY }, now);
  assert.deepEqual(removed, [names[3]]);
  assert.deepEqual((await applyRetention(tmp, "c", { keep: 2 }, now)).sort(), [names[2]]);
  assert.deepEqual(readdirSync(tmp).sort(), [...names.slice(0, 2).flatMap((n) => [n, n.replace(/\.db$/, ".json")]), backupFileName("other", daysAgo(30)), "notes.txt"].sort());
});
