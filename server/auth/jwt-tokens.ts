/**
 * etcd's JWT token provider (`--auth-token jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…`), with
 * jose: the claims `username`, `revision` (the auth revision at Authenticate) and `exp`. Any member
 * with the key verifies a token any other signed; a token whose revision is older than the auth
 * store's is refused by the permission checks (etcd's ErrAuthOldRevision). With a public key alone
 * the member verifies but cannot issue (etcd's ErrVerifyOnly).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT, jwtVerify } from "jose";
import type { AuthInfo } from "./auth-store.js";
import { AuthError } from "./errors.js";
import type { IssuedFor, TokenProvider } from "./token-provider.js";

export const ErrVerifyOnly = new AuthError("auth: token signing attempted with verify-only key");

const METHODS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512"] as const;
export type SignMethod = (typeof METHODS)[number];

/** etcd's DefaultTTL for JWTs. */
export const DEFAULT_JWT_TTL_MS = 5 * 60_000;

export interface JwtOptions {
  readonly signMethod: SignMethod;
  readonly publicKeyFile?: string;
  readonly privateKeyFile?: string;
  readonly ttlMs: number;
}

export function isSignMethod(s: string): s is SignMethod {
  return (METHODS as readonly string[]).includes(s);
}

type Key = KeyObject | Uint8Array;

export class JwtTokens implements TokenProvider {
  readonly type = "jwt";
  private readonly signKey: Key | undefined;
  private readonly verifyKey: Key;

  /** Throws (a message for the operator) when a key is missing, unreadable or not of the method's kind. */
  constructor(private readonly opts: JwtOptions) {
    const m = opts.signMethod;
    if (m.startsWith("HS")) {
      if (!opts.privateKeyFile) throw new Error("auth: missing key data");
      const secret = readFileSync(opts.privateKeyFile);
      this.signKey = secret;
      this.verifyKey = secret;
      return;
    }
    const priv = opts.privateKeyFile ? createPrivateKey(readFileSync(opts.privateKeyFile)) : undefined;
    const pub = opts.publicKeyFile ? createPublicKey(readFileSync(opts.publicKeyFile)) : undefined;
    if (!priv && !pub) throw new Error("auth: missing key data");
    const want = m.startsWith("ES") ? "ec" : "rsa";
    for (const k of [priv, pub]) if (k && k.asymmetricKeyType !== want) throw new Error(`auth: a ${k.asymmetricKeyType} key cannot sign ${m}`);
    if (priv && pub && !createPublicKey(priv).equals(pub)) throw new Error("auth: public and private keys don't match");
    this.signKey = priv;
    this.verifyKey = pub ?? createPublicKey(priv!);
  }

  prefix(): string {
    return "";
  }

  enabled(): void {}
  disabled(): void {}
  userInvalidated(): void {}
  assignSimple(): void {}
  close(): void {}

  async issue(a: IssuedFor): Promise<string> {
    if (!this.signKey) throw ErrVerifyOnly;
    return new SignJWT({ username: a.user, revision: a.authRevision })
      .setProtectedHeader({ alg: this.opts.signMethod, typ: "JWT" })
      .setExpirationTime(Math.floor((Date.now() + this.opts.ttlMs) / 1000))
      .sign(this.signKey);
  }

  async info(token: string): Promise<AuthInfo | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.verifyKey, { algorithms: [this.opts.signMethod] });
      if (typeof payload.username !== "string" || typeof payload.revision !== "number") return undefined;
      return { user: payload.username, revision: payload.revision };
    } catch {
      return undefined;
    }
  }
}
