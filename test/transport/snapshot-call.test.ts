/**
 * The peer port's Snapshot call (server/transport/peer-server.ts) against a stand-in member: its identity and
 * membership refusals (codes and texts), a snapshot's database on disk at its known path before raft sees the
 * message, the chunk and message limits, its connections' stream limit, keepalive PINGs and idle limit, and a call that fails or is cancelled: nothing delivered, no file left
 * behind (the partial database is aborted), including a client that half-closes and then resets (a Node or grpc-js
 * client's cancel sends END_STREAM, then RST_STREAM).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect, constants } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { encodeMessage } from "../../server/raft/message-codec.js";
import { MessageType, type Message } from "../../server/raft/types.js";
import { raftMessage, snapMessage } from "../support/raft-message.js";
import { snapDbPath } from "../../server/snap/db-file.js";
import { identityHeaders, identityMetadata, type PeerIdentity } from "../../server/transport/handshake.js";
import { MAX_CONCURRENT_STREAMS, MAX_SNAPSHOT_CHUNK_BYTES, peerMaxMessageBytes } from "../../server/transport/limits.js";
import type { PeerReceiver } from "../../server/transport/peer-service.js";
import { PeerClient, type CallOutcome } from "../support/peer-client.js";
import { startPeerGrpc } from "../support/peer-grpc.js";
import { listenGrpc } from "../support/grpcwire-listen.js";
import { createPeerGrpcServer } from "../../server/transport/peer-server.js";

const CLUSTER = 0x1000n;
const LOCAL = 1n;
const MEMBERS = new Set([1n, 2n, 3n]);
const REMOVED = new Set([9n]);
const MAX_REQUEST_BYTES = 1024 * 1024;
const SNAPSHOT_PATH = "/etcdtspeer.Peer/Snapshot";

/** A MsgSnap (or another type, for the refusal) of a 3-member cluster at term 2. */
function snap(from: bigint, to: bigint, index: number, type = MessageType.Snap): Message {
  if (type !== MessageType.Snap) return raftMessage({ type, from, to, term: 2 });
  return snapMessage(from, to, { index, term: 2, voters: [1n, 2n, 3n], data: new Uint8Array([1, 2, 3]) });
}


