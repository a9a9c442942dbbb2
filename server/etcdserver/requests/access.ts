/**
 * Access control for every request, in one place (etcd's AuthInfoFromCtx, doSerialize, the
 * authApplierV3 and authMaintenanceServer checks): who the caller is (its token, else the client
 * certificate's common name), and whether the auth store lets it do what it asks. Every service of
 * the request layer asks here before it serves or proposes, whichever transport brought the request.
 *
 * A write is checked before it is proposed and carries the caller and the auth revision it was
 * checked at (an AuthStamp); the apply refuses it if the auth state moved in between (the check
 * no longer holds), so the verdict is the same on every member. A read is checked, served, and
 * refused if the auth revision moved while it was served (etcd's doSerialize).
 */
import type { AuthInfo, AuthStore } from "../../auth/auth-store.js";
import { PermType } from "../../auth/range-perms.js";
import { ErrAuthOldRevision, ErrInvalidAuthToken } from "../../auth/errors.js";
import type { TokenProvider } from "../../auth/token-provider.js";
import type * as kv from "../../pb/kv.js";
import type { AuthStamp } from "../../pb/raft-entry.js";
import type { RequestContext } from "./context.js";

export interface AccessDeps {
  readonly store: AuthStore;
  readonly tokens: TokenProvider;
  /** Waits until this member applied a raft index (a simple token names one). */
  waitApplied(index: number, signal: AbortSignal): Promise<void>;
  /** --client-cert-auth: a verified client certificate's common name names the user. */
  readonly clientCertAuth: boolean;
}

/** Nobody: what a request without credentials is stamped with (refused at apply if auth is on by then). */
const NOBODY: AuthStamp = { user: "", revision: 0 };
const NONE = Buffer.alloc(0);

export class Access {
  constructor(private readonly d: AccessDeps) {}

  get store(): AuthStore {
    return this.d.store;
  }

  get tokens(): TokenProvider {
    return this.d.tokens;
  }

  /** The caller (etcd's AuthInfoFromCtx): undefined without credentials; a token not valid here is ErrInvalidAuthToken, even with auth off (as etcd). */
  async identify(ctx: RequestContext): Promise<AuthInfo | undefined> {
    if (ctx.token !== undefined) {
      const ai = await this.d.tokens.info(ctx.token, this.d.store.revision, (i) => this.d.waitApplied(i, ctx.signal));
      if (!ai) throw ErrInvalidAuthToken;
      return ai;
    }
    return this.byCertificate(ctx);
  }

  /** Without a token: the verified certificate's user under --client-cert-auth, else nobody. */
  private byCertificate(ctx: RequestContext): AuthInfo | undefined {
    if (ctx.certCommonName && this.d.clientCertAuth) return { user: ctx.certCommonName, revision: this.d.store.revision };
    return undefined;
  }

  /** The stamp a write proposed for `ai` carries. */
  stampOf(ai: AuthInfo | undefined): AuthStamp {
    return ai ? { user: ai.user, revision: ai.revision } : NOBODY;
  }

  /** Identifies the caller and runs `check` on it: the caller, for a stamp or a later stillCurrent. */
  async check(ctx: RequestContext, check: (ai: AuthInfo | undefined) => void): Promise<AuthInfo | undefined> {
    // every request comes here: one without a token is identified without another async hop
    const ai = ctx.token !== undefined ? await this.identify(ctx) : this.byCertificate(ctx);
    check(ai);
    return ai;
  }

  /** After a read was served: refused if the auth revision moved meanwhile (etcd's doSerialize). */
  stillCurrent(ai: AuthInfo | undefined): void {
    if (ai && ai.revision !== 0 && ai.revision !== this.d.store.revision) throw ErrAuthOldRevision;
  }

  // ---- the checks, as etcd makes them ---------------------------------------------------------

  readonly range = (ai: AuthInfo | undefined, key: Buffer, rangeEnd: Buffer): void => this.d.store.checkOp(ai, key, rangeEnd, PermType.Read);

  readonly put = (ai: AuthInfo | undefined, r: { key: Buffer; prevKv: boolean }, leaseKeys: readonly Buffer[]): void => {
    this.d.store.checkOp(ai, r.key, NONE, PermType.Write);
    // etcd's checkLeasePuts: a put attaching a lease needs write on every key the lease holds
    for (const k of leaseKeys) this.d.store.checkOp(ai, k, NONE, PermType.Write);
    if (r.prevKv) this.d.store.checkOp(ai, r.key, NONE, PermType.Read);
  };

  readonly deleteRange = (ai: AuthInfo | undefined, r: { key: Buffer; rangeEnd: Buffer; prevKv: boolean }): void => {
    this.d.store.checkOp(ai, r.key, r.rangeEnd, PermType.Write);
    if (r.prevKv) this.d.store.checkOp(ai, r.key, r.rangeEnd, PermType.Read);
  };

  /** etcd's checkTxnAuth: every compare's range read, every op as its own request; nested txns too (etcd 3.4 skips them). */
  readonly txn = (ai: AuthInfo | undefined, t: kv.TxnRequest): void => {
    if (!this.d.store.enabled) return;
    for (const c of t.compare) this.range(ai, c.key, c.rangeEnd);
    for (const op of [...t.success, ...t.failure]) {
      if ("requestRange" in op) this.range(ai, op.requestRange.key, op.requestRange.rangeEnd);
      else if ("requestPut" in op) this.put(ai, op.requestPut, []);
      else if ("requestDeleteRange" in op) this.deleteRange(ai, op.requestDeleteRange);
      else if ("requestTxn" in op) this.txn(ai, op.requestTxn);
    }
  };

  /** Keys a lease holds, each writable (LeaseRevoke), or readable (LeaseTimeToLive with keys). */
  readonly leaseKeys = (ai: AuthInfo | undefined, keys: readonly Buffer[], type: PermType.Read | PermType.Write): void => {
    for (const k of keys) this.d.store.checkOp(ai, k, NONE, type);
  };

  /** Root only: auth changes, user and role lists, member changes, alarms, HashKV, compaction. */
  readonly admin = (ai: AuthInfo | undefined): void => this.d.store.checkAdmin(ai);
}
