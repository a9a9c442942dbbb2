/**
 * --quota-backend-bytes as etcd 3.4's NewBackendQuota (etcdserver/quota.go) reads it: negative disables
 * the quota, 0 means the default 2 GiB, anything else is the quota, with a warning above the 8 GiB
 * etcd suggests at most. etcd logs this once per process, under its first quota's name ("v3-applier").
 */
import type { Logger } from "../log/logger.js";
import { DEFAULT_QUOTA_BYTES } from "../config/member-config.js";

export const MAX_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;
const QUOTA_NAME = "v3-applier";

/** The quota writes are checked against: Infinity when disabled (every request fits). */
export function backendQuotaBytes(configured: number, logger: Logger): number {
  if (configured < 0) {
    logger.info({ "quota-name": QUOTA_NAME, "quota-size-bytes": configured }, "disabled backend quota");
    return Infinity;
  }
  if (configured === 0) {
    logger.info({ "quota-name": QUOTA_NAME, "quota-size-bytes": DEFAULT_QUOTA_BYTES, "quota-size": humanBytes(DEFAULT_QUOTA_BYTES) }, "enabled backend quota with default value");
    return DEFAULT_QUOTA_BYTES;
  }
  if (configured > MAX_QUOTA_BYTES) {
    logger.warn(
      { "quota-name": QUOTA_NAME, "quota-size-bytes": configured, "quota-size": humanBytes(configured), "quota-maximum-size-bytes": MAX_QUOTA_BYTES, "quota-maximum-size": humanBytes(MAX_QUOTA_BYTES) },
      "quota exceeds the maximum value",
    );
  }
  logger.info({ "quota-name": QUOTA_NAME, "quota-size-bytes": configured, "quota-size": humanBytes(configured) }, "enabled backend quota");
  return configured;
}

/** What etcd's etcd_server_quota_backend_bytes shows: the configured value as it is, 0 as the default. */
export function quotaGaugeValue(configured: number): number {
  return configured === 0 ? DEFAULT_QUOTA_BYTES : configured;
}

/** go-humanize's Bytes: SI units, one decimal below 10 ("2.1 GB", "11 GB"). */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : val.toFixed(0)} ${sizes[e]}`;
}
