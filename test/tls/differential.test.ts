/**
 * etcd 3.4.23 and etcd-ts with the same certificates (one `etcdkit pki` directory), side by side:
 * - etcdctl --cacert --cert --key: put, get, watch, member list, endpoint status over https: same answers;
 * - a client without a certificate, and one whose certificate another CA signed: refused the same way;
 * - curl: /health and the JSON gateway over https; refused without a certificate;
 * - a member whose certificate CN is not --peer-cert-allowed-cn cannot join; the refusing member logs etcd's
 *   "rejected connection" line (same fields, same error) and the cluster keeps serving.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { caPaths, clientPaths, peerPaths } from "../../pki/layout.js";
import { ensurePki } from "../../pki/pki.js";
import { issueCertificate } from "../../server/tls/x509-issue.js";
import { etcdctl, type CtlResult } from "../support/etcdctl.js";
import type { Flavor } from "../support/launcher.js";
import { httpsGet, TlsCluster } from "../support/tls-cluster.js";
import { freePort } from "../support/ports.js";

const FLAVORS: readonly Flavor[] = ["etcd", "etcd-ts"];
let dir: string;
let pki: string;
const single = new Map<Flavor, TlsCluster>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tls-diff-"));
  pki = join(dir, "pki");
  for (const flavor of FLAVORS) single.set(flavor, await TlsCluster.start({ flavor, size: 1, dir: join(dir, flavor), pki }));
});
after(async () => {
  for (const c of single.values()) await c.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ctl = (flavor: Flavor, args: string[], user: string | null = "root"): Promise<CtlResult> => {
  const c = single.get(flavor)!;
  const tls = user ? c.ctlFlags(user) : [`--cacert=${caPaths(pki).cert}`];
  return etcdctl(c.endpoints, [...tls, ...args]);
};

/** What may differ between two servers: IDs, ports, versions, sizes, timings. */
function scrub(s: string): string {
  // the header's numbers first: a decimal member ID of 14-16 digits would otherwise be taken for a hex ID
  return s
    .replace(/"(cluster_id|member_id|raft_term|revision)":\s*"?\d+"?/g, '"$1":"<n>"')
    .replace(/\b[0-9a-f]{14,16}\b/g, "<id>")
    .replace(/127\.0\.0\.1:\d+/g, "127.0.0.1:<port>")
    .replace(/took\s*\S+/g, "took");
}

/** etcdctl watch until it printed `lines` lines (or 10 s), then stopped. */
function watch(flavor: Flavor, key: string, lines: number): Promise<string> {
  const c = single.get(flavor)!;
  return new Promise((resolve) => {
    const child = spawn("etcdctl", [`--endpoints=${c.endpoints.join(",")}`, ...c.ctlFlags(), "watch", "--rev=1", key], { env: { ...process.env, ETCDCTL_API: "3" } });
    let out = "";
    const done = () => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(out);
    };
    const timer = setTimeout(done, 10_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.split("\n").filter(Boolean).length >= lines) done();
    });
  });
}

function curl(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn("curl", ["-sS", "--max-time", "10", ...args]);
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", () => undefined);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout }));
  });
}

