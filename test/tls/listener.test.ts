/**
 * The client port's listener under TLS (server/tls/tls-acceptor.ts in front of embed/sniffing-listener.ts): gRPC
 * over ALPN h2 and HTTP/1.1 on one TLS port, the caller's CN reaching both, and the listener's hardening (handshake
 * deadline, connection limit, keepalive enforcement) working on TLS connections as on plaintext ones.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import * as http2 from "node:http2";
import { request } from "node:https";
import { readFileSync, rmSync } from "node:fs";
import { caPaths, clientPaths } from "../../pki/layout.js";
import { startFixture, TestClient, type Fixture } from "../embed/listener-fixture.js";
import { closedWithin, closesWithin, pingFrame, RawH2, tcpConnect, tlsConnect } from "../support/raw-h2.js";
import { acceptor, captureLogs, clientTls, testPki } from "./tls-fixture.js";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { issueCertificate, issueCrl } from "../../server/tls/x509-issue.js";

const BOUND = 8_000;
const ENHANCE_YOUR_CALM = 0xb;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pki: string;
before(async () => {
  pki = await testPki();
});
after(() => rmSync(pki, { recursive: true, force: true }));

function grpcClient(port: number, user = "root") {
  const c = clientPaths(pki, user);
  const creds = grpc.credentials.createSsl(readFileSync(caPaths(pki).cert), readFileSync(c.key), readFileSync(c.cert));
  return new TestClient(`127.0.0.1:${port}`, creds) as unknown as grpc.Client & { who(b: Buffer, cb: (e: Error | null, v?: Buffer) => void): void };
}

function who(c: ReturnType<typeof grpcClient>): Promise<string> {
  return new Promise((resolve, reject) => c.who(Buffer.alloc(0), (e, v) => (e ? reject(e) : resolve(v!.toString()))));
}

function httpsGet(port: number, path: string, user: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, ...clientTls(pki, user) }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A gRPC call's frames on an http2 session, answer body decoded from the length-prefixed message. */
function grpcWho(s: http2.ClientHttp2Session, authority?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ":method": "POST", ":path": "/test.T/Who", "content-type": "application/grpc", te: "trailers", ...(authority ? { ":authority": authority } : {}) });
    const chunks: Buffer[] = [];
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => resolve(Buffer.concat(chunks).subarray(5).toString()));
    req.on("error", reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

describe("one TLS port: gRPC and HTTP/1.1", () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ tls: acceptor(pki) });
  });
  after(() => fx.close());

  test("gRPC over TLS and the JSON side over HTTPS, each seeing the client certificate's CN", async () => {
    const c = grpcClient(fx.port);
    try {
      assert.equal(await who(c), "root");
    } finally {
      c.close();
    }
    assert.equal(await httpsGet(fx.port, "/who", "alice"), "alice");
    assert.equal(await httpsGet(fx.port, "/", "root"), "ok");
  });

  test("ALPN: a client offering http/1.1 gets it (curl, HTTP libraries); one offering only h2 gets h2 (gRPC)", async () => {
    for (const [offer, want] of [
      [["h2", "http/1.1"], "http/1.1"],
      [["h2"], "h2"],
      [["http/1.1"], "http/1.1"],
    ] as const) {
      const s = await tlsConnect(fx.port, clientTls(pki, "root", { ALPNProtocols: [...offer] }));
      assert.equal(s.alpnProtocol, want, offer.join(","));
      s.destroy();
    }
  });

  test("the CN reaches a gRPC call whose :authority sends it through the rewriting path (etcdctl 3.4's endpoint status)", async () => {
    const s = http2.connect(`https://127.0.0.1:${fx.port}`, clientTls(pki, "alice"));
    s.on("error", () => undefined);
    try {
      assert.equal(await grpcWho(s, `https://127.0.0.1:${fx.port}`), "alice");
      assert.equal(await grpcWho(s), "alice");
    } finally {
      s.destroy();
    }
  });
});

describe("the listener's limits hold under TLS", () => {
  test("the handshake deadline covers the TLS handshake and the protocol's first bytes after it", async () => {
    const fx = await startFixture({ tls: acceptor(pki), timeouts: { handshakeMs: 300 } });
    try {
      const silent = await tcpConnect(fx.port); // no ClientHello
      await closedWithin(silent, BOUND);
      const quiet = await tlsConnect(fx.port, clientTls(pki)); // TLS done, no HTTP/2 preface nor request
      await closedWithin(quiet, BOUND);
    } finally {
      await fx.close();
    }
  });

  test("at the connection limit an idle TLS connection makes room for a new client", async () => {
    const fx = await startFixture({ tls: acceptor(pki), connectionLimit: 2 });
    try {
      const a = await RawH2.open(fx.port, { tls: clientTls(pki) });
      const b = await RawH2.open(fx.port, { tls: clientTls(pki) });
      await sleep(200);
      assert.equal(await httpsGet(fx.port, "/", "root"), "ok");
      const closed = [await closesWithin(a.socket, 2_000), await closesWithin(b.socket, 100)];
      assert.ok(closed.includes(true), "no idle TLS connection was closed to admit the new one");
      assert.ok(fx.listener.connections <= 2);
      a.close();
      b.close();
    } finally {
      await fx.close();
    }
  });

  test("keepalive enforcement: pings with no stream open get GOAWAY too_many_pings on a TLS connection", async () => {
    const fx = await startFixture({ tls: acceptor(pki), keepalive: { minTimeMs: 5_000, permitWithoutStream: false } });
    try {
      const c = await RawH2.open(fx.port, { tls: clientTls(pki) });
      for (let i = 0; i < 10 && !c.socket.destroyed; i++) {
        c.write(pingFrame(i));
        await sleep(30);
      }
      await closedWithin(c.socket, BOUND);
      assert.deepEqual(c.goaway, { code: ENHANCE_YOUR_CALM, debug: "too_many_pings" });
    } finally {
      await fx.close();
    }
  });

  test("keepalive enforcement: pings right after the server's responses never count on a TLS connection", async () => {
    const fx = await startFixture({ tls: acceptor(pki), keepalive: { minTimeMs: 5_000, permitWithoutStream: false } });
    try {
      const s = http2.connect(`https://127.0.0.1:${fx.port}`, clientTls(pki));
      s.on("error", () => undefined);
      let away = false;
      s.on("goaway", () => (away = true));
      for (let i = 0; i < 20; i++) {
        await grpcWho(s);
        await new Promise((r) => s.ping(r));
      }
      assert.equal(away, false);
      assert.equal(s.destroyed, false);
      s.destroy();
    } finally {
      await fx.close();
    }
  });
});

