/**
 * How a member reaches its peers: an HTTP upgrade for the raft streams (server/transport), gRPC channel credentials for
 * snapshots, and a GET for the peer port's HTTP side (/members, on join). An http:// peer URL is dialled in plaintext; an https:// one with TLS as
 * etcd's peer transport (transport.TLSInfo.ClientConfig): the peer's certificate is verified against
 * --peer-trusted-ca-file (the system's roots without one) and must be valid for the URL's host; the member presents
 * its --peer-cert-file, read again for every new connection (etcd's GetClientCertificate), so a rotated certificate
 * is used from the next connection on. With auto-TLS certificates the peer is not verified (etcd:
 * InsecureSkipVerify for self-signed certificates); --cipher-suites applies here too.
 *
 * grpc-js fixes a channel's TLS context when the channel is made; ReloadingChannelCredentials plugs a per-connection
 * context into it through grpc-js's ChannelCredentials/SecureConnector seam (the one its own certificate-provider
 * credentials use), checked at start-up (checkChannelCredentialsSeam).
 */
import * as grpc from "@grpc/grpc-js";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { isIP } from "node:net";
import { checkServerIdentity, connect, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { X509Certificate } from "node:crypto";
import type { ReloadingContext } from "./reloading-context.js";
import { allowedNameError, CERT_AUTH_FAILED, type VerifyPolicy } from "./verify-policy.js";

export interface PeerClientTls {
  /** The member's own peer certificate (presented when dialling) and the CA peers are verified with. */
  readonly context: ReloadingContext;
  /** Auto-TLS: peers' certificates are not verified. */
  readonly skipVerify: boolean;
  /**
   * --peer-cert-allowed-cn / --peer-cert-allowed-hostname apply to the peer being dialled too: etcd sets its
   * VerifyPeerCertificate in the TLS config both its listener and its dialer use.
   */
  readonly policy: Pick<VerifyPolicy, "allowedCn" | "allowedHostname">;
}

export interface PeerResponse {
  readonly status: number;
  header(name: string): string | undefined;
  readonly body: string;
}

/** At most this much of a peer's refusal of an upgrade is read. */
const MAX_REFUSAL_BYTES = 64 * 1024;

/** The outcome of an upgrade: the connection, or the peer's refusal. */
export type Upgrade = { readonly ok: true; readonly socket: Socket; readonly head: Buffer } | { readonly ok: false; readonly status: number; readonly body: string };

export class PeerDialer {
  private readonly secure: grpc.ChannelCredentials | undefined;

  constructor(private readonly tls: PeerClientTls | undefined) {
    this.secure = tls ? new ReloadingChannelCredentials(tls) : undefined;
  }

  /** Credentials for a channel to this peer URL. */
  credentials(peerUrl: string): grpc.ChannelCredentials {
    if (new URL(peerUrl).protocol !== "https:") return grpc.credentials.createInsecure();
    // https without peer TLS settings: etcd dials with an empty TLSInfo (system roots, no client certificate)
    return this.secure ?? grpc.credentials.createSsl();
  }

  /** GET on a peer URL, over TLS for https; with a JSON body (etcd's /members/hashkv takes its request so). */
  async get(url: string, timeoutMs: number, jsonBody?: string): Promise<PeerResponse> {
    const u = new URL(url);
    const options = u.protocol === "https:" ? await this.tlsOptions(u.hostname) : {};
    const request = u.protocol === "https:" ? httpsRequest : httpRequest;
    // a GET is not chunked by Node: the body's length is given
    const headers = jsonBody !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(jsonBody)) } : {};
    return new Promise((resolve, reject) => {
      const req = request(u, { ...options, method: "GET", headers, timeout: timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, header: (n) => headerValue(res.headers[n.toLowerCase()]), body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end(jsonBody);
    });
  }

  /**
   * An HTTP/1.1 upgrade to `protocol` at `path` of a peer URL (a raft stream): the bare connection
   * (TLS for https) once the peer answers 101, or the peer's answer when it refuses.
   */
  async upgrade(url: string, path: string, protocol: string, headers: Record<string, string>, timeoutMs: number): Promise<Upgrade> {
    const u = new URL(path, url);
    const options = u.protocol === "https:" ? await this.tlsOptions(u.hostname) : {};
    const request = u.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(u, { ...options, method: "GET", headers: { ...headers, connection: "Upgrade", upgrade: protocol }, timeout: timeoutMs, agent: false });
      req.on("upgrade", (_res, socket, head) => {
        socket.setTimeout(0);
        resolve({ ok: true, socket, head });
      });
      req.on("response", (res) => {
        // a refusal is a line of text: a peer that sends more is not answering a raft stream
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_REFUSAL_BYTES) return void req.destroy(new Error(`peer refused the upgrade with a body over ${MAX_REFUSAL_BYTES} bytes`));
          chunks.push(c);
        });
        res.on("end", () => resolve({ ok: false, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").trim() }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end();
    });
  }

  private async tlsOptions(host: string): Promise<ConnectionOptions> {
    if (!this.tls) return {};
    const { context } = await this.tls.context.current();
    return connectionOptions(host, context, this.tls);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** tls.connect options for a peer at `host` (a name or an address; no SNI for an address, as Go). */
function connectionOptions(host: string, secureContext: ConnectionOptions["secureContext"], tls: PeerClientTls): ConnectionOptions {
  const bare = host.replace(/^\[|\]$/g, "");
  const allowed = (cert: PeerCertificate): Error | undefined => {
    if (tls.policy.allowedCn === "" && tls.policy.allowedHostname === "") return undefined;
    const why = cert.raw ? allowedNameError(new X509Certificate(cert.raw), { ...tls.policy, requestCert: true, checkSan: false, crlFile: "" }) : CERT_AUTH_FAILED;
    return why ? new Error(why) : undefined;
  };
  return {
    secureContext,
    host: bare,
    ...(isIP(bare) ? {} : { servername: bare }),
    rejectUnauthorized: !tls.skipVerify,
    checkServerIdentity: (_h: string, cert: PeerCertificate) => (tls.skipVerify ? undefined : checkServerIdentity(bare, cert)) ?? allowed(cert),
  };
}

type SecureConnector = grpc.experimental.SecureConnector;
type GrpcUri = { path: string };

/** grpc-js channel credentials whose TLS context is the member's certificate as it is on disk at each new connection. */
class ReloadingChannelCredentials extends grpc.ChannelCredentials {
  constructor(private readonly tls: PeerClientTls) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(channelTarget: GrpcUri): SecureConnector {
    const target = channelTarget.path;
    const host = target.startsWith("[") ? target.slice(1, target.indexOf("]")) : target.replace(/:\d+$/, "");
    const tls = this.tls;
    const callCredentials = grpc.credentials.createEmpty();
    return {
      connect(socket: Socket) {
        return new Promise((resolve, reject) => {
          // grpc-js hands over the TCP socket with no 'error' listener left on it, and the certificate is read from
          // disk before the handshake starts: a reset arriving meanwhile (a peer restarting, or a proxy in between
          // whose onward connection failed) must fail this dial, not throw as an unhandled 'error' and end the member.
          socket.on("error", reject);
          tls.context.current().then(({ context }) => {
            if (socket.destroyed) return reject(new Error("peer connection closed before the TLS handshake"));
            const s = connect({ ...connectionOptions(host, context, tls), socket, ALPNProtocols: ["h2"] }, () => resolve({ socket: s, secure: true }));
            s.on("error", reject);
          }, reject);
        });
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials,
      destroy: () => undefined,
    };
  }
}

/** Fails at start-up, not on the first dial, if a grpc-js upgrade changed the seam ReloadingChannelCredentials uses. */
export function checkChannelCredentialsSeam(): void {
  const proto = grpc.ChannelCredentials.prototype as unknown as Record<string, unknown>;
  const insecure = grpc.credentials.createInsecure() as unknown as { _createSecureConnector?: unknown };
  if (typeof insecure._createSecureConnector !== "function" || typeof proto.compose !== "function") {
    throw new Error("@grpc/grpc-js no longer has ChannelCredentials._createSecureConnector: update server/tls/peer-dialer.ts");
  }
}
