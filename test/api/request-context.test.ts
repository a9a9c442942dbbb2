/**
 * A unary call's context (etcdserver/requests/context.ts): built on the deadline guard's LazySignal,
 * it makes an AbortSignal only when asked, and the waiters of the request layer wait on the
 * LazySignal itself (waitSignal). A copy of such a context with another signal (a recipe's
 * own-time context, api/v3client/local-client.ts) must wait on its own signal, not on the caller's:
 * a Lock whose caller went away deletes its queued key through such a copy.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LazySignal, requestContext, waitSignal, type RequestContext } from "../../server/etcdserver/requests/context.js";
import { Deadline } from "../../server/etcdserver/request-context.js";
import { ErrCtxCanceled, ErrCtxDeadlineExceeded } from "../../server/pb/errors.js";
import { ManualClock } from "../support/manual-clock.js";

describe("request contexts", () => {
  it("a LazySignal's AbortSignal, made before or after the abort, carries its reason", () => {
    const early = new LazySignal();
    const before = early.signal;
    let heard = 0;
    early.addEventListener("abort", () => heard++);
    before.addEventListener("abort", () => heard++);
    early.abort(ErrCtxCanceled);
    early.abort(ErrCtxDeadlineExceeded);
    assert.equal(heard, 2);
    assert.equal(before.aborted, true);
    assert.equal(before.reason, ErrCtxCanceled);
    const late = new LazySignal();
    late.abort(ErrCtxDeadlineExceeded);
    assert.equal(late.signal.aborted, true);
    assert.equal(late.signal.reason, ErrCtxDeadlineExceeded);
  });

  it("waitSignal: the LazySignal for the context made from it; a copy with another signal answers that signal", () => {
    const lazy = new LazySignal();
    const ctx = requestContext(lazy, { token: "t" });
    assert.equal(waitSignal(ctx), lazy);
    assert.equal(ctx.token, "t");
    lazy.abort(ErrCtxCanceled);
    assert.equal(ctx.signal.reason, ErrCtxCanceled);
    const own: RequestContext = { ...ctx, signal: requestContext().signal };
    assert.equal(own.token, "t");
    assert.equal(waitSignal(own).aborted, false);
    const plain = requestContext(new AbortController().signal);
    assert.equal(waitSignal(plain), plain.signal);
  });

  it("a Deadline ends with its parent's error, or ErrCtxDeadlineExceeded when its time is up", async () => {
    const clock = new ManualClock(0);
    const parent = new LazySignal();
    const d = new Deadline(parent, 100, clock);
    const seen: unknown[] = [];
    const stop = d.onEnd((r) => seen.push(r));
    parent.abort(ErrCtxCanceled);
    stop();
    assert.deepEqual(seen, [ErrCtxCanceled]);
    d.done();
    const t = new Deadline(undefined, 100, clock);
    t.onEnd((r) => seen.push(r));
    await clock.advance(100);
    assert.deepEqual(seen, [ErrCtxCanceled, ErrCtxDeadlineExceeded]);
    t.done();
    const gone = new LazySignal();
    gone.abort(new Error("not an etcd error"));
    assert.equal(new Deadline(gone, 100, clock).reason, ErrCtxCanceled);
  });
});
