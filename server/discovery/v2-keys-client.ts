/**
 * The part of etcd's v2 keys client (go.etcd.io/etcd/client) that v2 discovery uses: get, create
 * (prevExist=false) and a long-polling watch, against one endpoint, optionally through an HTTP proxy
 * (Go's http.ProxyURL: an http:// target is requested from the proxy by absolute URL, an https://
 * one through a CONNECT tunnel).
 *
 * Errors are the client's: a transport failure or a 5xx answer is a ClusterError (discovery retries
 * those), a non-JSON error body is ErrInvalidJSON, any other failed answer is the server's v2 error
 * (`<code>: <message> (<cause>) [<index>]`).
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import type { Socket } from "node:net";

export interface V2Node {
  readonly key: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: readonly V2Node[];
  readonly createdIndex: number;
  readonly modifiedIndex: number;
}

export interface V2Response {
  readonly action: string;
  readonly node: V2Node;
  /** X-Etcd-Index of the answer. */
  readonly index: number;
}

/** etcd's client.Error: an error answer of the v2 keys API. */
export class V2KeysError extends Error {
  constructor(
    readonly code: number,
    readonly v2Message: string,
    readonly v2Cause: string,
    readonly index: number,
  ) {
    super(`${code}: ${v2Message} (${v2Cause}) [${index}]`);
  }
}

export const ERROR_CODE_KEY_NOT_FOUND = 100;
export const ERROR_CODE_NODE_EXIST = 105;

/** etcd's client.ClusterError: no endpoint answered usefully. */
export class V2ClusterError extends Error {
  constructor(readonly errors: readonly string[]) {
    super("client: etcd cluster is unavailable or misconfigured" + errors.map((e, i) => `; error #${i}: ${e}\n`).join(""));
  }
  detail(): string {
    return this.errors.map((e, i) => `error #${i}: ${e}\n`).join("");
  }
}

export const ERR_INVALID_JSON_TEXT = "client: response is invalid json. The endpoint is probably not valid etcd cluster endpoint";
export class V2InvalidJsonError extends Error {
  constructor() {
    super(ERR_INVALID_JSON_TEXT);
  }
}

/** etcd's client.DefaultRequestTimeout (watches have none). */
export const V2_REQUEST_TIMEOUT_MS = 5000;

export class V2KeysClient {
  /**
   * @param endpoint scheme://host[:port] of the discovery service
   * @param proxy the HTTP proxy requests go through (undefined: direct)
   */
  constructor(
    private readonly endpoint: URL,
    private readonly proxy: URL | undefined,
  ) {}

  get(key: string, query: Record<string, string> = {}): Promise<V2Response> {
    return this.call("GET", key, query, undefined, V2_REQUEST_TIMEOUT_MS);
  }

  /** Creates the key only when it does not exist (etcd's KeysAPI.Create). */
  create(key: string, value: string): Promise<V2Response> {
    return this.call("PUT", key, { prevExist: "false" }, new URLSearchParams({ value }).toString(), V2_REQUEST_TIMEOUT_MS);
  }

  /** The next change at or under key after afterIndex (a long poll, no timeout). */
  watchNext(key: string, afterIndex: number, recursive: boolean): Promise<V2Response> {
    return this.call("GET", key, { wait: "true", waitIndex: String(afterIndex + 1), ...(recursive ? { recursive: "true" } : {}) }, undefined, undefined);
  }

  private async call(method: string, key: string, query: Record<string, string>, body: string | undefined, timeoutMs: number | undefined): Promise<V2Response> {
    const url = new URL(this.endpoint.href);
    url.pathname = key.startsWith("/") ? key : `/${key}`;
    url.search = new URLSearchParams(query).toString();
    let answer: { status: number; index: string | undefined; body: string };
    try {
      answer = await this.send(method, url, body, timeoutMs);
    } catch (e) {
      throw new V2ClusterError([`${method} ${url.href}: ${(e as Error).message}`]);
    }
    if (Math.floor(answer.status / 100) === 5) {
      const why = answer.status === 500 || answer.status === 503 ? `client: etcd member ${this.endpoint.origin} has no leader` : `client: etcd member ${this.endpoint.origin} returns server error [${answer.status}]`;
      throw new V2ClusterError([why]);
    }
    return parseAnswer(answer);
  }

  private async send(method: string, url: URL, body: string | undefined, timeoutMs: number | undefined): Promise<{ status: number; index: string | undefined; body: string }> {
    const headers: Record<string, string> = body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded", "content-length": String(Buffer.byteLength(body)) };
    const secure = url.protocol === "https:";
    let options: RequestOptions & { servername?: string };
    if (this.proxy && !secure) {
      // a forward proxy gets the absolute URL (Go's transport does the same for http:// targets)
      options = { host: this.proxy.hostname, port: this.proxy.port || 80, path: url.href, method, headers: { ...headers, host: url.host } };
    } else {
      options = { host: url.hostname, port: url.port || (secure ? 443 : 80), path: url.pathname + url.search, method, headers };
      if (this.proxy && secure) {
        const socket = await tunnel(this.proxy, url, timeoutMs);
        options = { ...options, createConnection: () => tlsConnect({ socket, servername: url.hostname }) };
      }
    }
    const request = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, index: header(res, "x-etcd-index"), body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error("context deadline exceeded")));
      req.on("error", reject);
      req.end(body);
    });
  }
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A CONNECT tunnel through the proxy to the target's host:port. */
function tunnel(proxy: URL, target: URL, timeoutMs: number | undefined): Promise<Socket> {
  const authority = `${target.hostname}:${target.port || 443}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: proxy.hostname, port: proxy.port || 80, method: "CONNECT", path: authority, headers: { host: authority } });
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(new Error("context deadline exceeded")));
    req.on("connect", (res, socket) => {
      if (res.statusCode === 200) resolve(socket);
      else {
        socket.destroy();
        reject(new Error(`proxyconnect: ${res.statusCode} ${res.statusMessage ?? ""}`.trim()));
      }
    });
    req.on("error", reject);
    req.end();
  });
}

/** etcd's unmarshalHTTPResponse for the keys API. */
function parseAnswer(a: { status: number; index: string | undefined; body: string }): V2Response {
  if (a.status === 200 || a.status === 201) {
    if (a.body.length === 0) throw new Error("client: response body is empty");
    const parsed = parseJson(a.body) as { action?: unknown; node?: unknown } | undefined;
    if (!parsed || typeof parsed !== "object" || !isNode(parsed.node)) throw new V2InvalidJsonError();
    return { action: String(parsed.action ?? ""), node: parsed.node, index: a.index === undefined ? 0 : Number(a.index) };
  }
  const e = parseJson(a.body) as { errorCode?: unknown; message?: unknown; cause?: unknown; index?: unknown } | undefined;
  if (!e || typeof e !== "object") throw new V2InvalidJsonError();
  return failed(e);
}

function failed(e: { errorCode?: unknown; message?: unknown; cause?: unknown; index?: unknown }): never {
  throw new V2KeysError(Number(e.errorCode ?? 0), String(e.message ?? ""), String(e.cause ?? ""), Number(e.index ?? 0));
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function isNode(n: unknown): n is V2Node {
  return typeof n === "object" && n !== null && typeof (n as { key?: unknown }).key === "string";
}
