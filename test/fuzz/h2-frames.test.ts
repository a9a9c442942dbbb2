/**
 * The server's HTTP/2 (server/grpcwire/h2) under any frames: random frames mixed with valid requests, cut at
 * any point, never throw out of the connection; what it writes is well-framed; and afterwards it either still
 * answers a new request or has said GOAWAY.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameType, frame, windowUpdateFrame } from "../../server/grpcwire/h2/frames.js";
import { START, Wire, dataFrame, goawayOf, headersFrame, request, responses, server, tick } from "../support/h2-wire.js";
import { fuzzParams } from "./settings.js";

describe("grpcwire h2: fuzzed frames", () => {
  const frameArb = fc
    .tuple(
      fc.integer({ min: 0, max: 11 }),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0, 1, 2, 3, 5, 7, 99),
      fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array(0))),
    )
    .map(([type, flags, sid, payload]) => frame(type, flags, sid, Buffer.from(payload)));
  const validArb = fc.constantFrom(request(1), request(3), headersFrame(5), dataFrame(5, Buffer.from([0, 0, 0, 0, 1, 7])), windowUpdateFrame(0, 1000), frame(FrameType.PING, 0, 0, Buffer.alloc(8)));

  test("any frames after the handshake, at any cut: no exception, and the connection answers or has said GOAWAY", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(frameArb, validArb), { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), async (frames, cut) => {
        const bytes = Buffer.concat([START, ...frames]);
        const wire = new Wire();
        const c = server().attach(wire);
        for (let i = 0; i < bytes.length; i += cut) wire.push(bytes.subarray(i, i + cut));
        await tick();
        await tick();
        const out = wire.frames(); // what the server wrote is well-framed
        if (goawayOf(wire) === undefined && !c.destroyed) {
          // still serving: a fresh stream id past anything used is answered
          wire.push(request(101));
          await tick();
          assert.ok(responses(wire).get(101)?.ended || goawayOf(wire) !== undefined, `stream 101 answered after ${out.length} frames`);
        }
        c.destroy();
      }),
      fuzzParams(),
    );
  });
});
