import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { MethodDefinition } from "@grpc/grpc-js";
import type { MethodSpec } from "../../server/grpcwire/method.js";
import { fuzzParams } from "./settings.js";
import { methodSpecs, serviceDefinition } from "../../server/pb/grpc-services.js";
import { KV_RAW_METHODS, kvSpecs } from "../../server/api/grpc/kv-service.js";
import { compactionFromWire, deleteRangeFromWire, putFromWire, rangeFromWire, txnFromWire } from "../../server/pb/convert.js";
import { EtcdError } from "../../server/pb/errors.js";
import { validateDeleteRange, validatePut, validateRange, validateTxn } from "../../server/etcdserver/apply/validate.js";
import type { WireCompactionRequest, WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireTxnRequest, WithRaw } from "../../server/pb/wire.js";
import { canonical, requestArbitrary } from "../support/proto-arbitrary.js";

/**
 * Fuzzing the gRPC request decoders, as the server registers them (the KV methods that keep the
 * client's raw bytes for the raft log, the Watch definition that passes buffers): any bytes as a
 * request of any method of KV, Lease, Watch, Maintenance, Cluster, Lock and Election decode to a
 * request or fail with an Error, and the KV path on to etcd-ts's types (server/pb) and etcd's
 * request checks gives a request or etcd's error; every valid request round-trips exactly.
 */

interface Method {
  readonly name: string;
  /** As the client port's gRPC server registers it. */
  readonly def: MethodSpec<unknown, unknown>;
  /** proto-loader's request serializer (what a client sends). */
  readonly serialize: (v: unknown) => Buffer;
  /** The request message type, e.g. "etcdserverpb.PutRequest". */
  readonly type: string;
}

const SERVICES: Array<[pkg: string, service: string, specs: Record<string, MethodSpec<unknown, unknown>>]> = [
  ["etcdserverpb", "KV", kvSpecs()],
  ["etcdserverpb", "Watch", methodSpecs("etcdserverpb", "Watch")],
  ["etcdserverpb", "Lease", methodSpecs("etcdserverpb", "Lease")],
  ["etcdserverpb", "Maintenance", methodSpecs("etcdserverpb", "Maintenance")],
  ["etcdserverpb", "Cluster", methodSpecs("etcdserverpb", "Cluster")],
  ["v3lockpb", "Lock", methodSpecs("v3lockpb", "Lock")],
  ["v3electionpb", "Election", methodSpecs("v3electionpb", "Election")],
];

const METHODS: Method[] = SERVICES.flatMap(([pkg, service, specs]) =>
  Object.entries(specs).map(([name, spec]) => {
    const md = serviceDefinition(pkg, service)[name] as MethodDefinition<unknown, unknown> & { requestType?: { type?: { name?: string } } };
    return { name: `${service}.${name}`, def: spec, serialize: (v: unknown) => md.requestSerialize(v), type: requestTypeOf(md) };
  }),
);

/** proto-loader keeps the request type's descriptor on the method definition. */
function requestTypeOf(md: { path: string; requestType?: { type?: { name?: string } } }): string {
  const pkg = md.path.split("/")[1]!.split(".")[0]!;
  return `${pkg}.${md.requestType!.type!.name!}`;
}

const isRaw = (m: Method) => KV_RAW_METHODS.some((k) => m.name === `KV.${k}`);

/** A request the way the handlers receive it (the KV raw methods wrap it with the bytes). */
function decoded(m: Method, bytes: Buffer): unknown {
  const out = m.def.decode(bytes);
  if (!isRaw(m)) return out;
  const w = out as WithRaw<unknown>;
  assert.ok(w.raw.equals(bytes), "the raw bytes are the client's");
  return w.msg;
}

/** The KV path after decoding: etcd-ts's types and etcd's request checks (what the handlers and the applier run). */
function throughKv(m: Method, msg: unknown): void {
  switch (m.name) {
    case "KV.Range":
      return validateRange(rangeFromWire(msg as WireRangeRequest));
    case "KV.Put":
      return validatePut(putFromWire(msg as WirePutRequest));
    case "KV.DeleteRange":
      return validateDeleteRange(deleteRangeFromWire(msg as WireDeleteRangeRequest));
    case "KV.Txn":
      return validateTxn(txnFromWire(msg as WireTxnRequest));
    case "KV.Compact":
      compactionFromWire(msg as WireCompactionRequest);
  }
}

const method = fc.constantFrom(...METHODS);

/** Bytes shaped like protobuf (tags, varints, lengths) more often than random ones would be. */
const protobufish = fc
  .array(
    fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 70 }), fc.constantFrom(0, 1, 2, 5), fc.uint8Array({ maxLength: 12 })).map(([field, wire, body]) => {
        const head = [(field << 3) | wire];
        return wire === 2 ? [...head, body.length, ...body] : [...head, ...body.slice(0, wire === 0 ? 3 : wire === 1 ? 8 : 4)];
      }),
      fc.uint8Array({ maxLength: 6 }).map((b) => [...b]),
    ),
    { maxLength: 10 },
  )
  .map((parts) => Buffer.from(parts.flat()));

describe("fuzz: gRPC request decoders", () => {
  test("every method is covered", () => {
    for (const s of ["KV.Range", "KV.Txn", "Watch.Watch", "Lease.LeaseKeepAlive", "Maintenance.Status", "Cluster.MemberAdd", "Lock.Lock", "Election.Observe"]) {
      assert.ok(METHODS.some((m) => m.name === s), s);
    }
  });

  test("any bytes: a request or an Error, and on the KV path a request or etcd's error", () => {
    fc.assert(
      fc.property(method, fc.oneof(fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)), protobufish), (m, bytes) => {
        let msg: unknown;
        try {
          msg = decoded(m, bytes);
        } catch (e) {
          assert.ok(e instanceof Error, `${m.name} threw a non-Error: ${String(e)}`);
          return;
        }
        assert.equal(typeof msg, "object");
        try {
          throughKv(m, msg);
        } catch (e) {
          assert.ok(e instanceof EtcdError, `${m.name}: ${(e as Error).stack}`);
        }
      }),
      fuzzParams(),
    );
  });

  test("valid requests round-trip exactly (64-bit integers over their whole range)", () => {
    const c = method.chain((m) => fc.tuple(fc.constant(m), requestArbitrary(m.type, 3)));
    fc.assert(
      fc.property(c, ([m, o]) => {
        const bytes = m.serialize(o);
        const back = decoded(m, bytes);
        assert.deepEqual(canonical(m.type, back), canonical(m.type, o), m.name);
        // the same bytes again: nothing is lost or added on the way through
        assert.ok(m.serialize(back).equals(bytes) || canonicalBytesEqual(m, back, bytes), m.name);
        try {
          throughKv(m, back);
        } catch (e) {
          assert.ok(e instanceof EtcdError, `${m.name}: ${(e as Error).stack}`);
        }
      }),
      fuzzParams(),
    );
  });
});

/** Re-encoding may order or default fields differently; equal once decoded again is what matters. */
function canonicalBytesEqual(m: Method, back: unknown, bytes: Buffer): boolean {
  return JSON.stringify(canonical(m.type, decoded(m, m.serialize(back)))) === JSON.stringify(canonical(m.type, decoded(m, bytes)));
}
