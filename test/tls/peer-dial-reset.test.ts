/**
 * A peer connection reset before its TLS handshake starts fails that dial and nothing else.
 *
 * grpc-js connects the TCP socket, takes its own 'error' listener off, and hands the socket to the member's
 * channel credentials (server/tls/peer-dialer.ts), which read the peer certificate from disk before starting
 * the handshake. A reset arriving in that gap (a peer restarting, or a proxy in between, such as the hosts
 * lab's link shaper, accepting and then failing onward) was an unhandled 'error' event: the member exited
 * with "read ECONNRESET", its own restart reset its peers' connections the same way, and a 3-member TLS
 * cluster on namespace hosts could stay in that loop for minutes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { rmSync } from "node:fs";
import { caPaths, peerPaths } from "../../pki/layout.js";
import { PeerDialer } from "../../server/tls/peer-dialer.js";
import { ReloadingContext } from "../../server/tls/reloading-context.js";
import { testPki } from "./tls-fixture.js";

type Connector = { connect(socket: Socket): Promise<{ socket: Socket }> };

const ROUNDS = 20;

test("a reset between TCP connect and the TLS handshake rejects the dial; no uncaught 'error' event", async () => {
  const pki = await testPki();
  const uncaught: Error[] = [];
  const onUncaught = (e: Error) => void uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  // A listener that accepts and resets at once: what the peer sees from a proxy whose onward connection failed.
  // The reset is sent a little later each round (0-4 ms) so that some land while the certificate is being read.
  let round = 0;
  const server = createServer((s) => {
    const delay = round++ % 5;
    setTimeout(() => s.resetAndDestroy(), delay);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const files = peerPaths(pki, "server");
    const context = new ReloadingContext({ certFile: files.cert, keyFile: files.key, trustedCaFile: caPaths(pki).cert }, undefined, "peer");
    const creds = new PeerDialer({ context, skipVerify: false, policy: { allowedCn: "", allowedHostname: "" } }).credentials(`https://127.0.0.1:${port}`);
    const connector = (creds as unknown as { _createSecureConnector(t: { path: string }): Connector })._createSecureConnector({ path: `127.0.0.1:${port}` });
    const outcomes: string[] = [];
    for (let attempt = 0; outcomes.length < ROUNDS && attempt < 20 * ROUNDS; attempt++) {
      // As grpc-js's tcpConnect: connected, its listeners removed, then the socket goes to the secure connector.
      // (A reset that beats the connect itself fails tcpConnect, where grpc-js handles it: that round is retried.)
      const raw = await new Promise<Socket | undefined>((resolve) => {
        const s = netConnect(port, "127.0.0.1", () => {
          s.off("error", failed);
          resolve(s);
        });
        const failed = () => resolve(undefined);
        s.once("error", failed);
      });
      if (!raw) continue;
      const dial = connector.connect(raw);
      // Every other round the reset is made certain to land in the gap: the socket fails as libuv reports a reset.
      if (outcomes.length % 2 === 1) raw.destroy(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" }));
      const settled = await Promise.race([
        dial.then(
          (r) => {
            r.socket.destroy();
            return "connected";
          },
          (e: Error & { code?: string }) => `rejected ${e.code ?? e.message}`,
        ),
        new Promise<string>((r) => setTimeout(() => r("unsettled after 5 s"), 5000).unref()),
      ]);
      raw.destroy();
      outcomes.push(settled);
      // the reset must be seen by a listener, not by the process
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(uncaught.map((e) => (e as Error & { code?: string }).code ?? e.message), [], "an 'error' event reached the process");
    assert.equal(outcomes.length, ROUNDS, "enough dials reached the secure connector");
    for (const o of outcomes) assert.match(o, /^rejected /, `every dial to a resetting peer fails: ${outcomes.join(", ")}`);
  } finally {
    process.off("uncaughtException", onUncaught);
    await new Promise((r) => server.close(r));
    rmSync(pki, { recursive: true, force: true });
  }
});
