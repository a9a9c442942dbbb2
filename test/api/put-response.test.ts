/**
 * The Put method's response serializer (server/pb/put-response.ts, registered by
 * api/grpc/kv-service.ts) is byte-identical to proto-loader's PutResponse serializer: for the
 * headers the server sends (every cluster/member ID width, revisions and terms up to 2^53-1, zeros),
 * and for what it hands back to that serializer (prev_kv, odd shapes).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { MethodDefinition } from "@grpc/grpc-js";
import { kvSpecs } from "../../server/api/grpc/kv-service.js";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { mulberry32 } from "../support/prng.js";

const registered = kvSpecs()["Put"]!;
const generic = serviceDefinition("etcdserverpb", "KV").Put as MethodDefinition<unknown, unknown>;
const fast = (v: unknown) => registered.encode(v);
const slow = (v: unknown) => generic.responseSerialize(v) as Buffer;

const IDS = ["0", "1", "127", "128", "16383", "16384", "2147483648", "9007199254740993", "18446744073709551615", "14841639068965178418"];
const COUNTS = [0, 1, 127, 128, 300, 16384, 2 ** 31, 2 ** 32 + 7, 2 ** 53 - 1];

describe("PutResponse serializer", () => {
  it("writes what proto-loader writes for every header the server sends", () => {
    for (const cluster_id of IDS)
      for (const member_id of IDS)
        for (const revision of COUNTS)
          for (const raft_term of [0, 1, 200, 2 ** 40]) {
            const v = { header: { cluster_id, member_id, revision, raft_term } };
            assert.deepEqual(fast(v), slow(v), JSON.stringify(v));
          }
  });

  it("matches on random headers", () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 5000; i++) {
      const id = () => BigInt.asUintN(64, (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd() * 2 ** 32))).toString();
      const v = { header: { cluster_id: id(), member_id: id(), revision: Math.floor(rnd() * 2 ** 53), raft_term: Math.floor(rnd() * 1000) } };
      assert.deepEqual(fast(v), slow(v), JSON.stringify(v));
    }
  });

  it("hands anything else to proto-loader's serializer: prev_kv, missing or odd header fields", () => {
    const header = { cluster_id: "12", member_id: "34", revision: 5, raft_term: 2 };
    const prevKv = { key: Buffer.from("k"), create_revision: 1, mod_revision: 2, version: 1, value: Buffer.from("v"), lease: "0" };
    for (const v of [
      { header, prev_kv: prevKv },
      { header, prev_kv: null },
      {},
      { header: { ...header, revision: "5" } },
      { header: { cluster_id: "12", member_id: "34" } },
      { header: { ...header, cluster_id: "18446744073709551616" } },
      { header: { ...header, member_id: "-1" } },
      { header: { ...header, revision: -3 } },
      { header: { ...header, revision: 1.5 } },
    ]) {
      let expected: Buffer | Error;
      try {
        expected = slow(v);
      } catch (e) {
        expected = e as Error;
      }
      if (expected instanceof Error) assert.throws(() => fast(v), JSON.stringify(v));
      else assert.deepEqual(fast(v), expected, JSON.stringify(v));
    }
  });
});
