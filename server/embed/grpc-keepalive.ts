import type { SessionTimerOptions } from "../grpcwire/session-timers.js";
import type { MemberConfig } from "../config/member-config.js";
import type { KeepalivePolicy } from "./keepalive-enforcement.js";
import { H2_IDLE_TIMEOUT_MS } from "./listener-limits.js";

/** grpc-go's defaults, which etcd 3.4 leaves in place when a --grpc-keepalive-* flag is 0 (or negative). */
export const GRPC_DEFAULT_MIN_TIME_MS = 5 * 60_000;
export const GRPC_DEFAULT_PING_INTERVAL_MS = 2 * 60 * 60_000;
export const GRPC_DEFAULT_PING_TIMEOUT_MS = 20_000;

export interface GrpcKeepalive {
  /** Enforced on client PINGs (keepalive-enforcement.ts). */
  readonly policy: KeepalivePolicy;
  /** The server PINGs each connection this often, and closes it when an answer takes longer than pingTimeoutMs. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
}

/**
 * The --grpc-keepalive-* flags as etcd applies them (embed/etcd.go serveClients): an enforcement policy with
 * MinTime when min-time > 0 (PermitWithoutStream false), server pings when interval and timeout are both > 0;
 * otherwise grpc-go's defaults stand (MinTime 5m; ping every 2h, 20s to answer), as they do in etcd.
 */
export function grpcKeepaliveOf(cfg: Pick<MemberConfig, "grpcKeepAliveMinTimeMs" | "grpcKeepAliveIntervalMs" | "grpcKeepAliveTimeoutMs">): GrpcKeepalive {
  const pinging = cfg.grpcKeepAliveIntervalMs > 0 && cfg.grpcKeepAliveTimeoutMs > 0;
  return {
    policy: { minTimeMs: cfg.grpcKeepAliveMinTimeMs > 0 ? cfg.grpcKeepAliveMinTimeMs : GRPC_DEFAULT_MIN_TIME_MS, permitWithoutStream: false },
    pingIntervalMs: pinging ? cfg.grpcKeepAliveIntervalMs : GRPC_DEFAULT_PING_INTERVAL_MS,
    pingTimeoutMs: pinging ? cfg.grpcKeepAliveTimeoutMs : GRPC_DEFAULT_PING_TIMEOUT_MS,
  };
}

/**
 * The peer port's: etcd-ts's own peer protocol (server/transport), whose client pings every 10 s while its stream
 * is open. The server pings too, so a stream from a member that vanished (no FIN) is closed within a ping
 * interval and timeout, as etcd's peer listener closes a connection after 5 s without a read.
 */
export const PEER_KEEPALIVE: GrpcKeepalive = {
  policy: { minTimeMs: 5_000, permitWithoutStream: true },
  pingIntervalMs: 10_000,
  pingTimeoutMs: 5_000,
};

/** A gRPC server's (server/grpcwire, client and peer ports) pings, and the idle timeout of connections without streams. */
export function sessionTimersOf(k: GrpcKeepalive, idleMs: number = H2_IDLE_TIMEOUT_MS): SessionTimerOptions {
  return { pingIntervalMs: k.pingIntervalMs, pingTimeoutMs: k.pingTimeoutMs, idleMs };
}
