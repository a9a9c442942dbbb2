/**
 * etcd's etcdserver.DiscoveryError: a bootstrap through --discovery that failed, and how etcdmain
 * reports it before exiting 1 (etcdmain/etcd.go: one warning naming the token, and advice).
 */
import type { Logger } from "../log/logger.js";
import { ErrDuplicateID, ErrDuplicateName, ErrFullCluster } from "./v2-discovery.js";

export class DiscoveryError extends Error {
  override readonly name = "DiscoveryError";
  constructor(
    readonly op: string,
    readonly inner: Error,
  ) {
    super(`failed to ${op} discovery cluster (${inner.message})`);
  }

  get isFullCluster(): boolean {
    return this.inner.message === ErrFullCluster;
  }
}

export interface DiscoveryFailureContext {
  readonly name: string;
  readonly dataDir: string;
  readonly discoveryUrl: string;
  readonly fallback: "exit" | "proxy";
}

/** etcdmain's lines for a failed discovery. With --discovery-fallback=proxy etcd 3.4 would start its v2 proxy instead; etcd-ts has none. */
export function logDiscoveryFailure(err: DiscoveryError, c: DiscoveryFailureContext, logger: Logger): void {
  if (err.isFullCluster && c.fallback === "proxy") {
    logger.warn({ "fallback-proxy": "proxy", error: err.message }, "discovery cluster is full, falling back to proxy");
    logger.warn({ reason: "etcd-ts has no v2 proxy (etcd's --proxy mode); use --discovery-fallback=exit to silence this" }, "cannot fall back to proxy; exiting");
    return;
  }
  if (!err.isFullCluster) logger.warn({ error: err.message }, "failed to start etcd");
  switch (err.inner.message) {
    case ErrDuplicateID:
      logger.warn({ name: c.name, "discovery-token": c.discoveryUrl, error: err.inner.message }, "member has been registered with discovery service");
      logger.warn({ "data-dir": c.dataDir }, "but could not find valid cluster configuration");
      logger.warn("check data dir if previous bootstrap succeeded");
      logger.warn("or use a new discovery token if previous bootstrap failed");
      return;
    case ErrDuplicateName:
      logger.warn({ "discovery-token": c.discoveryUrl, error: err.inner.message }, "member with duplicated name has already been registered");
      logger.warn("cURL the discovery token URL for details");
      logger.warn("do not reuse discovery token; generate a new one to bootstrap a cluster");
      return;
    default:
      logger.warn({ "discovery-token": c.discoveryUrl, error: err.message }, "failed to bootstrap; discovery token was already used");
      logger.warn("do not reuse discovery token; generate a new one to bootstrap a cluster");
  }
}
