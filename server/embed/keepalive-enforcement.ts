import type { H2Connection } from "../grpcwire/h2/connection.js";
import { ErrorCode } from "../grpcwire/h2/frames.js";

/**
 * etcd's --grpc-keepalive-min-time, as grpc-go's server enforces it (keepalive.EnforcementPolicy, handlePing in
 * internal/transport/http2_server.go); the listener applies it to each HTTP/2 session, whichever server serves it.
 *
 * A client PING counts as a strike when it comes sooner than minTime after the previous one (or sooner than two
 * hours when no stream is open and pings without streams are not permitted, which is etcd's setting); the third
 * strike gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and the connection is closed. Anything the server sends
 * as a response (headers, data) between two pings clears the strikes: grpc-go clients send BDP pings after
 * receiving data, and those must never count.
 */
export interface KeepalivePolicy {
  readonly minTimeMs: number;
  readonly permitWithoutStream: boolean;
}

const MAX_PING_STRIKES = 2;
const NO_STREAM_PING_MS = 2 * 60 * 60_000;

export class PingStrikes {
  private strikes = 0;
  private lastPingAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly policy: KeepalivePolicy) {}

  /** One client PING at `now`; true when the connection must be sent GOAWAY. */
  onPing(now: number, openStreams: number, serverWroteSinceLastPing: boolean): boolean {
    const last = this.lastPingAt;
    this.lastPingAt = now;
    if (serverWroteSinceLastPing) {
      this.strikes = 0;
      return false;
    }
    const allowed = openStreams < 1 && !this.policy.permitWithoutStream ? NO_STREAM_PING_MS : this.policy.minTimeMs;
    if (last + allowed > now) this.strikes++;
    return this.strikes > MAX_PING_STRIKES;
  }
}

/**
 * Applies the policy to a connection: every client PING is judged with whether the server sent a response (HEADERS
 * or DATA) since the previous one, which the connection knows exactly; `openStreams` is the connection's count of
 * streams in flight. The third strike gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings", and the connection ends
 * once that is written (grpc-go's closeConn after writing it).
 */
export function enforceKeepalivePolicy(connection: H2Connection, policy: KeepalivePolicy, openStreams: () => number, now: () => number = Date.now): void {
  const strikes = new PingStrikes(policy);
  connection.onClientPing = (wrote) => {
    if (strikes.onPing(now(), openStreams(), wrote)) connection.fail(ErrorCode.ENHANCE_YOUR_CALM, "too_many_pings");
  };
}
