/**
 * Raft streams end to end on 127.0.0.1: a PeerSender dialling a RaftStreamReceiver through the
 * dialer's HTTP upgrade. Messages arrive in order; refusals carry etcd's HTTP statuses (412 another
 * cluster, 410 removed); a member removed while its stream is open is told so on the stream; a peer
 * that answers no ping is taken for gone and dialled again; one that pings without reading is cut off.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import pino from "pino";
import { PeerDialer } from "../../server/tls/peer-dialer.js";
import { encodeFrames, FrameKind } from "../../server/transport/frames.js";
import { identityHeaders, type PeerIdentity } from "../../server/transport/handshake.js";
import { PeerSender, type SenderHooks } from "../../server/transport/peer-sender.js";
import type { PeerReceiver } from "../../server/transport/peer-service.js";
import { RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, RaftStreamReceiver } from "../../server/transport/raft-stream-receiver.js";
import { MessageType, type Message } from "../../server/raft/types.js";

const CLUSTER = 0x1000n;
const LOCAL = 2n;
const PEER = 3n;
const silent = pino({ level: "silent" });

function msg(index: number, from = PEER, to = LOCAL): Message {
  return { type: MessageType.App, from, to, term: 1, logTerm: 1, index, commit: index, rejectHint: 0, reject: false, context: new Uint8Array(), entries: [], snapshot: undefined, commitOnly: false };
}

/** A member's receiving side with a membership the test changes. */
function receiverOf(): PeerReceiver & { got: Message[]; removed: Set<bigint>; remove(id: bigint): void } {
  const removed = new Set<bigint>();
  const listeners: ((id: bigint) => void)[] = [];
  const got: Message[] = [];
  return {
    got,
    removed,
    remove(id) {
      removed.add(id);
      for (const l of listeners) l(id);
    },
    localIdentity: () => ({ clusterId: CLUSTER, memberId: LOCAL, removed }),
    isMember: (id) => !removed.has(id),
    receive: (m) => void got.push(m),
    receiveSnapshot: async () => undefined,
    snapshotDir: () => "/nonexistent",
    onMemberRemoved: (l) => void listeners.push(l),
  };
}

const servers: { server: Server; upgraded: Set<Duplex> }[] = [];
const senders: PeerSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) s.close();
  for (const { server, upgraded } of servers.splice(0)) {
    // upgraded connections are the server's no more, but its close waits for them
    for (const u of upgraded) u.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

/** An HTTP server on 127.0.0.1 whose upgrades go to `onUpgrade`; resolves with its peer URL. */
async function listen(onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<string> {
  const upgraded = new Set<Duplex>();
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on("upgrade", (req, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    onUpgrade(req, socket, head);
  });
  servers.push({ server, upgraded });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address() as { port: number };
  return `http://127.0.0.1:${a.port}`;
}

function hooksOf(): SenderHooks & { unreachable: number; removed: number } {
  const h = {
    unreachable: 0,
    removed: 0,
    reportUnreachable: () => void h.unreachable++,
    onRemoved: () => void h.removed++,
  };
  return h;
}

function senderTo(url: string, hooks: SenderHooks, identity: PeerIdentity = { clusterId: CLUSTER, from: PEER, to: LOCAL }, timings?: { keepaliveMs: number; keepaliveTimeoutMs: number }, onDial?: () => void): PeerSender {
  const dialer = new PeerDialer(undefined);
  const s = new PeerSender(
    (id) => {
      onDial?.();
      return dialer.upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, identityHeaders(id), 5_000);
    },
    identity,
    hooks,
    silent,
    timings,
  );
  senders.push(s);
  return s;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("messages queued before and after the stream is up arrive once each, in order", async () => {
  const r = receiverOf();
  const rx = new RaftStreamReceiver(r, silent, 1 << 20);
  const url = await listen((req, socket, head) => rx.accept(req, socket, head));
  const s = senderTo(url, hooksOf());
  for (let i = 1; i <= 50; i++) s.enqueue(msg(i));
  s.flush(); // the stream is still being dialled: they wait for it
  await until("the stream to be up", () => s.connectedSince > 0);
  for (let i = 51; i <= 2000; i++) {
    s.enqueue(msg(i));
    if (i % 7 === 0) s.flush();
  }
  s.flush();
  await until("2000 messages", () => r.got.length >= 2000);
  assert.deepEqual(r.got.map((m) => m.index), Array.from({ length: 2000 }, (_, i) => i + 1));
});

test("a sender of another cluster is refused with 412 and retries; a removed one gets 410 and is told", async () => {
  const r = receiverOf();
  const rx = new RaftStreamReceiver(r, silent, 1 << 20);
  const url = await listen((req, socket, head) => rx.accept(req, socket, head));
  const answers: number[] = [];
  const dialer = new PeerDialer(undefined);
  for (const id of [{ clusterId: CLUSTER + 1n, from: PEER, to: LOCAL }, { clusterId: CLUSTER, from: PEER, to: LOCAL + 9n }]) {
    const u = await dialer.upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, identityHeaders(id), 5_000);
    assert.equal(u.ok, false);
    if (!u.ok) answers.push(u.status);
  }
  const noIdentity = await dialer.upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, {}, 5_000);
  assert.deepEqual([...answers, noIdentity.ok ? 101 : noIdentity.status], [412, 412, 400]);

  const other = hooksOf();
  let dials = 0;
  senderTo(url, other, { clusterId: CLUSTER + 1n, from: PEER, to: LOCAL }, undefined, () => dials++);
  await until("a retry", () => dials >= 2 && other.unreachable >= 2);
  assert.equal(other.removed, 0);

  r.removed.add(PEER);
  const gone = hooksOf();
  senderTo(url, gone);
  await until("the removal", () => gone.removed === 1);
});