describe("etcdctl over https, same certificates", () => {
  test("put, get, watch, member list, endpoint status: the same answers", async () => {
    const out = new Map<Flavor, string[]>();
    for (const flavor of FLAVORS) {
      const r: string[] = [];
      for (const args of [["put", "k1", "v1"], ["put", "k2", "v2"], ["get", "k", "--prefix"], ["get", "k1", "-w", "json"], ["del", "k2"]]) {
        const x = await ctl(flavor, args);
        r.push(`${x.code} ${scrub(x.stdout)}`);
      }
      r.push(scrub(await watch(flavor, "k1", 3)));
      const members = await ctl(flavor, ["member", "list"]);
      assert.equal(members.code, 0, members.stderr);
      r.push(scrub(members.stdout).replace(/, 3\.4\.\d+/g, ""));
      const status = await ctl(flavor, ["endpoint", "status", "-w", "json"]);
      assert.equal(status.code, 0, status.stderr);
      const st = JSON.parse(status.stdout.replace(/:\s*(\d{16,})/g, ':"$1"')) as Array<{ Endpoint: string; Status: { leader: string; header: { member_id: string } } }>;
      r.push(`${st.length} ${st[0]!.Endpoint.replace(/\d+$/, "<port>")} leader=${st[0]!.Status.leader === st[0]!.Status.header.member_id}`);
      out.set(flavor, r);
    }
    assert.deepEqual(out.get("etcd-ts"), out.get("etcd"));
    assert.match(out.get("etcd")!.join("\n"), /https:\/\/127\.0\.0\.1:<port>/);
  });

  test("a client without a certificate, or with one another CA signed: refused the same way", async () => {
    const strangerDir = join(dir, "stranger");
    await ensurePki({ dir: strangerDir, members: [] });
    const stranger = [`--cacert=${caPaths(pki).cert}`, `--cert=${join(strangerDir, "clients", "root.crt")}`, `--key=${join(strangerDir, "clients", "root.key")}`];
    for (const [what, flags] of [
      ["no certificate", [`--cacert=${caPaths(pki).cert}`]],
      ["another CA's certificate", stranger],
    ] as const) {
      const seen = new Map<Flavor, string>();
      for (const flavor of FLAVORS) {
        const c = single.get(flavor)!;
        const r = await etcdctl(c.endpoints, [...flags, "--dial-timeout=2s", "--command-timeout=3s", "put", "x", "y"]);
        const last = r.stderr.trim().split("\n").pop() ?? "";
        seen.set(flavor, `${r.code} ${last}`);
        assert.notEqual(r.code, 0, `${flavor} accepted a client with ${what}`);
        assert.match(c.log("m1"), /"rejected connection"/, `${flavor} did not log the rejection`);
      }
      assert.equal(seen.get("etcd-ts"), seen.get("etcd"), what);
    }
  });
});

describe("curl over https", () => {
  test("/health and the JSON gateway answer alike; without a certificate neither answers", async () => {
    const seen = new Map<Flavor, unknown[]>();
    const root = clientPaths(pki, "root");
    const cert = () => ["--cacert", caPaths(pki).cert, "--cert", root.cert, "--key", root.key];
    for (const flavor of FLAVORS) {
      const url = single.get(flavor)!.endpoints[0]!;
      const health = await curl([...cert(), `${url}/health`]);
      await curl([...cert(), "-X", "POST", "-d", '{"key":"Z3c=","value":"MQ=="}', `${url}/v3/kv/put`]);
      const range = await curl([...cert(), "-X", "POST", "-d", '{"key":"Z3c="}', `${url}/v3/kv/range`]);
      const bare = await curl(["--cacert", caPaths(pki).cert, "-o", "/dev/null", "-w", "%{http_code}", `${url}/health`]);
      const plain = await curl(["-o", "/dev/null", "-w", "%{http_code}", `${url.replace("https:", "http:")}/health`]);
      seen.set(flavor, [
        health.code,
        (JSON.parse(health.stdout) as { health: string }).health,
        range.code,
        scrub(range.stdout),
        bare.code !== 0,
        bare.stdout,
        plain.code !== 0,
        plain.stdout,
      ]);
    }
    assert.deepEqual(seen.get("etcd-ts"), seen.get("etcd"));
    assert.deepEqual(seen.get("etcd")!.slice(0, 2), [0, "true"]);
  });
});

