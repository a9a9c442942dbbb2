/** Certificates and TLS acceptors for the in-process listener tests of test/tls/. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import pino from "pino";
import { caPaths, clientPaths, serverPaths } from "../../pki/layout.js";
import { ensurePki } from "../../pki/pki.js";
import type { Logger } from "../../server/log/logger.js";
import { ReloadingContext } from "../../server/tls/reloading-context.js";
import { TlsAcceptor } from "../../server/tls/tls-acceptor.js";
import type { VerifyPolicy } from "../../server/tls/verify-policy.js";

/** A PKI with one member "server" (SANs 127.0.0.1, localhost) and clients root and alice. */
export async function testPki(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "tls-pki-"));
  await ensurePki({ dir, members: [{ name: "server", hosts: [] }], clients: ["alice"] });
  return dir;
}

export interface Logs {
  readonly logger: Logger;
  readonly lines: Array<Record<string, unknown>>;
}

export function captureLogs(): Logs {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, logger: pino({ level: "info", base: null }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }) };
}

export function acceptor(pki: string, policy: Partial<VerifyPolicy> = {}, logger?: Logger, files = serverPaths(pki, "server")): TlsAcceptor {
  const context = new ReloadingContext({ certFile: files.cert, keyFile: files.key, trustedCaFile: caPaths(pki).cert }, undefined, "client", logger);
  const full: VerifyPolicy = { requestCert: true, allowedCn: "", allowedHostname: "", checkSan: false, crlFile: "", ...policy };
  return new TlsAcceptor({ context, policy: full, ...(logger ? { logger } : {}) });
}

/** tls.connect options trusting the PKI's CA, presenting `user`'s client certificate (none for null). */
export function clientTls(pki: string, user: string | null = "root", extra: ConnectionOptions = {}): ConnectionOptions {
  const c = user ? clientPaths(pki, user) : undefined;
  return {
    ca: readFileSync(caPaths(pki).cert),
    ...(c ? { cert: readFileSync(c.cert), key: readFileSync(c.key) } : {}),
    servername: "localhost",
    ...extra,
  };
}
