/**
 * A member's token provider (etcd's TokenProvider): what `--auth-token` names. Tokens are per
 * member and never replicated: a simple token is registered on every member when its Authenticate
 * entry is applied there, and lives for --auth-token-ttl after its last use on that member; a JWT is
 * signed by the member that authenticated and verified by any member with the key.
 */
import type { AuthInfo, AuthStoreListener } from "./auth-store.js";

export interface IssuedFor {
  readonly user: string;
  readonly authRevision: number;
  /** The simple token the apply assigned (`prefix.index`), if any. */
  readonly simpleToken?: string;
}

export interface TokenProvider extends AuthStoreListener {
  readonly type: "simple" | "jwt";
  /** A fresh random prefix for an Authenticate's simple token ("" for JWT: nothing to assign at apply). */
  prefix(): string;
  /** An applied Authenticate assigned `token` to `user` on this member. */
  assignSimple(user: string, token: string): void;
  /** The token an applied Authenticate answers with. */
  issue(a: IssuedFor): Promise<string>;
  /**
   * The identity `token` stands for, or undefined if it is not valid here. `revision`: the auth
   * store's now (a simple token is checked at it; a JWT carries its own); `waitApplied`: waits until
   * this member applied a raft index.
   */
  info(token: string, revision: number, waitApplied: (index: number) => Promise<void>): Promise<AuthInfo | undefined>;
  close(): void;
}
