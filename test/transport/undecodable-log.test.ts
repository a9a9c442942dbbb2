/** A peer sending undecodable raft messages gets one warning per interval, not one per message. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Duplex } from "node:stream";
import pino from "pino";
import { encodeFrames, FrameKind } from "../../server/transport/frames.js";
import { identityHeaders } from "../../server/transport/handshake.js";
import type { PeerReceiver } from "../../server/transport/peer-service.js";
import { RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, RaftStreamReceiver } from "../../server/transport/raft-stream-receiver.js";

test("undecodable peer messages: one warning per peer, however many arrive", async () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ base: null }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  let received = 0;
  const receiver: PeerReceiver = {
    localIdentity: () => ({ clusterId: 1n, memberId: 2n, removed: new Set() }),
    isMember: () => true,
    receive: () => void received++,
    receiveSnapshot: async () => undefined,
    snapshotDir: () => "/nonexistent",
    onMemberRemoved: () => undefined,
  };
  const rx = new RaftStreamReceiver(receiver, logger, 1 << 20);
  const streams = [3n, 4n].map((from) => {
    const socket = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
    const req = { url: RAFT_STREAM_PATH, headers: { upgrade: RAFT_STREAM_PROTOCOL, ...identityHeaders({ clusterId: 1n, from, to: 2n }) } } as unknown as IncomingMessage;
    rx.accept(req, socket, Buffer.alloc(0));
    return socket;
  });
  const garbage = encodeFrames([Buffer.from("garbage"), Buffer.from([0xff])].map((payload) => ({ kind: FrameKind.Message, payload })));
  for (let i = 0; i < 50; i++) for (const s of streams) s.push(garbage);
  await new Promise((r) => setImmediate(r));
  const warned = lines.filter((l) => l.msg === "dropping an undecodable raft message");
  assert.equal(received, 0);
  assert.equal(warned.length, 2, JSON.stringify(warned.slice(0, 3)));
  assert.deepEqual(warned.map((l) => l["remote-peer-id"]).sort(), ["3", "4"]);
});
