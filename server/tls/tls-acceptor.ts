/**
 * The server side of TLS on one accepted TCP connection, as etcd's tlsListener does it: the handshake with the
 * side's certificate as it is on disk now (reloading-context.ts), then etcd's checks (verify-policy.ts). A connection
 * that fails either is closed and logged with etcd's line, "rejected connection" (remote-addr, server-name, the
 * presented certificate's ip-addresses and dns-names, error), rate-limited per remote address: a client that retries
 * a bad certificate in a loop must not flood the log. The listener's other rules (handshake deadline, connection
 * limit) apply around it unchanged: the TLS handshake is part of the connection's handshake phase.
 *
 * ALPN: a client offering "http/1.1" gets HTTP/1.1 (curl, browsers, HTTP libraries: the JSON gateway, /health,
 * /metrics), one offering only "h2" gets h2 (gRPC clients); a client offering neither is refused, as Go's server.
 * etcd gives h2 to a client that offers both: see the README's differences.
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Logger } from "../log/logger.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { markVerified } from "./identity.js";
import type { ReloadingContext } from "./reloading-context.js";
import { allowedNameError, chainErrorText, crlError, sanError, sansOf, type VerifyPolicy } from "./verify-policy.js";

export const REJECTED_LOG_INTERVAL_MS = 5_000;

export interface TlsAcceptorOptions {
  readonly context: ReloadingContext;
  readonly policy: VerifyPolicy;
  readonly logger?: Logger;
}

/** The verification result OpenSSL left on the connection (Node keeps it on the TLSWrap handle; tls.Server reads it the same way). */
type WithVerifyError = { _handle?: { verifyError?: () => (Error & { code?: string }) | null } };

export class TlsAcceptor {
  private readonly rejected: RateLimitedLog | undefined;

  constructor(private readonly opts: TlsAcceptorOptions) {
    this.rejected = opts.logger ? new RateLimitedLog(opts.logger, REJECTED_LOG_INTERVAL_MS) : undefined;
  }

  get policy(): VerifyPolicy {
    return this.opts.policy;
  }

  /**
   * Runs the handshake on `raw` (bytes already read from it must have been unshifted back) and calls `onSecure` with
   * the TLS socket once the connection passed every check; otherwise the connection is closed.
   */
  accept(raw: Socket, onSecure: (socket: TLSSocket) => void): void {
    this.opts.context.current().then(
      (loaded) => {
        if (raw.destroyed) return;
        const requestCert = this.opts.policy.requestCert;
        const socket = new TLSSocket(raw, { isServer: true, secureContext: loaded.context, requestCert, rejectUnauthorized: requestCert, ALPNCallback: chooseProtocol });
        let secure = false;
        socket.on("error", (e: Error & { code?: string }) => {
          if (!secure) this.reject(raw, socket, handshakeErrorText(e));
          socket.destroy();
          raw.destroy();
        });
        socket.once("secure", () => {
          secure = true;
          // what tls.Server does on "secure": Node's http2 waits for a socket still marked as connecting
          (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
          this.check(raw, socket).then(
            (why) => {
              if (why === undefined && !socket.destroyed) {
                if (this.opts.policy.requestCert) markVerified(socket);
                return onSecure(socket);
              }
              if (why !== undefined) this.reject(raw, socket, why);
              socket.destroy();
            },
            (e: unknown) => {
              this.reject(raw, socket, (e as Error).message);
              socket.destroy();
            },
          );
        });
      },
      (e: unknown) => {
        // The certificate cannot be read now (ReloadingContext logged why): as etcd, the handshake fails.
        this.reject(raw, undefined, (e as Error).message);
        raw.destroy();
      },
    );
  }

  /** etcd's checks after the handshake, in its order: chain, allowed CN/hostname, SANs, CRL. */
  private async check(raw: Socket, socket: TLSSocket): Promise<string | undefined> {
    const policy = this.opts.policy;
    const leaf = socket.getPeerX509Certificate();
    if (!leaf) return undefined; // no certificate asked for (or none sent where none is required)
    if (policy.requestCert) {
      const verify = (socket as unknown as WithVerifyError)._handle?.verifyError;
      // Fail closed if a Node upgrade ever removes the hook: an unverified certificate must never pass.
      if (typeof verify !== "function") return "tls: cannot read the certificate verification result (unsupported Node version)";
      const err = verify.call((socket as unknown as WithVerifyError)._handle);
      if (err) return chainErrorText(err.code ?? err.message);
    }
    const named = allowedNameError(leaf, policy);
    if (named) return named;
    if (policy.checkSan) {
      const san = await sanError(leaf, stripV4Mapped(raw.remoteAddress ?? ""));
      if (san) return san;
    }
    if (policy.crlFile !== "") return crlError(policy.crlFile, socket.getPeerCertificate(true));
    return undefined;
  }

  private reject(raw: Socket, socket: TLSSocket | undefined, error: string): void {
    if (!this.rejected) return;
    const remote = `${raw.remoteAddress ?? ""}:${raw.remotePort ?? ""}`;
    const fields: Record<string, unknown> = { "remote-addr": remote, "server-name": (socket as { servername?: string | false } | undefined)?.servername || "" };
    const leaf = socket && !socket.destroyed ? safePeer(socket) : undefined;
    if (leaf) {
      const { ips, dns } = sansOf(leaf);
      fields["ip-addresses"] = ips;
      fields["dns-names"] = dns;
    }
    fields.error = error;
    this.rejected.log(raw.remoteAddress ?? "", fields, "rejected connection");
  }
}

function safePeer(socket: TLSSocket) {
  try {
    return socket.getPeerX509Certificate();
  } catch {
    return undefined;
  }
}

function chooseProtocol({ protocols }: { protocols: string[] }): string | undefined {
  if (protocols.includes("http/1.1")) return "http/1.1";
  if (protocols.includes("h2")) return "h2";
  return undefined;
}

/** OpenSSL's handshake failures that Go words differently, in Go's words; the rest as OpenSSL says them. */
function handshakeErrorText(e: Error & { code?: string }): string {
  switch (e.code) {
    case "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE":
      return "tls: client didn't provide a certificate";
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "ERR_SSL_HTTP_REQUEST":
    case "ERR_SSL_PACKET_LENGTH_TOO_LONG":
      return "tls: first record does not look like a TLS handshake";
    case "ERR_SSL_NO_APPLICATION_PROTOCOL":
      return "tls: client requested unsupported application protocols";
    case "ECONNRESET":
      return "connection reset by peer";
    default:
      return e.message.split("\n")[0]!.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:/, "tls: ");
  }
}

/** "::ffff:10.0.0.1" (an IPv4 client on a dual-stack listener) as Go sees it: 10.0.0.1. */
function stripV4Mapped(a: string): string {
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}
