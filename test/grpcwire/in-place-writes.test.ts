/**
 * Messages written in place (ServerCall.writeMessage -> H2Stream.writePayload -> the connection's write buffer,
 * server/grpcwire/h2/frame-writer.ts): bytes handed to a socket are never written again while the socket may still
 * hold them, on an in-memory wire that keeps every write as given and on a TCP socket whose client stops reading; and
 * a message never overtakes DATA already waiting in its stream.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { CLIENT_PREFACE, FrameSplitter, FrameType, Setting, settingsFrame, windowUpdateFrame } from "../../server/grpcwire/h2/frames.js";
import { H2Stream, type Payload, type StreamHost } from "../../server/grpcwire/h2/stream.js";
import { frameMessage } from "../../server/grpcwire/message-reader.js";
import { GRPC, START, dataFrame, headersFrame, inPlaceBody, messagesOf, open, responses, server, tick } from "../support/h2-wire.js";
import { listenGrpc } from "../support/grpcwire-listen.js";

const inPlace = (sid: number) => headersFrame(sid, GRPC.map(([n, v]) => [n, n === ":path" ? "/t.T/InPlace" : v] as [string, string]));
const ask = (sid: number, name: string, count: number, size: number) => dataFrame(sid, frameMessage(Buffer.from(`${name}:${count}:${size}`)), 0);
const expected = (name: string, count: number, size: number) => Array.from({ length: count }, (_, i) => inPlaceBody(name, i, size).toString());

describe("grpcwire: messages written in place", () => {
  test("an in-memory wire that keeps each write as given: every write still holds what was sent, after many events", async () => {
    const { wire } = await open(START);
    wire.push(inPlace(1));
    const want: string[] = [];
    for (let i = 0; i < 200; i++) {
      wire.push(ask(1, `e${i}`, 3, 40)); // each event's answers alone in its write: the case a reused buffer would overwrite
      want.push(...expected(`e${i}`, 3, 40));
      await tick();
    }
    assert.deepEqual(messagesOf(responses(wire).get(1)!.data), want);
  });

  test("a TCP client that stops reading: what the socket still holds is not overwritten by later answers", async () => {
    const g = server();
    const l = await listenGrpc(g);
    const sock: Socket = connect(l.port, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", r));
    sock.pause(); // nothing read until every answer was written: the server's writes back up in the socket
    const max = 2 ** 31 - 1;
    sock.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, max]]), windowUpdateFrame(0, max - 65535), inPlace(1)]));
    const events = 250;
    const want: string[] = [];
    for (let i = 0; i < events; i++) {
      sock.write(ask(1, `t${i}`, 20, 1000)); // ~20 KB per answer, ~5 MB in all: more than loopback buffers take
      want.push(...expected(`t${i}`, 20, 1000));
      await new Promise((r) => setTimeout(r, 1));
    }
    const got: Buffer[] = [];
    sock.on("data", (b: Buffer) => got.push(b));
    sock.resume();
    const wantBytes = want.reduce((n, m) => n + 5 + m.length, 0);
    const deadline = Date.now() + 20_000;
    const data = () => Buffer.concat(new FrameSplitter(1 << 24).push(Buffer.concat(got)).filter((f) => f.type === FrameType.DATA && f.streamId === 1).map((f) => f.payload));
    while (data().length < wantBytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    await l.close();
    const msgs = messagesOf(data());
    assert.equal(msgs.length, want.length);
    for (let i = 0; i < want.length; i++) assert.equal(msgs[i], want[i], `message ${i}`);
  });

  test("a payload never overtakes DATA waiting in its stream's outbox (it waits behind it, not written in place)", () => {
    const sent: string[] = [];
    const host: StreamHost = {
      sendInPlace: (_s, p) => {
        const b = Buffer.alloc(p.length);
        p.writeTo(b, 0);
        sent.push(b.toString());
        return true;
      },
      pump: () => undefined, // the windows are shut: what is written stays in the outbox
      sendHeaders: () => undefined,
      sendReset: () => undefined,
      credit: () => undefined,
      forget: () => undefined,
    };
    const s = new H2Stream(1, host, 65535, false);
    const payload = (t: string): Payload => ({ length: t.length, writeTo: (buf, at) => void buf.write(t, at) });
    assert.equal(s.writePayload(payload("first")), true);
    assert.equal(s.write(Buffer.from("waits")), false);
    assert.equal(s.writePayload(payload("after")), false);
    assert.deepEqual(sent, ["first"]);
    assert.deepEqual(s.outbox.map((b) => b.toString()), ["waits", "after"]);
  });
});
