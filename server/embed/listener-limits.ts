import { readFileSync } from "node:fs";

/**
 * How long a connection may take over each phase before the listener closes it, and how many it keeps open. The
 * README ("Connections and timeouts") describes each; embed/etcd.ts uses these defaults, tests pass short ones.
 */
export interface ListenerTimeouts {
  /** From accept until the HTTP/2 preface is complete, or until the first HTTP/1 request's headers are. */
  readonly handshakeMs: number;
  /** HTTP/1: from the first byte of a later request on a kept-alive connection until its headers are complete. */
  readonly headersMs: number;
  /** HTTP/1: an idle kept-alive connection (no request in flight) is closed after this long. */
  readonly keepAliveIdleMs: number;
  /** HTTP/1: a request body (gateway calls) must be complete this long after its headers; streaming routes are exempt. */
  readonly bodyMs: number;
}

export const DEFAULT_TIMEOUTS: ListenerTimeouts = {
  handshakeMs: 10_000,
  headersMs: 10_000,
  keepAliveIdleMs: 5_000,
  bodyMs: 60_000,
};

/** HTTP/2 (gRPC): a connection with no stream open for this long is sent GOAWAY and closed (grpc-go's MaxConnectionIdle; server/grpcwire/session-timers.ts). */
export const H2_IDLE_TIMEOUT_MS = 5 * 60_000;

/** File descriptors left for everything but client and peer connections (WAL, backend, snapshots), as etcd's reservedInternalFDNum. */
export const RESERVED_INTERNAL_FDS = 150;

/** The process's soft limit on open files (Node raises it to the hard limit at start-up), from /proc/self/limits. */
export function openFilesLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return undefined; // not Linux: no limit known, no cap applied
    }
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  return m[1] === "unlimited" ? undefined : Number(m[1]);
}

export class FdLimitError extends Error {}

/**
 * Connections each listener keeps open at most: the file limit less etcd's reserve, shared evenly by the
 * listeners so that the process reaches a listener's limit (and closes idle connections there, see
 * ConnectionGuard) before it runs out of descriptors. etcd also refuses to start at or below the reserve.
 */
export function connectionLimitPerListener(listeners: number, fdLimit = openFilesLimit()): number {
  if (fdLimit === undefined) return Number.MAX_SAFE_INTEGER;
  if (fdLimit <= RESERVED_INTERNAL_FDS) {
    throw new FdLimitError(`file descriptor limit of etcd process is too low; please set higher (limit ${fdLimit}, recommended-limit ${RESERVED_INTERNAL_FDS})`);
  }
  return Math.max(1, Math.floor((fdLimit - RESERVED_INTERNAL_FDS) / Math.max(1, listeners)));
}
