/**
 * A member's TLS, prepared before anything listens: auto-TLS certificates made (or found) in the data dir, each side's
 * files checked, and the objects the listeners and the peer transport use. Any problem is a ConfigError, so the
 * member stops before it binds a port or touches its WAL ("no half-started member").
 *
 * etcd's rules, side by side:
 * - client side (--cert-file, ...): used by https:// client URLs (and https:// metrics URLs, which also check the
 *   client certificate's SANs against its address, as etcd's transport.NewListener). An https:// URL without a
 *   certificate is refused; an http:// URL with one gets etcd's warning and serves plaintext.
 * - peer side (--peer-*): used by https:// peer URLs (SANs checked unless
 *   --experimental-peer-skip-client-san-verification) and to dial https:// peers. A certificate given is checked even
 *   with http:// peer URLs (etcd's peer transport loads it at start too).
 * - --auto-tls / --peer-auto-tls: ignored, with etcd's warning, when that side has a certificate; else self-cert.ts.
 * - a client certificate is asked for and verified when --client-cert-auth or a trusted CA file is set (etcd:
 *   RequireAndVerifyClientCert when either is).
 */
import type { MemberConfig, TransportSecurity } from "../config/member-config.js";
import { ConfigError } from "../config/errors.js";
import type { Logger } from "../log/logger.js";
import { cipherChoice, CipherSuiteError, type CipherChoice } from "./cipher-suites.js";
import { checkChannelCredentialsSeam, PeerDialer } from "./peer-dialer.js";
import { ReloadingContext } from "./reloading-context.js";
import { fixturesDir, selfCert, selfCertHosts } from "./self-cert.js";
import { checkSideFiles, tlsInfoText, type Side } from "./side-check.js";
import { TlsAcceptor } from "./tls-acceptor.js";

export interface MemberTls {
  /** For https:// client URLs. */
  readonly client?: TlsAcceptor;
  /** For https:// metrics URLs. */
  readonly metrics?: TlsAcceptor;
  /** For https:// peer URLs. */
  readonly peer?: TlsAcceptor;
  /** Dials peers (plaintext or TLS by their URL's scheme). */
  readonly peerDialer: PeerDialer;
}

const isHttps = (u: string) => u.startsWith("https://");

