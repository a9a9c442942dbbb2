/**
 * Fuzzing what a peer's bytes go through: the gRPC frame decoder of the peer service's Snapshot call
 * (protobuf SnapshotChunk), the raft message codec, and the raft stream receiver that cuts a
 * stream into frames and checks each message before raft sees it. Any bytes give a message or a
 * typed error (RaftError), never another exception; a decoded message re-encodes to exactly its
 * bytes; generated messages round-trip; the receiver steps into raft only messages from a member,
 * for us, on the stream of their sender, however the stream's bytes are cut, and any bytes on a
 * stream give checked messages or a closed stream, never an exception.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Duplex } from "node:stream";
import fc from "fast-check";
import pino from "pino";
import { serviceDefinition } from "../../server/pb/grpc-services.js";
import { decodeMessage, encodedMessageSize, encodeMessage } from "../../server/raft/message-codec.js";
import { encodeFrames, encodeMessageFrames, FrameKind, FrameReader } from "../../server/transport/frames.js";
import { EntryType, MessageType, RaftError, type Entry, type Message } from "../../server/raft/types.js";
import { identityHeaders } from "../../server/transport/handshake.js";
import type { PeerReceiver } from "../../server/transport/peer-service.js";
import { RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, RaftStreamReceiver } from "../../server/transport/raft-stream-receiver.js";
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
  commitOnly: fc.boolean(),
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

  it("a batch encoded straight into its frames is the frames of each message encoded alone, and reads back", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { maxLength: 6 }), (ms) => {
        const framed = encodeMessageFrames(ms, ms.map(encodedMessageSize));
        assert.deepEqual(framed, encodeFrames(ms.map((m) => ({ kind: FrameKind.Message, payload: encodeMessage(m) }))));
        const back = new FrameReader(1 << 20).push(framed).map((f) => decodeMessage(f.payload));
        assert.deepEqual(back.map((m) => ({ ...m, entries: [...m.entries] })), ms.map((m) => ({ ...m, entries: [...m.entries] })));
      }),
      fuzzParams(),
    );
    // A size that is not the message's is refused, never written past or short of.
    const m = { type: MessageType.App, to: 1n, from: 2n, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, snapshot: undefined, reject: false, rejectHint: 0, context: new Uint8Array(0), commitOnly: false };
    assert.throws(() => encodeMessageFrames([m], [encodedMessageSize(m) + 1]), RaftError);
    assert.throws(() => encodeMessageFrames([m], [encodedMessageSize(m) - 1]), RangeError);
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

describe("peer gRPC frames (Snapshot)", () => {
  const peer = serviceDefinition("etcdtspeer", "Peer");

  it("any frame bytes deserialize to a chunk of two byte strings, or throw an Error (grpc-js answers the call with an error)", () => {
    fc.assert(
      fc.property(bytes(256), (b) => {
        let v: unknown;
        try {
          v = peer.Snapshot!.requestDeserialize(Buffer.from(b));
        } catch (e) {
          assert.ok(e instanceof Error, `deserialize threw a non-Error: ${String(e)}`);
          return;
        }
        const c = v as { message: unknown; db: unknown };
        assert.ok(Buffer.isBuffer(c.message) && Buffer.isBuffer(c.db));
        decodeOrTypedError(c.message as Buffer);
      }),
      fuzzParams(),
    );
  });
});

describe("raft stream receiver", () => {
  const CLUSTER = 0x1000n;
  const LOCAL = 1n;
  const MEMBERS = new Set([1n, 2n, 3n]);
  const senderArb = fc.constantFrom(2n, 3n, 0xdeadn);
  const idArb = fc.oneof(fc.constantFrom(1n, 2n, 3n, 0xdeadn), u64);
  const peerMessageArb = fc
    .tuple(messageArb, idArb, idArb)
    .map(([m, from, to]) => ({ ...m, from, to }));
  const payloadArb = fc.oneof(peerMessageArb.map((m) => Buffer.from(encodeMessage(m))), fc.oneof(bytes(64), mutatedArb));
  const logger = pino({ level: "silent" });

  /** A receiver whose raft records what is stepped, and a stream accepted from `from`. */
  function open(from: bigint): { stepped: Message[]; socket: Duplex } {
    const stepped: Message[] = [];
    const receiver: PeerReceiver = {
      localIdentity: () => ({ clusterId: CLUSTER, memberId: LOCAL, removed: new Set() }),
      isMember: (id) => MEMBERS.has(id),
      receive: (m) => void stepped.push(m),
      receiveSnapshot: async () => undefined,
      snapshotDir: () => "/nonexistent",
      onMemberRemoved: () => undefined,
    };
    const socket = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
    const req = { url: RAFT_STREAM_PATH, headers: { upgrade: RAFT_STREAM_PROTOCOL, ...identityHeaders({ clusterId: CLUSTER, from, to: LOCAL }) } } as unknown as IncomingMessage;
    new RaftStreamReceiver(receiver, logger, 1 << 20).accept(req, socket, Buffer.alloc(0));
    return { stepped, socket };
  }

  /** Delivers `b` as the socket would, cut at `cuts` (synchronously, as the stream's 'data' events). */
  function deliver(socket: Duplex, b: Buffer, cuts: number[]): void {
    let at = 0;
    for (const c of cuts) {
      if (socket.destroyed) return;
      const end = Math.min(b.length, at + c);
      socket.emit("data", b.subarray(at, end));
      at = end;
    }
    if (!socket.destroyed && at < b.length) socket.emit("data", b.subarray(at));
  }

  function checkStepped(stepped: readonly Message[], from: bigint): void {
    for (const m of stepped) {
      assert.ok(MEMBERS.has(from), "only from a member");
      assert.equal(m.from, from);
      assert.equal(m.to, LOCAL);
      assert.notEqual(m.type, MessageType.Snap);
    }
  }

  it("steps into raft only messages of a member, for this member, from the stream's own sender, never a snapshot, however the bytes are cut", () => {
    fc.assert(
      fc.property(senderArb, fc.array(payloadArb, { maxLength: 24 }), fc.array(fc.nat(200), { maxLength: 16 }), (from, payloads, cuts) => {
        const { stepped, socket } = open(from);
        deliver(socket, encodeFrames(payloads.map((payload) => ({ kind: FrameKind.Message, payload }))), cuts);
        assert.ok(!socket.destroyed, "well-framed messages never close the stream");
        checkStepped(stepped, from);
      }),
      fuzzParams(200),
    );
  });

  it("any bytes on a stream: checked messages or a closed stream, never an exception", () => {
    fc.assert(
      fc.property(senderArb, bytes(512), fc.array(fc.nat(100), { maxLength: 8 }), (from, b, cuts) => {
        const { stepped, socket } = open(from);
        deliver(socket, Buffer.from(b), cuts);
        checkStepped(stepped, from);
      }),
      fuzzParams(200),
    );
  });
});