test("a member removed while its stream is open is told on the stream, and stops", async () => {
  const r = receiverOf();
  const rx = new RaftStreamReceiver(r, silent, 1 << 20);
  const url = await listen((req, socket, head) => rx.accept(req, socket, head));
  const h = hooksOf();
  const s = senderTo(url, h);
  await until("the stream to be up", () => s.connectedSince > 0);
  r.remove(PEER);
  await until("the removal notice", () => h.removed === 1);
  assert.equal(s.enqueue(msg(1)), false, "a removed member's sender takes no more messages");
});

test("a peer that answers no keepalive ping is taken for gone: raft hears of it and the stream is dialled again", async () => {
  let accepted = 0;
  // accepts the upgrade, then reads and never answers (a paused process, a black-holed link)
  const url = await listen((_req, socket) => {
    accepted++;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${RAFT_STREAM_PROTOCOL}\r\n\r\n`);
    socket.resume();
  });
  const h = hooksOf();
  const s = senderTo(url, h, undefined, { keepaliveMs: 50, keepaliveTimeoutMs: 100 });
  await until("a second connection", () => accepted >= 2);
  assert.ok(h.unreachable >= 1, "raft was told the peer is unreachable");
  await until("the stream to be up again", () => s.connectedSince > 0);
});

test("the receiver answers pings, so a live stream outlasts many keepalive rounds", async () => {
  const r = receiverOf();
  const rx = new RaftStreamReceiver(r, silent, 1 << 20);
  let accepted = 0;
  const url = await listen((req, socket, head) => {
    accepted++;
    rx.accept(req, socket, head);
  });
  const h = hooksOf();
  const s = senderTo(url, h, undefined, { keepaliveMs: 20, keepaliveTimeoutMs: 200 });
  await until("the stream to be up", () => s.connectedSince > 0);
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(accepted, 1);
  assert.equal(h.unreachable, 0);
});

test("a sender that pings without reading the answers is cut off, not buffered for", async () => {
  const r = receiverOf();
  const rx = new RaftStreamReceiver(r, silent, 1 << 20);
  const url = await listen((req, socket, head) => rx.accept(req, socket, head));
  const u = await new PeerDialer(undefined).upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, identityHeaders({ clusterId: CLUSTER, from: PEER, to: LOCAL }), 5_000);
  assert.ok(u.ok);
  const socket = u.socket;
  socket.pause(); // never read a pong
  let closed = false;
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  // 5-byte pongs: far more than the kernel's socket buffers hold must pile up before the member notices
  const pings = encodeFrames(Array.from({ length: 100_000 }, () => ({ kind: FrameKind.Ping, payload: new Uint8Array() })));
  for (let i = 0; i < 40 && !closed; i++) {
    if (!socket.write(pings)) await new Promise((res) => (socket.once("drain", res), socket.once("close", res)));
  }
  await until("the member to close the stream", () => closed, 20_000);
});

test("a peer refusing the upgrade with an endless body is not buffered: the dial fails", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(400);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const more = (): void => {
      while (sent < 4096 && res.write(chunk)) sent++;
      if (sent < 4096) res.once("drain", more);
      else res.end();
    };
    more();
  });
  servers.push({ server, upgraded: new Set() });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await assert.rejects(new PeerDialer(undefined).upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, {}, 5_000), /body over 65536 bytes/);
});
