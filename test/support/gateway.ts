import { request } from "node:http";
import type { MemberProcess } from "./launcher.js";

/**
 * POSTs `body` to the member's JSON gateway. A streaming answer is read for `streamMs`, then the
 * client goes away (how a gateway stream ends); `streamMs` 0 reads the whole answer (bounded: 10 s).
 */
export async function gatewayPost(m: MemberProcess, path: string, body: string, streamMs = 0): Promise<{ status: number; body: string }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), streamMs || 10_000);
  try {
    const res = await fetch(`${m.clientUrl}${path}`, { method: "POST", body, signal: ac.signal });
    let text = "";
    try {
      const reader = res.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
    } catch {
      /* aborted: the client went away */
    }
    return { status: res.status, body: text };
  } finally {
    clearTimeout(timer);
  }
}

export type RawAnswer = { readonly status: number; readonly body: string } | { readonly dropped: true };

/**
 * POSTs raw bytes with node:http (fetch cannot send every byte sequence as is, nor tell a dropped
 * connection from other failures): the status and body, or `dropped` when the server closed the
 * connection without answering (etcd's gateway does so where it panics).
 */
export function gatewayRaw(clientUrl: string, path: string, body: Buffer | string, timeoutMs = 10_000): Promise<RawAnswer> {
  const url = new URL(path, clientUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", () => resolve({ dropped: true }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${path} in ${timeoutMs} ms`)));
    req.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.message === "socket hang up" ? resolve({ dropped: true }) : reject(e)));
    req.end(body);
  });
}

/** An answer with what differs between two servers on their own (cluster and member IDs) taken out. */
export function withoutIds(a: RawAnswer): RawAnswer {
  return "dropped" in a ? a : { status: a.status, body: a.body.replace(/"(cluster_id|member_id)":"\d+",?/g, "") };
}

/**
 * POSTs a body written in `chunks` (each after `gapMs`) and reads the answer until it ends or
 * `readMs` passed since the request started (then the client goes away): status, body, and
 * whether the server ended the answer by itself.
 */
export function gatewayChunked(clientUrl: string, path: string, chunks: readonly (Buffer | string)[], gapMs: number, readMs: number): Promise<{ status: number; body: string; ended: boolean }> {
  const url = new URL(path, clientUrl);
  return new Promise((resolve, reject) => {
    let status = 0;
    let body = "";
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      resolve({ status, body, ended });
    };
    const req = request(url, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
      status = res.statusCode ?? 0;
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        ended = true;
        req.destroy();
        finish();
      });
      res.on("error", finish);
    });
    req.on("error", (e: NodeJS.ErrnoException) => (status === 0 && e.code !== "ECONNRESET" ? reject(e) : finish()));
    timer = setTimeout(() => {
      req.destroy();
      finish();
    }, readMs);
    let i = 0;
    const next = () => {
      if (req.destroyed) return;
      if (i === chunks.length) return void req.end();
      req.write(chunks[i++]!);
      setTimeout(next, gapMs);
    };
    next();
  });
}
