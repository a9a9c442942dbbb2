/**
 * A member's HTTP endpoints: /health and /metrics (served on the client URL by etcd 3.4+ and etcd-ts).
 * Over https when the URL says so, presenting the client certificate of `tls` (a TLS cluster of the kit
 * requires one on the client port) and checking the member against its CA.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";

/** PEM file paths of a client: the CA that signed the members, and a client certificate and key. */
export interface ClientTlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** GET `url`: status and body, or undefined when there is no answer within timeoutMs. */
export function httpGet(url: string, timeoutMs: number, tls?: ClientTlsFiles): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    const done = (v: { status: number; body: string } | undefined) => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      req?.destroy();
      resolve(undefined);
    }, timeoutMs);
    try {
      const onRes = (res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => done(undefined));
      };
      if (url.startsWith("https:")) {
        // Read at each call: a rotated certificate is used by the next check.
        const opts: https.RequestOptions = tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {};
        req = https.get(url, { ...opts, agent: false }, onRes);
      } else {
        req = http.get(url, { agent: false }, onRes);
      }
      req.on("error", () => done(undefined));
    } catch {
      done(undefined);
    }
  });
}

export async function isHealthy(clientUrl: string, timeoutMs = 1000, tls?: ClientTlsFiles): Promise<boolean> {
  const res = await httpGet(`${clientUrl}/health`, timeoutMs, tls);
  if (!res || res.status < 200 || res.status >= 300) return false;
  try {
    const body = JSON.parse(res.body) as { health?: unknown };
    return body.health === "true" || body.health === true;
  } catch {
    return false;
  }
}

/** true/false from `etcd_server_is_leader`, undefined when the member does not answer. */
export async function isLeader(clientUrl: string, timeoutMs = 1000, tls?: ClientTlsFiles): Promise<boolean | undefined> {
  const res = await httpGet(`${clientUrl}/metrics`, timeoutMs, tls);
  if (!res || res.status < 200 || res.status >= 300) return undefined;
  const m = /^etcd_server_is_leader\s+([0-9.e+-]+)\s*$/m.exec(res.body);
  return m ? Number(m[1]) === 1 : undefined;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or the deadline passes; `failFast` may throw to stop early. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, failFast?: () => Promise<void> | void, intervalMs = 150): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (failFast) await failFast();
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
