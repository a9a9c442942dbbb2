/**
 * TLS material of the Docker stacks: each member's five files (tls.ts) are copied from the PKI
 * into `<pkiDir>/docker/<member>/` in the form the container can read, and that folder is
 * bind-mounted read-only at the member's certificate folder (`/etc/etcdkit/pki/<member>`).
 *
 * The container runs as uid 1000 (the image's runtime user) and a key must stay private: when the
 * deploying user is root the copies belong to uid 1000 (keys 0600, folder 0700); otherwise they
 * stay the user's, keys 0640 and folder 0750 in the user's group, and the container gets that
 * group as a supplementary group (group_add), so the key is readable by the member and by nobody else.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import type { MemberPlan, TopologyPlan } from "../../topology/index.js";

/** uid/gid of the image's runtime user (Dockerfile: USER 1000:1000). */
export const CONTAINER_UID = 1000;

export function stagedCertificateDir(pkiDir: string, member: string): string {
  return resolve(pkiDir, "docker", member);
}

/** The container's supplementary groups: the deploying user's group unless the copies could be given to uid 1000. */
export function containerGroups(uid = process.getuid?.() ?? 0, gid = process.getgid?.() ?? 0): string[] {
  return uid === 0 ? [] : [String(gid)];
}

/** The member's read-only mount of its certificates, or none (insecure). */
export function certificateMount(plan: TopologyPlan, m: MemberPlan): { source: string; target: string; readOnly: true } | undefined {
  if (!m.tls || !plan.clientTls) return undefined;
  const target = m.tls.paths.cert.slice(0, m.tls.paths.cert.lastIndexOf("/"));
  return { source: stagedCertificateDir(plan.clientTls.pkiDir, m.name), target, readOnly: true };
}

/** Copies every member's files into its staged folder (after ensurePlanPki). */
export function stageDockerCertificates(plan: TopologyPlan, uid = process.getuid?.() ?? 0): void {
  if (!plan.clientTls) return;
  const root = uid === 0;
  for (const m of plan.members) {
    if (!m.tls) continue;
    const dir = stagedCertificateDir(plan.clientTls.pkiDir, m.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, root ? 0o700 : 0o750);
    if (root) chownSync(dir, CONTAINER_UID, CONTAINER_UID);
    for (const f of m.tls.files) {
      const dest = join(dir, f.target.slice(f.target.lastIndexOf("/") + 1));
      const tmp = `${dest}.tmp-${process.pid}`;
      copyFileSync(f.source, tmp);
      chmodSync(tmp, f.private ? (root ? 0o600 : 0o640) : 0o644);
      if (root) chownSync(tmp, CONTAINER_UID, CONTAINER_UID);
      renameSync(tmp, dest);
    }
  }
}
