/**
 * Certificates are read again for every new connection (as etcd's TLSInfo does): replacing a member's certificate
 * and key on disk while it runs changes what the next connection sees, with no restart, on the client port and on
 * the peer port; connections opened before keep working.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectionOptions } from "node:tls";
import { caPaths, clientPaths, peerPaths, serverPaths, type LeafPaths } from "../../pki/layout.js";
import { issueCertificate } from "../../server/tls/x509-issue.js";
import { etcdctl } from "../support/etcdctl.js";
import { TlsCluster } from "../support/tls-cluster.js";

let dir: string;
let c: TlsCluster;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-rotate-"));
  c = await TlsCluster.start({ flavor: "etcd-ts", size: 1, dir, pki: join(dir, "pki") });
});
after(async () => {
  await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

function clientOptions(): ConnectionOptions {
  const root = clientPaths(c.opts.pki, "root");
  return { ca: readFileSync(caPaths(c.opts.pki).cert), cert: readFileSync(root.cert), key: readFileSync(root.key), ALPNProtocols: ["http/1.1"] };
}

/** The serial of the certificate a new TLS connection to `url` is served. */
function servedSerial(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ...clientOptions() }, () => {
      const serial = s.getPeerX509Certificate()!.serialNumber.toLowerCase().replace(/^0+/, "");
      s.destroy();
      resolve(serial);
    });
    s.on("error", reject);
  });
}

/** A new certificate for m1 from the same CA, written as a rotation tool would: new files renamed into place. */
async function rotate(p: LeafPaths): Promise<string> {
  const ca = { certPem: readFileSync(caPaths(c.opts.pki).cert, "utf8"), keyPem: readFileSync(caPaths(c.opts.pki).key, "utf8") };
  const issued = await issueCertificate(
    { commonName: "m1", notBefore: new Date(), notAfter: new Date(Date.now() + 86400_000), isCa: false, serverAuth: true, clientAuth: true, hosts: ["m1", "127.0.0.1", "localhost"], curve: "P-256" },
    ca,
  );
  writeFileSync(`${p.key}.new`, issued.keyPem, { mode: 0o600 });
  writeFileSync(`${p.cert}.new`, issued.certPem);
  renameSync(`${p.key}.new`, p.key);
  renameSync(`${p.cert}.new`, p.cert);
  return issued.serial;
}

test("a rotated client-port certificate is served to the next connection, with no restart; an open connection keeps working", async () => {
  const m = c.member("m1");
  const pid = m.child!.pid;
  const before = await servedSerial(m.clientUrl);
  const open = http2.connect(m.clientUrl, { ...clientOptions(), ALPNProtocols: ["h2"] });
  open.on("error", () => undefined);
  await new Promise((r) => open.once("connect", r));
  const fresh = await rotate(serverPaths(c.opts.pki, "m1"));
  assert.notEqual(fresh, before);
  assert.equal(await servedSerial(m.clientUrl), fresh);
  assert.equal(m.child!.pid, pid);
  assert.equal(c.running("m1"), true);
  // the connection opened before the rotation is still served
  const status = await new Promise<number>((resolve, reject) => {
    const req = open.request({ ":method": "POST", ":path": "/etcdserverpb.Maintenance/Status", "content-type": "application/grpc", te: "trailers" });
    req.on("response", (h) => resolve(Number(h[":status"])));
    req.on("error", reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
  assert.equal(status, 200);
  open.close();
  const put = await etcdctl(c.endpoints, [...c.ctlFlags(), "put", "after", "rotation"]);
  assert.equal(put.code, 0, put.stderr);
});

test("a rotated peer certificate is served by the peer port to the next connection", async () => {
  const m = c.member("m1");
  const before = await servedSerial(m.peerUrl);
  const fresh = await rotate(peerPaths(c.opts.pki, "m1"));
  assert.notEqual(fresh, before);
  assert.equal(await servedSerial(m.peerUrl), fresh);
  assert.equal(c.running("m1"), true);
});
