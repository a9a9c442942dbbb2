/** The pure topology model: port schemes per target, addresses, validation, the unit renderer/parser. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../server/config/parse.js";
import { parseEnvFile, toEnv, toEnvFile } from "../../server/config/render.js";
import { checkStacks, parseUnit, planStacks, planTopology, quoteUnitArg, renderUnit, splitUnitArgs } from "../../topology/index.js";

test("docker: documented host ports, addresses after the gateway, peers by address", () => {
  const p = planTopology({ size: 5 });
  assert.equal(p.stackName, "etcd-5");
  assert.deepEqual(p.members.map((m) => m.hostPort), [23501, 23502, 23503, 23504, 23505]);
  assert.deepEqual(p.members.map((m) => m.address), ["172.28.5.2", "172.28.5.3", "172.28.5.4", "172.28.5.5", "172.28.5.6"]);
  assert.deepEqual(p.network, { name: "etcd-5-net", subnet: "172.28.5.0/24", gateway: "172.28.5.1" });
  assert.equal(p.members[2]!.peerUrl, "https://172.28.5.4:2380");
  assert.deepEqual(p.members[2]!.config.listenClientUrls, ["https://0.0.0.0:2379"]);
  assert.equal(
    p.etcdctl,
    `etcdctl --endpoints=${[1, 2, 3, 4, 5].map((i) => `127.0.0.1:2350${i}`).join(",")} --cacert=.etcdkit/pki/etcd-5/ca.crt --cert=.etcdkit/pki/etcd-5/clients/root.crt --key=.etcdkit/pki/etcd-5/clients/root.key`,
  );
  const q = planTopology({ size: 3, subnet: "10.9.0.0/29", gateway: "10.9.0.6", addresses: ["10.9.0.1", "10.9.0.2", "10.9.0.5"], hostPorts: [40001, 40002, 40003], namePrefix: "node" });
  assert.deepEqual(q.members.map((m) => m.name), ["node-1", "node-2", "node-3"]);
  assert.equal(q.members[2]!.config.initialCluster.map((m) => m.peerUrls[0]).join(","), "https://10.9.0.1:2380,https://10.9.0.2:2380,https://10.9.0.5:2380");
});

test("local: everything on 127.0.0.1, client basePort+2(i-1), peer +1", () => {
  const p = planTopology({ size: 3, target: "local", basePort: 40000, dataDirRoot: "/tmp/x" });
  assert.deepEqual(p.members.map((m) => [m.clientPort, m.peerPort]), [[40000, 40001], [40002, 40003], [40004, 40005]]);
  assert.ok(p.members.every((m) => m.config.listenClientUrls[0]!.startsWith("https://127.0.0.1:")));
  assert.equal(p.members[1]!.config.dataDir, "/tmp/x/etcd-2");
  assert.throws(() => planTopology({ size: 7, target: "local", basePort: 65530 }), /not a TCP port/);
});

test("hosts: shared address needs distinct ports; DNS names listen on 0.0.0.0", () => {
  assert.throws(() => planTopology({ size: 3, target: "hosts", hosts: [{ address: "10.0.0.1" }, { address: "10.0.0.1" }, { address: "10.0.0.2" }] }), /port clash in stack etcd-3: 10\.0\.0\.1:2379/);
  assert.throws(() => planTopology({ size: 3, target: "hosts", hosts: [{ address: "a" }] }), /one host per member: 1 hosts given for 3/);
  const p = planTopology({ size: 1, target: "hosts", hosts: [{ address: "db1.example" }] });
  assert.deepEqual(p.members[0]!.config.listenPeerUrls, ["https://0.0.0.0:2380"]);
  assert.deepEqual(p.members[0]!.config.advertiseClientUrls, ["https://db1.example:2379"]);
});

test("validation: sizes, subnets, addresses, names, tuning", () => {
  for (const n of [0, 2, 4, 6, 8, 9, 3.5]) assert.throws(() => planTopology({ size: n }), /1, 3, 5 or 7/);
  assert.throws(() => planTopology({ size: 1, subnet: "10.0.0.1/24" }), /host bits set/);
  assert.throws(() => planTopology({ size: 3, subnet: "10.0.0.0/30" }), /too small for 3 members and a gateway: it has 2 usable addresses, 4 needed/);
  assert.throws(() => planTopology({ size: 1, subnet: "10.0.0.0/24", addresses: ["10.0.1.5"] }), /outside the subnet/);
  assert.throws(() => planTopology({ size: 1, subnet: "10.0.0.0/24", addresses: ["10.0.0.1"] }), /gateway/);
  assert.throws(() => planTopology({ size: 3, subnet: "10.0.0.0/24", addresses: ["10.0.0.5", "10.0.0.5", "10.0.0.6"] }), /given to two members/);
  assert.throws(() => planTopology({ size: 1, stackName: "Bad Name" }), /not a valid name/);
  assert.throws(() => planTopology({ size: 1, heartbeatMs: 100, electionMs: 400 }), /at least 5 times/);
  assert.throws(() => checkStacks([planTopology({ size: 1 }), planTopology({ size: 1 })]), /declared twice/);
  assert.throws(() => planStacks([{ size: 1, subnet: "172.28.0.0/16" }, { size: 3 }]), /subnets overlap/);
  assert.throws(() => planStacks([{ size: 1, target: "local", stackName: "a" }, { size: 3, target: "local", stackName: "b" }]), /port clash in the declared stacks: 127\.0\.0\.1:32379/);
});

test("every rendered env file parses back to the member's config", () => {
  for (const target of ["docker", "local"] as const) {
    for (const m of planTopology({ size: 7, target, snapshotCount: 5000, heartbeatMs: 50, electionMs: 500 }).members) {
      assert.deepEqual(parseConfig([], parseEnvFile(toEnvFile(m.config))).config, m.config);
    }
  }
});

test("unit files: ExecStart quoting round-trips; EnvironmentFile and User are read back", () => {
  const args = ["/usr/bin/node", "/opt/my app/bin/etcd-ts.js", "100%", "$HOME", 'a"b', "back\\slash", ""];
  assert.deepEqual(splitUnitArgs(args.map((a, i) => quoteUnitArg(a, i === 0)).join(" ")), args);
  const unit = renderUnit({ memberName: "etcd-1", user: "etcd", envFile: "/etc/etcdkit/etcd-1.env", execStart: args, writablePaths: ["/var/lib/etcdkit/etcd-1"] });
  const parsed = parseUnit(unit);
  assert.deepEqual(parsed.execStart, args);
  assert.deepEqual(parsed.environmentFiles, ["/etc/etcdkit/etcd-1.env"]);
  assert.equal(parsed.user, "etcd");
  for (const line of ["Type=notify", "Restart=always", "RestartSec=5", "LimitNOFILE=65536"]) assert.ok(unit.includes(`\n${line}\n`));
  assert.throws(() => renderUnit({ memberName: "x", user: "etcd", envFile: "rel.env", execStart: ["/bin/true"], writablePaths: ["/d"] }), /absolute/);
  assert.throws(() => renderUnit({ memberName: "x", user: "etcd", envFile: "/a.env", execStart: ["etcd"], writablePaths: ["/d"] }), /absolute/);
});

test("TLS by default: https URLs, each member's certificates where its target puts them, client certificates required; insecure opts out", () => {
  const d = planTopology({ size: 3, pkiDir: "/pki/e3" });
  assert.equal(d.insecure, false);
  assert.deepEqual(d.clientTls, { pkiDir: "/pki/e3", ca: "/pki/e3/ca.crt", cert: "/pki/e3/clients/root.crt", key: "/pki/e3/clients/root.key" });
  const m = d.members[1]!;
  assert.equal(m.config.clientSecurity.certFile, "/etc/etcdkit/pki/etcd-2/server.crt");
  assert.equal(m.config.clientSecurity.keyFile, "/etc/etcdkit/pki/etcd-2/server.key");
  assert.equal(m.config.clientSecurity.trustedCaFile, "/etc/etcdkit/pki/etcd-2/ca.crt");
  assert.equal(m.config.clientSecurity.clientCertAuth, true);
  assert.equal(m.config.peerSecurity.certFile, "/etc/etcdkit/pki/etcd-2/peer.crt");
  assert.equal(m.config.peerSecurity.clientCertAuth, true);
  assert.deepEqual(
    m.tls!.files.map((f) => [f.source, f.target, f.private]),
    [
      ["/pki/e3/ca.crt", "/etc/etcdkit/pki/etcd-2/ca.crt", false],
      ["/pki/e3/members/etcd-2/server.crt", "/etc/etcdkit/pki/etcd-2/server.crt", false],
      ["/pki/e3/members/etcd-2/server.key", "/etc/etcdkit/pki/etcd-2/server.key", true],
      ["/pki/e3/members/etcd-2/peer.crt", "/etc/etcdkit/pki/etcd-2/peer.crt", false],
      ["/pki/e3/members/etcd-2/peer.key", "/etc/etcdkit/pki/etcd-2/peer.key", true],
    ],
  );
  // The rendered env a member starts from, as its env file or container env carries it.
  const env = toEnv(m.config);
  assert.equal(env.ETCD_CERT_FILE, "/etc/etcdkit/pki/etcd-2/server.crt");
  assert.equal(env.ETCD_CLIENT_CERT_AUTH, "true");
  assert.equal(env.ETCD_PEER_CLIENT_CERT_AUTH, "true");
  assert.equal(env.ETCD_PEER_TRUSTED_CA_FILE, "/etc/etcdkit/pki/etcd-2/ca.crt");
  assert.equal(parseConfig([], env).config.peerSecurity.keyFile, "/etc/etcdkit/pki/etcd-2/peer.key");
  // local: the members read the PKI in place, nothing to copy.
  const l = planTopology({ size: 1, target: "local", pkiDir: "/tmp/c/pki", dataDirRoot: "/tmp/c/data" });
  assert.equal(l.members[0]!.config.clientSecurity.certFile, "/tmp/c/pki/members/etcd-1/server.crt");
  assert.deepEqual(l.members[0]!.tls!.files, []);
  // hosts: a custom certificate folder, one sub-folder per member (several may share a host).
  const h = planTopology({ size: 1, target: "hosts", hosts: [{ address: "10.0.0.1" }], memberPkiDir: "/srv/certs" });
  assert.equal(h.members[0]!.config.peerSecurity.keyFile, "/srv/certs/etcd-1/peer.key");
  assert.throws(() => planTopology({ size: 1, target: "hosts", hosts: [{ address: "10.0.0.1" }], memberPkiDir: "relative/dir" }), /member PKI directory/);

  const i = planTopology({ size: 3, insecure: true });
  assert.equal(i.insecure, true);
  assert.equal(i.clientTls, undefined);
  assert.ok(i.members.every((x) => x.tls === undefined && x.peerUrl.startsWith("http://") && x.config.clientSecurity.certFile === ""));
  assert.equal(i.etcdctl.includes("--cacert"), false);
  assert.equal(toEnv(i.members[0]!.config).ETCD_CERT_FILE, undefined);
});
