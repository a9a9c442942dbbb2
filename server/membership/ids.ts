import { createHash } from "node:crypto";

/** etcd's member ID: the first 8 bytes (big-endian) of sha1(sorted peer URLs + cluster token [+ unix time for added members]). */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string, nowUnixSeconds?: number): bigint {
  const joined = [...peerUrls].sort().join("") + clusterToken + (nowUnixSeconds === undefined ? "" : String(nowUnixSeconds));
  return createHash("sha1").update(joined).digest().readBigUInt64BE(0);
}

/** etcd's cluster ID: sha1 over the sorted member IDs as 8-byte big-endian values, first 8 bytes. */
export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return createHash("sha1").update(buf).digest().readBigUInt64BE(0);
}

/** etcd prints IDs in tables and logs as lower-case hex without padding. */
export function idToHex(id: bigint): string {
  return id.toString(16);
}
