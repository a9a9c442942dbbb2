/**
 * `--auth-token` as etcd reads it (decomposeOpts, NewTokenProvider): `simple`, or
 * `jwt,sign-method=…,pub-key=…,priv-key=…,ttl=…`; a malformed, duplicated or unknown option is
 * "auth: invalid auth options" (etcd refuses to start), an unknown sign method is
 * "auth: invalid auth signature method".
 */
import { parseGoDuration } from "../config/go-duration.js";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";
import { DEFAULT_JWT_TTL_MS, isSignMethod, JwtTokens } from "./jwt-tokens.js";
import { DEFAULT_SIMPLE_TOKEN_TTL_SECONDS, SimpleTokens } from "./simple-tokens.js";
import type { TokenProvider } from "./token-provider.js";

export class AuthOptionsError extends Error {}

const KNOWN_JWT = new Set(["sign-method", "pub-key", "priv-key", "ttl"]);

export function parseTokenOptions(s: string): { type: string; opts: Map<string, string> } {
  const parts = s.split(",");
  const opts = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const kv = p.split("=");
    if (kv.length !== 2 || opts.has(kv[0]!)) throw new AuthOptionsError(`auth: invalid auth options (${s})`);
    opts.set(kv[0]!, kv[1]!);
  }
  return { type: parts[0]!, opts };
}

/**
 * The provider `--auth-token` names; `simpleTtlSeconds`: --auth-token-ttl; `clock`: the member's
 * (simple tokens' TTL and sweeper run on it). Throws AuthOptionsError.
 */
export function tokenProviderOf(authToken: string, simpleTtlSeconds: number, clock: Clock = SYSTEM_CLOCK): TokenProvider {
  const { type, opts } = parseTokenOptions(authToken);
  if (type === "simple") return new SimpleTokens((simpleTtlSeconds > 0 ? simpleTtlSeconds : DEFAULT_SIMPLE_TOKEN_TTL_SECONDS) * 1000, clock);
  if (type !== "jwt") throw new AuthOptionsError(`auth: invalid auth options (unknown token type '${type}')`);
  const unknown = [...opts.keys()].filter((k) => !KNOWN_JWT.has(k));
  if (unknown.length > 0) throw new AuthOptionsError(`auth: invalid auth options (unknown JWT options: ${unknown.join(", ")})`);
  const method = opts.get("sign-method") ?? "";
  if (!isSignMethod(method)) throw new AuthOptionsError("auth: invalid auth signature method");
  const ttl = opts.get("ttl");
  const ttlMs = ttl ? parseGoDuration(ttl) : DEFAULT_JWT_TTL_MS;
  if (ttlMs === undefined) throw new AuthOptionsError(`auth: invalid auth options (ttl=${ttl})`);
  try {
    return new JwtTokens({ signMethod: method, publicKeyFile: opts.get("pub-key"), privateKeyFile: opts.get("priv-key"), ttlMs });
  } catch (e) {
    throw new AuthOptionsError(e instanceof Error ? e.message : String(e));
  }
}
