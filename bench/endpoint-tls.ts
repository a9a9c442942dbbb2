/**
 * Which client certificate the benchmark presents to which endpoint. A TLS target (a local cluster of the
 * kit, a stack's `tls` output, --cacert/--cert/--key) registers its files for its endpoints' origins; every
 * client of the suite (grpc-js channels, the HTTP/2 load generator, the gateway load, health checks) asks
 * here. Load generator processes get the files in their job and register them on their side.
 */
import { readFileSync } from "node:fs";
import type { ClientTlsFiles } from "../ansible-free-scripts/common/health.js";

export type { ClientTlsFiles };

/** The PEM contents, read once per registration. */
export interface TlsMaterial {
  readonly files: ClientTlsFiles;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

const byOrigin = new Map<string, TlsMaterial>();

function origin(endpoint: string): string {
  const u = new URL(endpoint.includes("://") ? endpoint : `http://${endpoint}`);
  return `${u.protocol}//${u.host}`;
}

/** Registers the files for these endpoints (undefined: forgets them). Throws when a file cannot be read. */
export function registerEndpointTls(endpoints: readonly string[], files: ClientTlsFiles | undefined): void {
  const material = files ? { files, ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) } : undefined;
  for (const e of endpoints) {
    if (material) byOrigin.set(origin(e), material);
    else byOrigin.delete(origin(e));
  }
}

export function tlsMaterialFor(endpoint: string): TlsMaterial | undefined {
  return byOrigin.get(origin(endpoint));
}

export function tlsFilesFor(endpoint: string): ClientTlsFiles | undefined {
  return tlsMaterialFor(endpoint)?.files;
}

export function isHttps(endpoint: string): boolean {
  return endpoint.startsWith("https://");
}
