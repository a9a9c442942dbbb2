/**
 * etcd's simple token provider: a random 16-letter prefix drawn by the member that takes the
 * Authenticate, `.index` of its raft entry appended at apply, the token kept in memory on every
 * member with a TTL that each use renews. Not cryptographically signed (etcd warns the same).
 * Disabling auth, deleting a user or changing its password ends its tokens. Time is the member's
 * clock (the system clock in a process; a test's ManualClock in test/support/inproc/).
 */
import { randomInt } from "node:crypto";
import { SYSTEM_CLOCK, type Clock } from "../util/clock.js";
import type { AuthInfo } from "./auth-store.js";
import type { IssuedFor, TokenProvider } from "./token-provider.js";

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PREFIX_LENGTH = 16;
/** etcd's simpleTokenTTLResolution: how often expired tokens are dropped. */
const SWEEP_MS = 1000;

export const DEFAULT_SIMPLE_TOKEN_TTL_SECONDS = 300;

interface Entry {
  readonly user: string;
  expires: number;
}

export class SimpleTokens implements TokenProvider {
  readonly type = "simple";
  private tokens = new Map<string, Entry>();
  private stopSweeper: (() => void) | undefined;
  private on = false;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  prefix(): string {
    let s = "";
    for (let i = 0; i < PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
    return s;
  }

  enabled(): void {
    if (this.on) return;
    this.on = true;
    this.stopSweeper = this.clock.every(SWEEP_MS, () => this.sweep());
  }

  disabled(): void {
    this.on = false;
    this.stopSweeper?.();
    this.stopSweeper = undefined;
    this.tokens = new Map();
  }

  userInvalidated(name: string): void {
    for (const [t, e] of this.tokens) if (e.user === name) this.tokens.delete(t);
  }

  assignSimple(user: string, token: string): void {
    if (!this.on) return; // etcd: no keeper while disabled
    this.tokens.set(token, { user, expires: this.clock.now() + this.ttlMs });
  }

  async issue(a: IssuedFor): Promise<string> {
    if (a.simpleToken === undefined) throw new Error("simple token provider: the Authenticate entry carried no prefix");
    return a.simpleToken;
  }

  async info(token: string, revision: number, waitApplied: (index: number) => Promise<void>): Promise<AuthInfo | undefined> {
    const parts = token.split(".");
    if (parts.length !== 2 || !/^-?[0-9]+$/.test(parts[1]!)) return undefined;
    const index = Number(parts[1]);
    if (!Number.isSafeInteger(index)) return undefined;
    await waitApplied(index);
    const e = this.tokens.get(token);
    if (!e || e.expires < this.clock.now()) return undefined;
    e.expires = this.clock.now() + this.ttlMs;
    return { user: e.user, revision };
  }

  close(): void {
    this.disabled();
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [t, e] of this.tokens) if (e.expires < now) this.tokens.delete(t);
  }
}