describe("--auto-tls", () => {
  test("both make <data-dir>/fixtures/client/{cert,key}.pem of the same shape and serve it; a re-start keeps it", async () => {
    const shapes = new Map<Flavor, unknown>();
    for (const flavor of FLAVORS) {
      const c = await TlsCluster.start({ flavor, size: 1, dir: join(dir, `auto-${flavor}`), pki, clientAutoTls: true });
      try {
        const m = c.member("m1");
        const fixtures = join(m.dataDir, "fixtures", "client");
        const cert = new X509Certificate(readFileSync(join(fixtures, "cert.pem")));
        const put = await etcdctl(c.endpoints, ["--insecure-transport=false", "--insecure-skip-tls-verify", "put", "auto", "tls"]);
        assert.equal(put.code, 0, `${flavor}: ${put.stderr}`);
        await c.kill("m1", "SIGTERM");
        await c.restart("m1");
        assert.equal(new X509Certificate(readFileSync(join(fixtures, "cert.pem"))).fingerprint256, cert.fingerprint256, `${flavor}: a restart made a new certificate`);
        const days = Math.round((new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / 86400_000);
        shapes.set(flavor, {
          subject: cert.subject,
          issuer: cert.issuer,
          curve: cert.publicKey.asymmetricKeyDetails?.namedCurve,
          days,
          san: cert.subjectAltName,
          eku: cert.keyUsage,
          ca: cert.ca,
          keyMode: statSync(join(fixtures, "key.pem")).mode & 0o777,
          dirMode: statSync(fixtures).mode & 0o777,
          keyPem: readFileSync(join(fixtures, "key.pem"), "utf8").split("\n")[0],
        });
      } finally {
        await c.stop();
      }
    }
    assert.deepEqual(shapes.get("etcd-ts"), shapes.get("etcd"));
  });
});

describe("--listen-metrics-urls over https", () => {
  test("/metrics and /health with a client certificate; the same answers", async () => {
    const seen = new Map<Flavor, unknown[]>();
    for (const flavor of FLAVORS) {
      const metricsUrl = `https://127.0.0.1:${await freePort()}`;
      const c = await TlsCluster.start({ flavor, size: 1, dir: join(dir, `metrics-${flavor}`), pki, extraFlags: () => [`--listen-metrics-urls=${metricsUrl}`] });
      try {
        const health = await httpsGet(`${metricsUrl}/health`, pki);
        const metrics = await httpsGet(`${metricsUrl}/metrics`, pki);
        const other = await httpsGet(`${metricsUrl}/v3/kv/range`, pki);
        const bare = await httpsGet(`${metricsUrl}/health`, pki, null).then(
          (r) => r.status,
          () => "refused",
        );
        seen.set(flavor, [health.status, (JSON.parse(health.body) as { health: string }).health, metrics.status, /^etcd_server_has_leader 1$/m.test(metrics.body), other.status, bare]);
      } finally {
        await c.stop();
      }
    }
    assert.deepEqual(seen.get("etcd-ts"), seen.get("etcd"));
    assert.deepEqual(seen.get("etcd"), [200, "true", 200, true, 404, "refused"]);
  });
});

describe("--peer-cert-allowed-cn", () => {
  test("a member whose certificate CN is not allowed cannot join; etcd's log line; the cluster keeps serving", async () => {
    const lines = new Map<Flavor, Record<string, unknown>>();
    for (const flavor of FLAVORS) {
      const base = join(dir, `cn-${flavor}`);
      const cnPki = join(base, "pki");
      mkdirSync(base, { recursive: true });
      await ensurePki({ dir: cnPki, members: ["m1", "m2", "m3"].map((name) => ({ name, hosts: [] })) });
      // peer certificates with one shared CN, except m3's
      const ca = { certPem: readText(caPaths(cnPki).cert), keyPem: readText(caPaths(cnPki).key) };
      for (const name of ["m1", "m2", "m3"]) {
        const issued = await issueCertificate(
          { commonName: name === "m3" ? "intruder" : "etcd-peer", notBefore: new Date(), notAfter: new Date(Date.now() + 86400_000), isCa: false, serverAuth: true, clientAuth: true, hosts: ["127.0.0.1", "localhost"], curve: "P-256" },
          ca,
        );
        writeFileSync(peerPaths(cnPki, name).cert, issued.certPem);
        writeFileSync(peerPaths(cnPki, name).key, issued.keyPem, { mode: 0o600 });
      }
      const c = await TlsCluster.start({ flavor, size: 3, dir: base, pki: cnPki, healthy: ["m1", "m2"], extraFlags: () => ["--peer-cert-allowed-cn=etcd-peer"] });
      try {
        const put = await etcdctl(c.member("m1").clientUrl, [...c.ctlFlags(), "put", "still", "serving"]);
        assert.equal(put.code, 0, `${flavor}: ${put.stderr}`);
        const line = c
          .log("m1")
          .split("\n")
          .filter((l) => l.includes('"rejected connection"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.error === "client certificate authentication failed");
        assert.ok(line, `${flavor}: no rejected connection line for the intruder:\n${c.log("m1").slice(-2000)}`);
        lines.set(flavor, line);
        assert.equal(c.running("m1") && c.running("m2"), true);
      } finally {
        await c.stop();
      }
    }
    const shape = (l: Record<string, unknown>) => ({
      level: l.level,
      msg: l.msg,
      error: l.error,
      "server-name": l["server-name"],
      "ip-addresses": l["ip-addresses"],
      "dns-names": l["dns-names"],
      remote: String(l["remote-addr"]).replace(/:\d+$/, ""),
    });
    assert.deepEqual(shape(lines.get("etcd-ts")!), shape(lines.get("etcd")!));
  });
});

function readText(p: string): string {
  return readFileSync(p, "utf8");
}
