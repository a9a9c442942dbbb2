/**
 * The etcd v3 calls a backup makes (Status to find the leader, MemberList for the sidecar, and the
 * Maintenance.Snapshot stream), over gRPC with the server's own .proto files, in plain text or TLS.
 *
 * TLS as etcdctl decides it: an `https://` endpoint, or a bare `host:port` when a TLS file is given;
 * an `http://` endpoint is plain text, so TLS files beside only `http://` endpoints are refused
 * rather than silently unused.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/api/proto/load.js";

export interface TlsFiles {
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  /** An auth token (etcd's `token` metadata) for a cluster with auth on; absent: none sent. */
  readonly token?: string;
}

function tokenMetadata(tls: TlsFiles): grpc.Metadata {
  const md = new grpc.Metadata();
  if (tls.token) md.set("token", tls.token);
  return md;
}

export interface Endpoint {
  /** As given, with a scheme: "http://127.0.0.1:2379". */
  readonly url: string;
  readonly tls: boolean;
}

/** Endpoints as the user wrote them -> URLs with a scheme; checks the TLS files fit. */
export function parseEndpoints(list: readonly string[], tls: TlsFiles): Endpoint[] {
  if (list.length === 0) throw new Error("no endpoints");
  const anyTls = !!(tls.cacert || tls.cert || tls.key);
  if (!!tls.cert !== !!tls.key) throw new Error("--cert and --key go together");
  const eps = list.map((raw) => {
    const s = raw.trim();
    const url = new URL(s.includes("://") ? s : `${anyTls ? "https" : "http"}://${s}`);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`endpoint ${JSON.stringify(raw)}: scheme must be http or https`);
    return { url: `${url.protocol}//${url.host}`, tls: url.protocol === "https:" };
  });
  if (anyTls && !eps.some((e) => e.tls)) throw new Error("--cacert/--cert/--key are given but every endpoint is http:// (use https:// endpoints)");
  return eps;
}

function credentials(ep: Endpoint, tls: TlsFiles): grpc.ChannelCredentials {
  if (!ep.tls) return grpc.credentials.createInsecure();
  const read = (f: string | undefined) => (f ? readFileSync(f) : null);
  return grpc.credentials.createSsl(read(tls.cacert), read(tls.key), read(tls.cert));
}

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

function client(ep: Endpoint, tls: TlsFiles, service: string): grpc.Client {
  const Ctor = clientConstructor("etcdserverpb", service);
  return new Ctor(new URL(ep.url).host, credentials(ep, tls), { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
}

function unary<T>(ep: Endpoint, tls: TlsFiles, service: string, method: string, timeoutMs: number): Promise<T> {
  const c = client(ep, tls, service);
  return new Promise<T>((resolve, reject) => {
    const fn = (c as unknown as Record<string, Unary>)[method]!;
    fn.call(c, {}, tokenMetadata(tls), { deadline: Date.now() + timeoutMs }, (err, res) => {
      c.close();
      if (err) reject(new Error(`${method} at ${ep.url}: ${err.details || err.message}`));
      else resolve(res as T);
    });
  });
}

interface StatusResponse {
  header: { member_id: string; revision: string };
  leader: string;
}

/** The endpoint whose member is the leader, as the members that answer see it. */
export async function findLeader(eps: readonly Endpoint[], tls: TlsFiles, timeoutMs = 5000): Promise<{ endpoint: Endpoint; memberId: string }> {
  const answers = await Promise.all(eps.map((ep) => unary<StatusResponse>(ep, tls, "Maintenance", "Status", timeoutMs).then((r) => ({ ep, r }), (e: Error) => ({ ep, e }))));
  const ok = answers.flatMap((a) => ("r" in a ? [a] : []));
  const hit = ok.find((a) => a.r.leader !== "0" && a.r.header.member_id === a.r.leader);
  if (hit) return { endpoint: hit.ep, memberId: hit.r.leader };
  const errors = answers.flatMap((a) => ("e" in a ? [a.e.message] : []));
  const leaders = [...new Set(ok.map((a) => a.r.leader).filter((l) => l !== "0"))];
  throw new Error(
    `no leader among the endpoints ${eps.map((e) => e.url).join(",")}` +
      (leaders.length ? ` (they name leader ${leaders.join("/")}: add its endpoint)` : "") +
      (errors.length ? `; ${errors.join("; ")}` : ""),
  );
}

export interface MemberInfo {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

export async function memberList(ep: Endpoint, tls: TlsFiles, timeoutMs = 5000): Promise<MemberInfo[]> {
  const r = await unary<{ members: { ID: string; name: string; peerURLs: string[]; clientURLs: string[] }[] }>(ep, tls, "Cluster", "MemberList", timeoutMs);
  return r.members.map((m) => ({ id: String(m.ID), name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs }));
}

export const SHA256_BYTES = 32;

export interface StreamedSnapshot {
  /** Bytes written (database + 32-byte digest), as etcdctl's file. */
  readonly size: number;
  /** Hex SHA-256 of the database part, equal to the trailer the server sent. */
  readonly sha256: string;
}

/**
 * Writes the Snapshot stream of `ep` to `out` as etcdctl does (database then its SHA-256) and
 * checks the trailer against the digest of what came before it, and etcd's size rule (a
 * database is a whole number of 512-byte units, so size % 512 == 32 with the digest).
 */
export async function streamSnapshot(ep: Endpoint, tls: TlsFiles, out: FileHandle, onBytes: (total: number) => void): Promise<StreamedSnapshot> {
  const c = client(ep, tls, "Maintenance");
  const call = (c as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<{ blob: Buffer }>>).Snapshot!.call(c, {}, tokenMetadata(tls));
  const hash = createHash("sha256");
  let held = Buffer.alloc(0); // the last 32 bytes seen: the trailer once the stream ends
  let total = 0;
  try {
    for await (const msg of call as AsyncIterable<{ blob: Buffer }>) {
      const blob = msg.blob ?? Buffer.alloc(0);
      if (blob.length === 0) continue;
      await out.write(blob);
      total += blob.length;
      const all = held.length ? Buffer.concat([held, blob]) : blob;
      const cut = Math.max(0, all.length - SHA256_BYTES);
      hash.update(all.subarray(0, cut));
      held = Buffer.from(all.subarray(cut));
      onBytes(total);
    }
  } catch (e) {
    throw new Error(`Snapshot from ${ep.url}: ${(e as grpc.ServiceError).details || (e as Error).message}`);
  } finally {
    c.close();
  }
  if (total % 512 !== SHA256_BYTES) throw new Error(`Snapshot from ${ep.url}: ${total} bytes is not a database followed by its sha256 (size % 512 must be 32)`);
  const got = hash.digest();
  if (!got.equals(held)) throw new Error(`Snapshot from ${ep.url}: sha256 mismatch: the trailer says ${held.toString("hex")}, the data hashes to ${got.toString("hex")}`);
  return { size: total, sha256: got.toString("hex") };
}