export async function prepareMemberTls(cfg: MemberConfig, logger: Logger, now = new Date()): Promise<MemberTls> {
  let ciphers: CipherChoice | undefined;
  try {
    ciphers = cipherChoice(cfg.cipherSuites);
  } catch (e) {
    if (e instanceof CipherSuiteError) throw new ConfigError(e.message);
    throw e;
  }
  // etcd prepares the peer side first (configurePeerListeners), then the client side
  const peer = await resolveSide("peer", cfg.peerSecurity, cfg, logger);
  const peerUsed = cfg.listenPeerUrls.some(isHttps) || hasCerts(cfg.peerSecurity);
  warnPlaintext("peer", cfg.listenPeerUrls, peer.security, logger);
  for (const u of cfg.listenPeerUrls.filter(isHttps)) {
    if (!hasCerts(peer.security)) throw new ConfigError(`cannot listen on TLS for ${new URL(u).host}: KeyFile and CertFile are not presented`);
  }
  if (peerUsed) {
    await checkSideFiles("peer", peer.security, peer.selfSigned, now);
    logger.info({ "tls-info": tlsInfoText(peer.security), "cipher-suites": cfg.cipherSuites }, "starting with peer TLS");
  }

  const client = await resolveSide("client", cfg.clientSecurity, cfg, logger);
  const clientUsed = [...cfg.listenClientUrls, ...cfg.listenMetricsUrls].some(isHttps);
  warnPlaintext("client", cfg.listenClientUrls, client.security, logger);
  for (const u of cfg.listenClientUrls.filter(isHttps)) {
    if (!hasCerts(client.security)) throw new ConfigError(`TLS key/cert (--cert-file, --key-file) must be provided for client url ${u} with HTTPS scheme`);
  }
  for (const u of cfg.listenMetricsUrls.filter(isHttps)) {
    if (!hasCerts(client.security)) throw new ConfigError(`cannot listen on TLS for ${new URL(u).host}: KeyFile and CertFile are not presented`);
  }
  if (clientUsed) {
    await checkSideFiles("client", client.security, client.selfSigned, now);
    logger.info({ "tls-info": tlsInfoText(client.security), "cipher-suites": cfg.cipherSuites }, "starting with client TLS");
  }

  const context = (side: Side, s: TransportSecurity) => new ReloadingContext({ certFile: s.certFile, keyFile: s.keyFile, trustedCaFile: s.trustedCaFile }, ciphers, side, logger);
  const policy = (s: TransportSecurity, checkSan: boolean) => ({
    requestCert: s.clientCertAuth || s.trustedCaFile !== "",
    allowedCn: s.allowedCn,
    allowedHostname: s.allowedHostname,
    checkSan,
    crlFile: s.crlFile,
  });
  const clientContext = clientUsed ? context("client", client.security) : undefined;
  const peerContext = peerUsed ? context("peer", peer.security) : undefined;
  if (peerContext) checkChannelCredentialsSeam();
  return {
    ...(clientContext && cfg.listenClientUrls.some(isHttps) ? { client: new TlsAcceptor({ context: clientContext, policy: policy(client.security, false), logger }) } : {}),
    ...(clientContext && cfg.listenMetricsUrls.some(isHttps) ? { metrics: new TlsAcceptor({ context: clientContext, policy: policy(client.security, true), logger }) } : {}),
    ...(peerContext && cfg.listenPeerUrls.some(isHttps)
      ? { peer: new TlsAcceptor({ context: peerContext, policy: policy(peer.security, !peer.security.skipClientSanVerify), logger }) }
      : {}),
    peerDialer: new PeerDialer(peerContext ? { context: peerContext, skipVerify: peer.selfSigned, policy: peer.security } : undefined),
  };
}

function hasCerts(s: TransportSecurity): boolean {
  return s.certFile !== "" || s.keyFile !== "";
}

/** A side's settings with auto-TLS applied (etcd's ClientSelfCert / PeerSelfCert). */
async function resolveSide(side: Side, s: TransportSecurity, cfg: MemberConfig, logger: Logger): Promise<{ security: TransportSecurity; selfSigned: boolean }> {
  if (!s.autoTls) return { security: s, selfSigned: false };
  if (hasCerts(s)) {
    logger.warn(`ignoring ${side} auto TLS since certs given`);
    return { security: s, selfSigned: false };
  }
  const urls = side === "client" ? cfg.listenClientUrls : cfg.listenPeerUrls;
  const fileLog = { info: (m: string, f?: Record<string, unknown>) => logger.info(f ?? {}, m), warn: (m: string, f?: Record<string, unknown>) => logger.warn(f ?? {}, m) };
  const files = await selfCert(fixturesDir(cfg.dataDir, side), selfCertHosts(urls), fileLog);
  return { security: { ...s, certFile: files.certFile, keyFile: files.keyFile }, selfSigned: true };
}

/** etcd's warnings for http:// URLs of a side that has TLS settings. */
function warnPlaintext(side: Side, urls: readonly string[], s: TransportSecurity, logger: Logger): void {
  const field = side === "client" ? "client-url" : "peer-url";
  const auth = side === "client" ? "--client-cert-auth" : "--peer-client-cert-auth";
  for (const u of urls.filter((x) => !isHttps(x))) {
    if (hasCerts(s)) logger.warn({ [field]: u }, "scheme is HTTP while key and cert files are present; ignoring key and cert files");
    if (s.clientCertAuth) logger.warn({ [field]: u }, `scheme is HTTP while ${auth} is enabled; ignoring client cert auth for this URL`);
  }
}
