/**
 * etcd's peer HashKV call (etcdserver/corrupt.go): `GET <peer URL>/members/hashkv` with a JSON
 * HashKVRequest body (`{"revision":N}`), answered with a JSON HashKVResponse (Go's encoding/json of
 * the protobuf struct: snake_case names, zero values left out), or 400 with the mvcc error's text.
 * Both sides are here so that they stay one format: the handler (embed/peer-http.ts) and the client
 * the corruption checks use.
 */
import { ErrCompacted, ErrFutureRev } from "../mvcc/index.js";

export const PEER_HASHKV_PATH = "/members/hashkv";

export interface PeerHashKV {
  readonly hash: number;
  readonly compactRevision: number;
  /** The peer's current revision (its response header's). */
  readonly revision: number;
}

export function encodeHashKVRequest(revision: number): string {
  return JSON.stringify(revision !== 0 ? { revision } : {});
}

/** The revision a request body asks for, or undefined when Go's json.Unmarshal would refuse it. */
export function decodeHashKVRequest(body: string): number | undefined {
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (o === null) return 0;
  if (typeof o !== "object" || Array.isArray(o)) return undefined;
  // encoding/json matches field names case-insensitively; a later duplicate wins
  let rev: unknown = 0;
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === "revision") rev = v === null ? 0 : v;
  return typeof rev === "number" && Number.isSafeInteger(rev) ? rev : undefined;
}

export function encodeHashKVResponse(r: PeerHashKV): string {
  const header = r.revision !== 0 ? { revision: r.revision } : {};
  return JSON.stringify({ header, ...(r.hash !== 0 ? { hash: r.hash } : {}), ...(r.compactRevision !== 0 ? { compact_revision: r.compactRevision } : {}) });
}

const num = (v: unknown): number => {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new Error(`malformed hashKV response field ${JSON.stringify(v)}`);
  return v;
};

/** What a peer answered: its hash, or the error etcd's getPeerHashKVHTTP makes of the answer (ErrCompacted, ErrFutureRev, other). */
export function decodeHashKVAnswer(status: number, body: string): PeerHashKV {
  if (status === 400) {
    if (body.includes(ErrCompacted.message)) throw ErrCompacted;
    if (body.includes(ErrFutureRev.message)) throw ErrFutureRev;
  }
  if (status !== 200) throw new Error(`unknown error: ${body}`);
  const o = JSON.parse(body) as { header?: { revision?: unknown }; hash?: unknown; compact_revision?: unknown } | null;
  if (o === null || typeof o !== "object") throw new Error("malformed hashKV response");
  return { hash: num(o.hash), compactRevision: num(o.compact_revision), revision: num(o.header?.revision) };
}
