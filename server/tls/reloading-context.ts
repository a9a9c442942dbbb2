/**
 * A side's certificate, read again from disk for every handshake, as etcd's TLSInfo does (GetCertificate and
 * GetClientCertificate call tlsutil.NewCert each time): a rotated certificate is used by the next connection,
 * with no restart. The files are read (small, and only on a new connection) and compared with the last ones; a new
 * SecureContext is built only when they changed. Concurrent handshakes share one read.
 *
 * The CA file is read the same way (etcd reads it once at start; reloading it too lets a CA bundle be rotated).
 * A read or parse failure fails the handshakes until the files are good again, with etcd's warning.
 */
import { createSecureContext, type SecureContext } from "node:tls";
import type { Logger } from "../log/logger.js";
import { RateLimitedLog } from "../log/rate-limited.js";
import { keyPairOf, readTlsFile, TlsFileError } from "./cert-files.js";
import type { CipherChoice } from "./cipher-suites.js";

export interface ContextFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** "" for none (a client side without --trusted-ca-file verifies with the system's roots). */
  readonly trustedCaFile: string;
}

/** What a handshake gets: the context, and the files it was built from (the certificate for logs and tests). */
export interface LoadedContext {
  readonly context: SecureContext;
  readonly certPem: Buffer;
}

const RELOAD_WARNING_INTERVAL_MS = 10_000;

export class ReloadingContext {
  private last: { cert: Buffer; key: Buffer; ca: Buffer | undefined; loaded: LoadedContext } | undefined;
  private inflight: Promise<LoadedContext> | undefined;
  private readonly warn: RateLimitedLog | undefined;

  constructor(
    readonly files: ContextFiles,
    private readonly ciphers: CipherChoice | undefined,
    /** "peer" or "client", for etcd's log text ("failed to create peer certificate"). */
    private readonly role: "peer" | "client",
    logger?: Logger,
  ) {
    this.warn = logger ? new RateLimitedLog(logger, RELOAD_WARNING_INTERVAL_MS) : undefined;
  }

  /** The context for a new connection (the files as they are now). */
  current(): Promise<LoadedContext> {
    if (!this.inflight) {
      this.inflight = this.load().finally(() => (this.inflight = undefined));
    }
    return this.inflight;
  }

  private async load(): Promise<LoadedContext> {
    const { certFile, keyFile, trustedCaFile } = this.files;
    let cert: Buffer, key: Buffer, ca: Buffer | undefined;
    try {
      [cert, key, ca] = await Promise.all([readTlsFile(certFile), readTlsFile(keyFile), trustedCaFile ? readTlsFile(trustedCaFile) : undefined]);
    } catch (e) {
      this.warn?.log(`missing:${certFile}`, { "cert-file": certFile, "key-file": keyFile, error: (e as Error).message }, `failed to find ${this.role} cert files`);
      throw e;
    }
    const l = this.last;
    if (l && l.cert.equals(cert) && l.key.equals(key) && (l.ca === undefined ? ca === undefined : ca !== undefined && l.ca.equals(ca))) return l.loaded;
    try {
      keyPairOf(cert, key);
      const context = createSecureContext({
        cert,
        key,
        ...(ca ? { ca } : {}),
        minVersion: this.ciphers?.minVersion ?? "TLSv1.2",
        ...(this.ciphers ? { ciphers: this.ciphers.ciphers } : {}),
      });
      const loaded = { context, certPem: cert };
      this.last = { cert, key, ca, loaded };
      return loaded;
    } catch (e) {
      const error = e instanceof TlsFileError ? e.message : `tls: ${(e as Error).message}`;
      this.warn?.log(`bad:${certFile}`, { "cert-file": certFile, "key-file": keyFile, error }, `failed to create ${this.role} certificate`);
      throw e instanceof TlsFileError ? e : new TlsFileError(error);
    }
  }
}