describe("refused client certificates: closed, with etcd's log line", () => {
  async function refusedWith(policy: Parameters<typeof acceptor>[1], opts: ReturnType<typeof clientTls>): Promise<Record<string, unknown>> {
    const logs = captureLogs();
    const fx = await startFixture({ tls: acceptor(pki, policy, logs.logger) });
    try {
      const s = await tlsConnect(fx.port, opts).catch(() => undefined);
      if (s) await closedWithin(s, BOUND);
      for (let i = 0; i < 50 && !logs.lines.some((l) => l.msg === "rejected connection"); i++) await sleep(20);
      const line = logs.lines.find((l) => l.msg === "rejected connection");
      assert.ok(line, "no rejected connection line");
      assert.match(String(line["remote-addr"]), /^127\.0\.0\.1:\d+$/);
      return line;
    } finally {
      await fx.close();
    }
  }

  test("a revoked certificate (--client-crl-file)", async () => {
    const serial = new X509Certificate(readFileSync(clientPaths(pki, "alice").cert)).serialNumber.toLowerCase().replace(/^0+/, "");
    const ca = { certPem: readFileSync(caPaths(pki).cert, "utf8"), keyPem: readFileSync(caPaths(pki).key, "utf8") };
    const crl = join(pki, "revoked.crl");
    writeFileSync(crl, await issueCrl(ca, [serial]));
    const line = await refusedWith({ crlFile: crl }, clientTls(pki, "alice"));
    assert.equal(line.error, `transport: certificate serial ${serial.length % 2 ? "0" + serial : serial} revoked`);
    assert.deepEqual(line["ip-addresses"], []);
    // root, not revoked, still gets in
    const fx = await startFixture({ tls: acceptor(pki, { crlFile: crl }) });
    try {
      assert.equal(await httpsGet(fx.port, "/who", "root"), "root");
    } finally {
      await fx.close();
    }
  });

  test("a certificate another CA signed, and none at all", async () => {
    const stranger = await testPki();
    try {
      const line = await refusedWith({}, { ...clientTls(pki, null), cert: readFileSync(clientPaths(stranger, "root").cert), key: readFileSync(clientPaths(stranger, "root").key) });
      assert.equal(line.error, "tls: failed to verify client certificate: x509: certificate signed by unknown authority");
    } finally {
      rmSync(stranger, { recursive: true, force: true });
    }
    const none = await refusedWith({}, clientTls(pki, null));
    assert.equal(none.error, "tls: client didn't provide a certificate");
  });

  test("a CN other than the allowed one; SANs that do not match the address (peer listener's check)", async () => {
    assert.equal((await refusedWith({ allowedCn: "root" }, clientTls(pki, "alice"))).error, "client certificate authentication failed");
    const ca = { certPem: readFileSync(caPaths(pki).cert, "utf8"), keyPem: readFileSync(caPaths(pki).key, "utf8") };
    const far = await issueCertificate({ commonName: "far", notBefore: new Date(), notAfter: new Date(Date.now() + 86400_000), isCa: false, serverAuth: true, clientAuth: true, hosts: ["10.9.9.9"], curve: "P-256" }, ca);
    const line = await refusedWith({ checkSan: true }, { ...clientTls(pki, null), cert: far.certPem, key: far.keyPem });
    assert.equal(line.error, "x509: certificate is valid for 10.9.9.9, not 127.0.0.1");
    assert.deepEqual(line["ip-addresses"], ["10.9.9.9"]);
    assert.deepEqual(line["dns-names"], []);
  });
});

describe("http and https on one address", () => {
  test("a TLS record first means TLS; anything else is served in plaintext, without an identity", async () => {
    const fx = await startFixture({ tls: acceptor(pki), plaintext: true });
    try {
      assert.equal(await httpsGet(fx.port, "/who", "alice"), "alice");
      const plain = await fetch(`http://127.0.0.1:${fx.port}/who`);
      assert.equal(await plain.text(), "-");
      const c = new TestClient(`127.0.0.1:${fx.port}`, grpc.credentials.createInsecure()) as unknown as ReturnType<typeof grpcClient>;
      try {
        assert.equal(await who(c), "-");
      } finally {
        c.close();
      }
    } finally {
      await fx.close();
    }
  });
});
