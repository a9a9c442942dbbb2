import type { IncomingHttpHeaders } from "node:http2";
import { decodeHeaderList, type HpackTable } from "./hpack.js";

const REQUEST_PSEUDO = new Set([":method", ":scheme", ":path", ":authority"]);
/** Connection-specific fields a request must not carry (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** A field name: lowercase token characters only (RFC 9110 §5.6.2; RFC 9113 §8.2.1 forbids uppercase). */
const NAME_OK: Uint8Array = (() => {
  const ok = new Uint8Array(256);
  for (const c of "abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~") ok[c.charCodeAt(0)] = 1;
  return ok;
})();

function validName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (!NAME_OK[name.charCodeAt(i)]) return false;
  return true;
}

/** RFC 9113 §8.2.1: no NUL, CR or LF, and no leading or trailing whitespace. */
function validValue(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  if (v.length === 0) return true;
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  return first !== 0x20 && first !== 0x09 && last !== 0x20 && last !== 0x09;
}

export interface DecodedRequest {
  /** The request's fields in Node's IncomingHttpHeaders shape (a repeated field as an array), or why the request is malformed. */
  readonly headers: IncomingHttpHeaders | string;
  /** Whether any pseudo-header field came (a trailer block must have none). */
  readonly hasPseudo: boolean;
}

/**
 * A request header block decoded (the table updated, whatever the verdict: the client's encoder has moved on) and
 * checked as RFC 9113 §8.3 asks: names lowercase, pseudo-header fields first, known, once each; :method, :scheme
 * and :path present; no connection-specific fields; te only "trailers"; the list within maxListBytes. A request
 * that fails is malformed: the stream is reset (PROTOCOL_ERROR), the connection stays.
 * :authority is not checked beyond that: grpc-go does not read it, and etcdctl 3.4 sends "http://host:port".
 */
export function requestHeaders(block: Buffer, table: HpackTable, maxListBytes: number): DecodedRequest {
  const fields = decodeHeaderList(block, table, maxListBytes);
  if (fields === undefined) return { headers: "header list too large", hasPseudo: false };
  // no prototype: a field named "__proto__" or "constructor" is a field like any other, never an inherited value
  const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
  let hasPseudo = false;
  let regular = false;
  let error: string | undefined;
  for (const [name, value] of fields) {
    if (error) break;
    if (name.startsWith(":")) {
      hasPseudo = true;
      if (regular) error = `${name} after a regular field`;
      else if (!REQUEST_PSEUDO.has(name)) error = `unknown pseudo-header ${name}`;
      else if (headers[name] !== undefined) error = `${name} repeated`;
      else if (!validValue(value)) error = `bad value of ${name}`;
      else headers[name] = value;
      continue;
    }
    regular = true;
    if (!validName(name)) error = `bad field name "${name}"`;
    else if (CONNECTION_SPECIFIC.has(name)) error = `connection-specific field ${name}`;
    else if (name === "te" && value !== "trailers") error = "te other than trailers";
    else if (!validValue(value)) error = `bad value of ${name}`;
    else {
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else headers[name] = [prev as string, value];
    }
  }
  if (!error && hasPseudo) {
    if (headers[":method"] === undefined || headers[":scheme"] === undefined || headers[":path"] === undefined) error = "missing :method, :scheme or :path";
    else if (headers[":path"] === "") error = "empty :path";
  }
  if (!error && !hasPseudo) error = "no pseudo-header fields";
  return { headers: error ?? headers, hasPseudo };
}