/** A SnapshotChunk as protobuf: message = 1, db = 2 (both bytes). */
function chunkBytes(message: Uint8Array, db: Uint8Array): Buffer {
  const field = (tag: number, b: Uint8Array) => {
    if (b.length === 0) return Buffer.alloc(0);
    const len: number[] = [];
    for (let n = b.length; ; n >>>= 7) {
      if (n < 0x80) {
        len.push(n);
        break;
      }
      len.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([Buffer.from([tag, ...len]), b]);
  };
  return Buffer.concat([field(0x0a, message), field(0x12, db)]);
}

function framed(payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the peer port's Snapshot call", { timeout: 120_000 }, () => {
  let dir: string;
  let peer: Awaited<ReturnType<typeof startPeerGrpc>>;
  let client: PeerClient;
  const delivered: Message[] = [];
  const asMember: PeerIdentity = { clusterId: CLUSTER, from: 2n, to: LOCAL };
  const files = () => readdirSync(dir).sort();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "snapcall-"));
    const receiver: PeerReceiver = {
      localIdentity: () => ({ clusterId: CLUSTER, memberId: LOCAL, removed: REMOVED }),
      isMember: (id) => MEMBERS.has(id),
      receive: () => undefined,
      receiveSnapshot: async (m) => void delivered.push(m),
      snapshotDir: () => dir,
      onMemberRemoved: () => undefined,
    };
    peer = await startPeerGrpc(receiver, pino({ level: "silent" }), MAX_REQUEST_BYTES);
    client = new PeerClient(`http://${peer.endpoint}`);
  });
  after(async () => {
    client.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** After a refused call: nothing delivered, and no file left once the partial database is aborted. */
  async function nothingLeft(what: string): Promise<void> {
    await until(`${what}: no file left (${files().join(", ")})`, () => files().length === 0);
    assert.equal(delivered.length, 0, `${what}: nothing delivered`);
  }

  test("identity and membership refusals: etcd-ts's codes and texts, before any byte is written", async () => {
    const msg = encodeMessage(snap(2n, LOCAL, 10));
    const cases: [string, PeerIdentity, grpc.status, string][] = [
      [
        "another cluster",
        { ...asMember, clusterId: 0x2000n },
        grpc.status.FAILED_PRECONDITION,
        "request cluster ID mismatch (local cluster ID 1000, remote cluster ID 2000): a member of another cluster (different --initial-cluster or --initial-cluster-token)",
      ],
      ["a removed member", { ...asMember, from: 9n }, grpc.status.PERMISSION_DENIED, "the member has been permanently removed from the cluster"],
      ["another member's call", { ...asMember, to: 5n }, grpc.status.FAILED_PRECONDITION, "request is for member 5, not this member 1"],
      ["not a member", { ...asMember, from: 7n }, grpc.status.PERMISSION_DENIED, "sender 7 is not a member of the cluster"],
    ];
    for (const [what, id, code, details] of cases) {
      const o = await client.snapshot(id, [{ message: msg }, { db: Buffer.alloc(1000, 1) }]);
      assert.deepEqual(o, { ok: false, code, details }, what);
      await nothingLeft(what);
    }
    // no identity at all
    const Ctor = clientConstructor("etcdtspeer", "Peer");
    const raw = new Ctor(peer.endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Snapshot(md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<object>;
    };
    try {
      const o = await new Promise<CallOutcome>((resolve) => {
        const call = raw.Snapshot(new grpc.Metadata(), (e) => resolve(e ? { ok: false, code: e.code, details: e.details } : { ok: true }));
        call.on("error", () => undefined);
        call.write({ message: Buffer.from(msg), db: Buffer.alloc(0) });
        call.end();
      });
      assert.deepEqual(o, { ok: false, code: grpc.status.INVALID_ARGUMENT, details: "etcdserver: peer request without cluster and member identity" });
    } finally {
      raw.close();
    }
    await nothingLeft("no identity");
  });

  test("a snapshot: its database at the snapshot index's path, complete, before raft gets the message", async () => {
    const db = Buffer.concat([Buffer.alloc(3 * 1024 * 1024 + 17, 5), Buffer.from("tail")]);
    const chunks = [{ message: encodeMessage(snap(2n, LOCAL, 42)) }];
    for (let at = 0; at < db.length; at += 1024 * 1024) chunks.push({ db: db.subarray(at, at + 1024 * 1024) } as never);
    assert.deepEqual(await client.snapshot(asMember, chunks), { ok: true });
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.snapshot!.metadata.index, 42);
    assert.deepEqual(files(), [snapDbPath(dir, 42).slice(dir.length + 1)]);
    assert.ok(readFileSync(snapDbPath(dir, 42)).equals(db), "the database as sent");
    rmSync(snapDbPath(dir, 42));
    delivered.length = 0;
  });

  test("malformed snapshots and oversized chunks are refused, their partial database removed", async () => {
    const msg = encodeMessage(snap(2n, LOCAL, 50));
    const cases: [string, { message?: Uint8Array; db?: Uint8Array }[], grpc.status, string | undefined][] = [
      ["data before the message", [{ db: Buffer.alloc(10) }, { message: msg }], grpc.status.INVALID_ARGUMENT, "snapshot data before its raft message"],
      ["no message", [], grpc.status.INVALID_ARGUMENT, "snapshot without a raft message"],
      ["two messages", [{ message: msg, db: Buffer.alloc(10) }, { message: msg }], grpc.status.INVALID_ARGUMENT, "a second raft message in one snapshot call"],
      ["not a MsgSnap", [{ message: encodeMessage(snap(2n, LOCAL, 50, MessageType.App)) }], grpc.status.INVALID_ARGUMENT, "wrong raft message type App on the snapshot call"],
      [
        "a chunk over the chunk limit",
        [{ message: msg }, { db: Buffer.alloc(10) }, { db: Buffer.alloc(MAX_SNAPSHOT_CHUNK_BYTES + 1) }],
        grpc.status.RESOURCE_EXHAUSTED,
        `snapshot chunk of ${MAX_SNAPSHOT_CHUNK_BYTES + 1} bytes is over the limit of ${MAX_SNAPSHOT_CHUNK_BYTES}`,
      ],
      // refused from the length prefix by the gRPC layer (its own text)
      ["a message over the message limit", [{ message: msg }, { db: Buffer.alloc(10) }, { db: Buffer.alloc(peerMaxMessageBytes(MAX_REQUEST_BYTES)) }], grpc.status.RESOURCE_EXHAUSTED, undefined],
    ];
    for (const [what, chunks, code, details] of cases) {
      const o = await client.snapshot(asMember, chunks);
      assert.equal(o.code, code, `${what}: ${JSON.stringify(o)}`);
      if (details !== undefined) assert.equal(o.details, details, what);
      await nothingLeft(what);
    }
  });

  test("a call cancelled in the middle of its database: nothing delivered, the partial database removed", async () => {
    const Ctor = clientConstructor("etcdtspeer", "Peer");
    const raw = new Ctor(peer.endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Snapshot(md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void): grpc.ClientWritableStream<object>;
    };
    try {
      let outcome: grpc.status | undefined;
      const call = raw.Snapshot(identityMetadata(asMember), (e) => (outcome = e?.code ?? grpc.status.OK));
      call.on("error", () => undefined);
      call.write({ message: Buffer.from(encodeMessage(snap(2n, LOCAL, 60))), db: Buffer.alloc(0) });
      call.write({ message: Buffer.alloc(0), db: Buffer.alloc(64 * 1024, 3) });
      await until("the partial database on disk", () => files().some((f) => f.endsWith(".part")));
      call.cancel();
      await until("the client's outcome", () => outcome !== undefined);
      assert.equal(outcome, grpc.status.CANCELLED);
    } finally {
      raw.close();
    }
    await nothingLeft("cancelled");
  });

  test("its connections: at most MAX_CONCURRENT_STREAMS calls, the server's keepalive PINGs, GOAWAY when idle", async () => {
    const silent = pino({ level: "silent" });
    const receiver: PeerReceiver = {
      localIdentity: () => ({ clusterId: CLUSTER, memberId: LOCAL, removed: REMOVED }),
      isMember: () => true,
      receive: () => undefined,
      receiveSnapshot: async () => undefined,
      snapshotDir: () => dir,
      onMemberRemoved: () => undefined,
    };
    const timers = { pingIntervalMs: 50, pingTimeoutMs: 5_000, idleMs: 300 };
    const short = await listenGrpc(createPeerGrpcServer(receiver, silent, MAX_REQUEST_BYTES, timers));
    const session = connect(`http://${short.endpoint}`);
    try {
      const settings = new Promise<number | undefined>((r) => session.once("remoteSettings", (s) => r(s.maxConcurrentStreams)));
      const pinged = new Promise<void>((r) => session.once("ping", () => r()));
      const goaway = new Promise<void>((r) => session.once("goaway", () => r()));
      assert.equal(await settings, MAX_CONCURRENT_STREAMS);
      await pinged;
      await goaway;
    } finally {
      session.destroy();
      await short.close();
    }
  });

  // The END_STREAM of a cancel must not commit what came before it when the reset follows: tried with the reset
  // in the same write as the half-close, and one to five turns of the event loop later (some land in the middle of
  // the commit). Either the reset came first (nothing delivered, no file) or the snapshot was whole when it was
  // committed and delivered.
  test("a half-close followed by a reset: nothing delivered and nothing left, or the whole database delivered", async (t) => {
    const session = connect(`http://${peer.endpoint}`);
    try {
      const db = Buffer.alloc(256 * 1024, 7);
      const outcomes: string[] = [];
      for (let turns = 0; turns <= 5; turns++) {
        const index = 100 + turns;
        const stream = session.request(
          { ":method": "POST", ":path": SNAPSHOT_PATH, "content-type": "application/grpc", te: "trailers", ...identityHeaders(asMember) },
          { endStream: false },
        );
        stream.on("error", () => undefined);
        const closed = new Promise<void>((r) => stream.once("close", () => r()));
        stream.write(framed(chunkBytes(encodeMessage(snap(2n, LOCAL, index)), new Uint8Array())));
        stream.write(framed(chunkBytes(new Uint8Array(), db)));
        await until("the partial database on disk", () => files().some((f) => f.endsWith(".part")));
        if (turns === 0) stream.close(constants.NGHTTP2_CANCEL);
        else {
          stream.end();
          for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
          stream.close(constants.NGHTTP2_CANCEL);
        }
        await closed;
        // the server settles: the partial database removed, or committed and delivered whole
        await until(`call ${turns} settled (${files().join(", ")})`, () => !files().some((f) => f.endsWith(".part")));
        await new Promise((r) => setTimeout(r, 50));
        const got = delivered.find((m) => m.snapshot!.metadata.index === index);
        outcomes.push(got ? "delivered" : files().length > 0 ? "committed, not delivered" : "removed");
        if (turns === 0) assert.equal(outcomes.at(-1), "removed", "a reset right after the data: nothing committed");
        if (got) assert.ok(readFileSync(snapDbPath(dir, index)).equals(db), `call ${turns}: delivered, so its database is whole`);
        for (const f of files()) rmSync(join(dir, f));
      }
      t.diagnostic(`after 0..5 turns: ${outcomes.join("; ")}`);
    } finally {
      session.destroy();
    }
    delivered.length = 0;
  });
});
