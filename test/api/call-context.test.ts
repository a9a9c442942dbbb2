/**
 * A unary call's context (server/api/grpc/call-context.ts): a unary call whose deadline passes is
 * answered with the handler's etcd error (or "context deadline exceeded", Unknown), never with a
 * DEADLINE_EXCEEDED of the server's own, also when the event loop is blocked across the
 * deadline. What the server sends is read with a raw HTTP/2 client that keeps listening after its
 * deadline (support/raw-grpc.ts).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { unary } from "../../server/api/grpc/unary.js";
import type { ServiceHandlers } from "../../server/api/grpc/handlers.js";
import { GrpcServer } from "../../server/grpcwire/grpc-server.js";
import { methodSpecs } from "../../server/pb/grpc-services.js";
import { listenGrpc } from "../support/grpcwire-listen.js";
import { ServerMetrics } from "../../server/metrics/metrics.js";
import { ErrCtxCanceled, ErrCtxDeadlineExceeded, ErrTimeout, GrpcCode } from "../../server/pb/errors.js";
import { contextError } from "../../server/etcdserver/request-context.js";
import { rawUnary } from "../support/raw-grpc.js";

/** What each handler saw, by the key of its Range request. */
const seen = new Map<string, { aborted: unknown }>();

function busyWait(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* block the event loop */
  }
}

/** A KV service whose Range handler behaves as the request key says. */
function kvService(metrics: ServerMetrics): ServiceHandlers {
  return {
    Range: unary(metrics, "etcdserverpb.KV", "Range", ({ signal }, r: { key: Buffer }) => {
      const key = r.key.toString();
      const rec = { aborted: undefined as unknown };
      seen.set(key, rec);
      signal.addEventListener("abort", () => (rec.aborted = signal.reason), { once: true });
      if (key === "quick") return Promise.resolve({ header: {}, kvs: [], more: false, count: 0 });
      // "block": blocks the event loop from 200 ms to 600 ms after the call arrived
      if (key.startsWith("block")) setTimeout(() => busyWait(400), 200);
      return new Promise((resolve, reject) => {
        // "etcd" (and "block"): waits on "raft" and answers etcd's timeout error when its context ends
        if (key.startsWith("etcd") || key.startsWith("block")) signal.addEventListener("abort", () => reject(signal.reason === ErrCtxCanceled ? contextError(signal) : ErrTimeout), { once: true });
        // "deaf": ignores its context, answers much later
        if (key.startsWith("deaf")) setTimeout(() => resolve({ header: {}, kvs: [], more: false, count: 0 }), 3000);
      });
    }),
  };
}

async function startServer(): Promise<{ close(): Promise<void>; endpoint: string }> {
  const server = new GrpcServer({ maxReceiveBytes: 4 << 20, maxConcurrentStreams: 100, pingIntervalMs: 2 ** 31 - 1, pingTimeoutMs: 20_000, idleMs: 60_000 });
  const range = kvService(new ServerMetrics(() => 0))["Range"]!;
  if (!("unary" in range)) throw new Error("Range is unary");
  server.unary(methodSpecs("etcdserverpb", "KV")["Range"]!, range.unary);
  return listenGrpc(server);
}

const range = (endpoint: string, key: string, deadlineMs: number) =>
  rawUnary(endpoint, { service: "KV", method: "Range" }, { key: Buffer.from(key) }, { deadlineMs, patienceMs: 3000 });

describe("a unary call's deadline", () => {
  let server: { close(): Promise<void> };
  let endpoint: string;
  before(async () => {
    const s = await startServer();
    server = s;
    endpoint = s.endpoint;
  });
  after(() => server.close());

  test("a handler waiting on raft answers its etcd error at the deadline, and its context says why", async () => {
    const a = await range(endpoint, "etcd", 300);
    assert.equal(a.code, GrpcCode.Unavailable, JSON.stringify(a));
    assert.equal(a.message, "etcdserver: request timed out");
    assert.equal(seen.get("etcd")?.aborted, ErrCtxDeadlineExceeded);
  });

  test("a handler that ignores its context: the server answers Unknown \"context deadline exceeded\" (etcd's text for a Go context error)", async () => {
    const a = await range(endpoint, "deaf", 300);
    assert.equal(a.code, GrpcCode.Unknown, JSON.stringify(a));
    assert.equal(a.message, "context deadline exceeded");
  });

  test("the event loop blocked across the deadline: still the handler's answer, never DEADLINE_EXCEEDED", async () => {
    // several calls with the same deadline, the loop blocked from 100 ms before it to 300 ms after
    const answers = await Promise.all([0, 1, 2, 3].map((i) => range(endpoint, `${i === 0 ? "block" : "etcd"}-blocked-${i}`, 300)));
    for (const a of answers) {
      assert.notEqual(a.code, GrpcCode.DeadlineExceeded, JSON.stringify(a));
      assert.equal(a.code, GrpcCode.Unavailable, JSON.stringify(a));
    }
  });

  test("a call that finishes in time is answered normally", async () => {
    const a = await range(endpoint, "quick", 300);
    assert.equal(a.code, GrpcCode.OK, JSON.stringify(a));
  });

  test("a call without a deadline waits; the client going away aborts its context with ErrCtxCanceled", async () => {
    const key = "etcd-cancel";
    const a = await rawUnary(endpoint, { service: "KV", method: "Range" }, { key: Buffer.from(key) }, { deadlineMs: Infinity, abandonAfterMs: 400 });
    assert.equal(a.code, undefined, "nothing answered while the client waited");
    for (let i = 0; i < 50 && seen.get(key)?.aborted === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.get(key)?.aborted, ErrCtxCanceled);
  });
});
