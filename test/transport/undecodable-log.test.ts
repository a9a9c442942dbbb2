/** A peer sending undecodable raft messages gets one warning per interval, not one per message. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as grpc from "@grpc/grpc-js";
import pino from "pino";
import { peerService, type PeerReceiver } from "../../server/transport/peer-service.js";
import { identityMetadata } from "../../server/transport/handshake.js";

test("undecodable peer messages: one warning per peer, however many arrive", () => {
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
  const svc = peerService(receiver, logger);
  const streams = [3n, 4n].map((from) => {
    const call = Object.assign(new EventEmitter(), { metadata: identityMetadata({ clusterId: 1n, from, to: 2n }), sendMetadata: () => undefined });
    (svc.Stream as (c: unknown, cb: grpc.sendUnaryData<object>) => void)(call, () => undefined);
    return call;
  });
  for (let i = 0; i < 50; i++) for (const s of streams) s.emit("data", { messages: [Buffer.from("garbage"), Buffer.from([0xff])] });
  const warned = lines.filter((l) => l.msg === "dropping an undecodable raft message");
  assert.equal(received, 0);
  assert.equal(warned.length, 2, JSON.stringify(warned.slice(0, 3)));
  assert.deepEqual(warned.map((l) => l["remote-peer-id"]).sort(), ["3", "4"]);
});
