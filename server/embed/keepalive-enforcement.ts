import { constants, type ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";

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
/** Bytes of a PING frame (9-byte header + 8 bytes): an ACK the server sends, or a keepalive ping of its own. */
const PING_FRAME_BYTES = 17;
/** SETTINGS ACK (9). */
const SETTINGS_ACK_BYTES = 9;
/**
 * Control frames the server may send that say nothing about a response: WINDOW_UPDATE for the connection and a
 * stream (13 each). More than these between two pings means the server wrote headers or data.
 */
const CONTROL_SLACK_BYTES = 26;

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
 * Applies the policy to a session. `socket` is the connection's own TCP socket (its bytesWritten counts what
 * nghttp2 wrote, on the raw path and through a RewritingConnection alike); `openStreams` is the connection's
 * count of streams in flight.
 */
export function enforceKeepalivePolicy(session: ServerHttp2Session, socket: Socket, policy: KeepalivePolicy, openStreams: () => number, now: () => number = Date.now): void {
  const strikes = new PingStrikes(policy);
  let lastWritten = socket.bytesWritten;
  let expected = 0;
  session.on("remoteSettings", () => (expected += SETTINGS_ACK_BYTES));
  // the server's own pings (server/grpcwire calls session.ping: keepalive, a snapshot's round trip) are control bytes too
  const ping = session.ping.bind(session);
  session.ping = ((...args: Parameters<ServerHttp2Session["ping"]>) => {
    expected += PING_FRAME_BYTES;
    return ping(...args);
  }) as ServerHttp2Session["ping"];
  session.on("ping", () => {
    const written = socket.bytesWritten - lastWritten;
    const wrote = written - expected > CONTROL_SLACK_BYTES;
    lastWritten = socket.bytesWritten;
    expected = PING_FRAME_BYTES; // this ping's ACK is written after the event
    if (!strikes.onPing(now(), openStreams(), wrote)) return;
    tooManyPings(session);
  });
}

function tooManyPings(session: ServerHttp2Session): void {
  if (session.destroyed || session.closed) return;
  try {
    session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, session.state.lastProcStreamID ?? 0, Buffer.from("too_many_pings"));
  } catch {
    /* already going away */
  }
  // let nghttp2 flush the GOAWAY before the connection goes, as grpc-go's closeConn does after writing it
  // (the final GOAWAY Node sends on destroy says the same)
  setImmediate(() => session.destroy(undefined, constants.NGHTTP2_ENHANCE_YOUR_CALM));
}
