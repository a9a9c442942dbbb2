/**
 * Fuzzing what a peer's bytes go through: the gRPC frame decoder of the peer service (protobuf
 * MessageBatch / SnapshotChunk), the raft message codec, and the Stream handler that checks each
 * message before raft sees it. Any bytes give a message or a typed error (RaftError), never another
 * exception; a decoded message re-encodes to exactly its bytes; generated messages round-trip; and
 * the handler steps into raft only messages from a member, for us, on the stream of their sender.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import pino from "pino";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { decodeMessage, encodeMessage } from "../../server/raft/message-codec.js";
import { EntryType, MessageType, RaftError, type Entry, type Message } from "../../server/raft/types.js";
import { identityMetadata } from "../../server/transport/handshake.js";
import { peerService, type PeerReceiver } from "../../server/transport/peer-service.js";
import { fuzzParams } from "./settings.js";

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const NP = { noNullPrototype: true } as const;
const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: safe,
  index: safe,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: bytes(64),
}, NP);

const messageArb: fc.Arbitrary<Message> = fc.record({
  type: fc.integer({ min: 0, max: MessageType.PreVoteResp }) as fc.Arbitrary<MessageType>,
  to: u64,
  from: u64,
  term: safe,
  logTerm: safe,
  index: safe,
  entries: fc.array(entryArb, { maxLength: 5 }),
  commit: safe,
  snapshot: fc.option(
    fc.record({
      metadata: fc.record({ index: safe, term: safe, confState: fc.record({ voters: fc.array(u64, { maxLength: 5 }), learners: fc.array(u64, { maxLength: 3 }) }, NP) }, NP),
      data: bytes(64),
    }, NP),
    { nil: undefined },
  ),
  reject: fc.boolean(),
  rejectHint: safe,
  context: bytes(16),
}, NP);

/** Bytes near valid encodings: a valid message with bytes flipped, cut or appended. */
const mutatedArb = fc
  .tuple(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }), fc.nat(), fc.boolean(), bytes(8))
  .map(([m, flips, cut, doCut, tail]) => {
    const b = Buffer.from(encodeMessage(m));
    for (const [pos, x] of flips) b[pos % b.length]! ^= x;
    const cutAt = doCut ? cut % (b.length + 1) : b.length;
    return Buffer.concat([b.subarray(0, cutAt), doCut ? Buffer.alloc(0) : tail]);
  });

function decodeOrTypedError(b: Uint8Array): Message | RaftError {
  try {
    return decodeMessage(b);
  } catch (e) {
    if (e instanceof RaftError) return e;
    throw new Error(`decodeMessage threw a ${(e as Error)?.constructor?.name}: ${String(e)}`);
  }
}

describe("raft message codec", () => {
  it("any bytes decode to a message or a RaftError; a decoded message re-encodes to its bytes", () => {
    fc.assert(
      fc.property(fc.oneof(bytes(256), mutatedArb), (b) => {
        const r = decodeOrTypedError(b);
        if (!(r instanceof RaftError)) assert.deepEqual(Buffer.from(encodeMessage(r)), Buffer.from(b));
      }),
      fuzzParams(),
    );
  });

  it("generated messages round-trip", () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const back = decodeMessage(encodeMessage(m));
        assert.deepEqual({ ...back, entries: [...back.entries] }, { ...m, entries: [...m.entries] });
      }),
      fuzzParams(),
    );
  });
});

describe("peer gRPC frames", () => {
  const peer = serviceDefinition("etcdtspeer", "Peer");
  const deserialize = (method: "Stream" | "Snapshot", b: Uint8Array): unknown => peer[method]!.requestDeserialize(Buffer.from(b));

  it("any frame bytes deserialize to a batch of byte strings / a chunk of two byte strings, or throw an Error (grpc-js answers the call with an error)", () => {
    fc.assert(
      fc.property(bytes(256), fc.constantFrom<"Stream" | "Snapshot">("Stream", "Snapshot"), (b, method) => {
        let v: unknown;
        try {
          v = deserialize(method, b);
        } catch (e) {
          assert.ok(e instanceof Error, `deserialize threw a non-Error: ${String(e)}`);
          return;
        }
        if (method === "Stream") {
          const batch = v as { messages: unknown[] };
          assert.ok(Array.isArray(batch.messages) && batch.messages.every((x) => Buffer.isBuffer(x)));
          for (const m of batch.messages) decodeOrTypedError(m as Buffer);
        } else {
          const c = v as { message: unknown; db: unknown };
          assert.ok(Buffer.isBuffer(c.message) && Buffer.isBuffer(c.db));
          decodeOrTypedError(c.message as Buffer);
        }
      }),
      fuzzParams(),
    );
  });
});

describe("peer Stream handler", () => {
  const CLUSTER = 0x1000n;
  const LOCAL = 1n;
  const MEMBERS = new Set([1n, 2n, 3n]);
  const senderArb = fc.constantFrom(2n, 3n, 0xdeadn);
  const idArb = fc.oneof(fc.constantFrom(1n, 2n, 3n, 0xdeadn), u64);
  const peerMessageArb = fc
    .tuple(messageArb, idArb, idArb)
    .map(([m, from, to]) => ({ ...m, from, to }));
  const batchArb = fc.array(fc.oneof(peerMessageArb.map((m) => Buffer.from(encodeMessage(m))), fc.oneof(bytes(64), mutatedArb)), { maxLength: 8 });

  it("steps into raft only messages of a member, for this member, from the stream's own sender, never a snapshot; never throws", () => {
    const logger = pino({ level: "silent" });
    fc.assert(
      fc.property(senderArb, fc.array(batchArb, { maxLength: 4 }), (from, batches) => {
        const stepped: Message[] = [];
        const receiver: PeerReceiver = {
          localIdentity: () => ({ clusterId: CLUSTER, memberId: LOCAL, removed: new Set() }),
          isMember: (id) => MEMBERS.has(id),
          receive: (m) => void stepped.push(m),
          receiveSnapshot: async () => undefined,
          snapshotDir: () => "/nonexistent",
          onMemberRemoved: () => undefined,
        };
        const svc = peerService(receiver, logger);
        const call = Object.assign(new EventEmitter(), { metadata: identityMetadata({ clusterId: CLUSTER, from, to: LOCAL }), sendMetadata: () => undefined });
        let ended: grpc.ServiceError | null | undefined;
        (svc.Stream as (c: unknown, cb: (e: grpc.ServiceError | null) => void) => void)(call, (e) => (ended = e));
        for (const b of batches) call.emit("data", { messages: b });
        call.emit("end");
        assert.equal(ended, null, "the stream ends normally");
        for (const m of stepped) {
          assert.ok(MEMBERS.has(from), "only from a member");
          assert.equal(m.from, from);
          assert.equal(m.to, LOCAL);
          assert.notEqual(m.type, MessageType.Snap);
        }
      }),
      fuzzParams(200),
    );
  });
});
