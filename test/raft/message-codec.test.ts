import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeEntry, decodeMessage, encodedMessageSize, encodeEntry, encodeMessage } from "../../server/raft/message-codec.js";
import { EntryType, type Message, MessageType } from "../../server/raft/types.js";
import { entrySize, makeMessage } from "../../server/raft/util.js";
import { enc, mulberry32 } from "./helpers.js";

function norm(m: Message) {
  return {
    ...m,
    context: [...m.context],
    entries: m.entries.map((e) => ({ ...e, data: [...e.data] })),
    snapshot: m.snapshot && { ...m.snapshot, data: [...m.snapshot.data] },
  };
}

describe("message codec", () => {
  it("round-trips every message type with all fields", () => {
    for (let t = 0; t <= MessageType.PreVoteResp; t++) {
      const m = makeMessage({
        type: t as MessageType,
        to: 0xffff_ffff_ffff_fffen,
        from: 3n,
        term: 2 ** 53 - 1,
        logTerm: 7,
        index: 123456789012,
        commit: 99,
        reject: t % 2 === 0,
        rejectHint: 42,
        context: enc(`ctx-${t}`),
        entries: [
          { term: 7, index: 100, type: EntryType.Normal, data: enc("") },
          { term: 7, index: 101, type: EntryType.ConfChange, data: new Uint8Array([0, 1, 2, 255]) },
        ],
      });
      const b = encodeMessage(m);
      assert.equal(b.byteLength, encodedMessageSize(m));
      assert.deepEqual(norm(decodeMessage(b)), norm(m));
    }
  });

  it("round-trips a snapshot message", () => {
    const m = makeMessage({
      type: MessageType.Snap,
      to: 2n,
      from: 1n,
      term: 5,
      snapshot: {
        metadata: { index: 1000, term: 4, confState: { voters: [1n, 2n, 3n], learners: [9n] } },
        data: new Uint8Array(10_000).fill(7),
      },
    });
    const d = decodeMessage(encodeMessage(m));
    assert.deepEqual(norm(d), norm(m));
    assert.equal(d.snapshot!.metadata.confState.learners[0], 9n);
  });

  it("round-trips random messages", () => {
    const r = mulberry32(99);
    const int = (n: number) => Math.floor(r() * n);
    for (let i = 0; i < 300; i++) {
      const n = int(5);
      const entries = Array.from({ length: n }, (_, k) => ({
        term: int(1000),
        index: 1 + k + int(1e9),
        type: int(2) as EntryType,
        data: Uint8Array.from({ length: int(50) }, () => int(256)),
      }));
      const m = makeMessage({
        type: int(19) as MessageType,
        to: BigInt(int(1e9)) << 20n,
        from: BigInt(int(1e9)),
        term: int(1e12),
        logTerm: int(1e12),
        index: int(1e12),
        commit: int(1e12),
        reject: r() < 0.5,
        rejectHint: int(1e12),
        context: Uint8Array.from({ length: int(20) }, () => int(256)),
        entries,
        snapshot:
          r() < 0.2
            ? { metadata: { index: int(1e6), term: int(100), confState: { voters: [1n, 2n], learners: [] } }, data: enc("s") }
            : undefined,
      });
      assert.deepEqual(norm(decodeMessage(encodeMessage(m))), norm(m));
    }
  });

  it("decoded bytes are copies by default, views with copy=false", () => {
    const m = makeMessage({ type: MessageType.App, entries: [{ term: 1, index: 1, type: EntryType.Normal, data: enc("abc") }] });
    const b = encodeMessage(m);
    const copied = decodeMessage(b);
    const viewed = decodeMessage(b, { copy: false });
    b.fill(0, b.byteLength - 3);
    assert.equal(new TextDecoder().decode(copied.entries[0]!.data), "abc");
    assert.deepEqual([...viewed.entries[0]!.data], [0, 0, 0]);
  });

  it("copies out of a Buffer input too (the peer transport's): entries do not keep the received frame alive", () => {
    const m = makeMessage({ type: MessageType.App, context: enc("ctx"), entries: [{ term: 1, index: 1, type: EntryType.Normal, data: enc("abc") }] });
    const b = Buffer.from(encodeMessage(m));
    const copied = decodeMessage(b);
    for (const bytes of [copied.entries[0]!.data, copied.context]) assert.notEqual(bytes.buffer, b.buffer);
    b.fill(0);
    assert.equal(new TextDecoder().decode(copied.entries[0]!.data), "abc");
    assert.equal(new TextDecoder().decode(copied.context), "ctx");
  });

  it("rejects truncated, trailing and malformed input", () => {
    const m = makeMessage({ type: MessageType.App, context: enc("x"), entries: [{ term: 1, index: 1, type: EntryType.Normal, data: enc("abc") }] });
    const b = encodeMessage(m);
    for (let cut = 0; cut < b.byteLength; cut++) assert.throws(() => decodeMessage(b.subarray(0, cut)));
    const longer = new Uint8Array(b.byteLength + 1);
    longer.set(b);
    assert.throws(() => decodeMessage(longer));
    const badVersion = b.slice();
    badVersion[0] = 2;
    assert.throws(() => decodeMessage(badVersion));
    const badType = b.slice();
    badType[1] = 200;
    assert.throws(() => decodeMessage(badType));
    assert.throws(() => encodeMessage(makeMessage({ type: MessageType.App, term: -1 })));
    assert.throws(() => encodeMessage(makeMessage({ type: MessageType.App, index: 2 ** 53 })));
  });

  it("entry codec: size equals entrySize()", () => {
    const e = { term: 3, index: 77, type: EntryType.ConfChange, data: enc("hello") };
    const b = encodeEntry(e);
    assert.equal(b.byteLength, entrySize(e));
    const d = decodeEntry(b);
    assert.deepEqual({ ...d, data: [...d.data] }, { ...e, data: [...e.data] });
  });
});
