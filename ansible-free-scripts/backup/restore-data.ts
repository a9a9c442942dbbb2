/**
 * The data dirs of a new cluster from a snapshot: one `etcd-ts snapshot restore` per member, with
 * the new cluster's names, peer URLs and token (etcdctl's restore: a new cluster ID, every member
 * starts from the snapshot's keys and revision). The commands are planned (pure) apart from being
 * run, so what the kit runs for the local runner is what it prints for hosts it cannot reach.
 */
import { execa } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../server/util/package-root.js";

export interface RestoreMember {
  readonly name: string;
  readonly peerUrl: string;
  readonly dataDir: string;
}

/** The arguments of `etcd-ts snapshot restore` for each member (after the etcd-ts command). */
export function restoreArgs(snapshot: string, members: readonly RestoreMember[], token: string): string[][] {
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  return members.map((m) => [
    "snapshot",
    "restore",
    snapshot,
    `--name=${m.name}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${token}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--data-dir=${m.dataDir}`,
  ]);
}

/** Runs the restore of every member with this machine's etcd-ts; throws with etcd-ts's own error. */
export async function restoreDataDirs(snapshot: string, members: readonly RestoreMember[], token: string, progress: (msg: string) => void): Promise<void> {
  const bin = join(packageRoot(), "bin", "etcd-ts.js");
  const argvs = restoreArgs(snapshot, members, token);
  for (let i = 0; i < members.length; i++) {
    const r = await execa(process.execPath, [bin, ...argvs[i]!], { reject: false, env: { ETCD_LOG_LEVEL: "error" } });
    if (r.exitCode !== 0) throw new Error(`etcd-ts snapshot restore for ${members[i]!.name} failed (exit ${r.exitCode}): ${String(r.stderr).trim() || String(r.stdout).trim()}`);
    progress(`${members[i]!.name}: data dir ${members[i]!.dataDir} restored from ${snapshot}`);
  }
}

/**
 * Checks a snapshot here before any member is touched: a trial restore into a temporary dir (its
 * sha256 trailer and format, as the real restore checks them). Throws with etcd-ts's error.
 */
export async function checkSnapshot(snapshot: string): Promise<void> {
  const trial = mkdtempSync(join(tmpdir(), "etcdkit-restore-check-"));
  try {
    await restoreDataDirs(snapshot, [{ name: "check", peerUrl: "http://127.0.0.1:2380", dataDir: join(trial, "data") }], "check", () => {});
  } finally {
    rmSync(trial, { recursive: true, force: true });
  }
}
