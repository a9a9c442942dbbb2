/**
 * --discovery-srv (and --discovery-srv-name) on etcd-ts, against a DNS server the test runs on 127.0.0.1
 * (test/support/srv-dns.ts), which etcd-ts is pointed at with ETCDTS_DNS_SERVERS. As etcd 3.4.23, only
 * the `_etcd-server-ssl` (https) records bootstrap a cluster (see server/discovery/dns-srv.ts), so the
 * peers run over --peer-auto-tls. etcd itself reads /etc/resolv.conf (Go's resolver): the comparison
 * with it is in discovery-srv-netns.test.ts.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startSrvDns, type SrvDns } from "../support/srv-dns.js";
import { exitCodeWithin, startBootstrapMember, waitHealthyOrExit, type BootstrapMember } from "../support/bootstrap-member.js";
import { freePort } from "../support/ports.js";
import { etcdctl } from "../support/etcdctl.js";
import { computeMemberId } from "../../server/membership/ids.js";

const started: BootstrapMember[] = [];
const servers: SrvDns[] = [];
after(async () => {
  await Promise.all(started.map((m) => m.dispose()));
  await Promise.all(servers.map((s) => s.close()));
});

async function dnsWith(records: Record<string, Array<{ target: string; port: number }>>): Promise<SrvDns> {
  const s = await startSrvDns(new Map(Object.entries(records)));
  servers.push(s);
  return s;
}

async function srvMember(name: string, dns: SrvDns, peerPort: number, flags: string[], scheme = "https"): Promise<BootstrapMember> {
  const m = await startBootstrapMember("etcd-ts", name, {
    flags: [...flags, ...(scheme === "https" ? ["--peer-auto-tls"] : [])],
    peerBase: `${scheme}://127.0.0.1`,
    peerPort,
    env: { ETCDTS_DNS_SERVERS: dns.server },
  });
  started.push(m);
  return m;
}

function logged(m: BootstrapMember, msg: string): Array<Record<string, unknown>> {
  return m.lines().filter((l) => l.msg === msg);
}

describe("--discovery-srv", { timeout: 120_000 }, () => {
  test("3 members bootstrap from _etcd-server-ssl._tcp records", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const dns = await dnsWith({ "_etcd-server-ssl._tcp.etcd.test": ports.map((port) => ({ target: "127.0.0.1.", port })) });
    const members: BootstrapMember[] = [];
    for (const [i, port] of ports.entries()) members.push(await srvMember(`m${i + 1}`, dns, port, ["--discovery-srv=etcd.test"]));
    await Promise.all(members.map((m) => waitHealthyOrExit(m)));

    const list = await etcdctl(members[0]!.endpoint, ["member", "list", "-w", "json"]);
    assert.equal(list.code, 0, list.stderr);
    const parsed = JSON.parse(list.stdout.replace(/:\s*(\d{16,})/g, ':"$1"')) as { members: Array<{ ID: string; name: string; peerURLs: string[] }> };
    const got = parsed.members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, id: BigInt(m.ID) })).sort((a, b) => a.name.localeCompare(b.name));
    // the IDs are hashed with --initial-cluster-token (the default), not with the domain
    assert.deepEqual(
      got,
      members.map((m) => ({ name: m.name, peerURLs: [m.peerUrl], id: computeMemberId([m.peerUrl], "etcd-cluster") })),
    );
    // m1's view before the others published their names: itself by name, the others "0", "1"
    const nodes = logged(members[0]!, "got bootstrap from DNS for etcd-server").map((l) => l.node);
    assert.deepEqual(nodes, [`m1=https://127.0.0.1:${ports[0]}`, `0=https://127.0.0.1:${ports[1]}`, `1=https://127.0.0.1:${ports[2]}`]);
    const ssl = logged(members[0]!, "get cluster for etcd-server-ssl SRV")[0]!;
    assert.equal(ssl["service-name"], "etcd-server-ssl");
    assert.equal(ssl["discovery-srv"], "etcd.test");
    assert.ok(dns.questions.includes("_etcd-server._tcp.etcd.test"), "the http records are asked for too, as etcd 3.4 does");
    for (const m of members) await m.dispose();
  });

  test("--discovery-srv-name adds its suffix to the service name", async () => {
    const port = await freePort();
    const dns = await dnsWith({ "_etcd-server-ssl-blue._tcp.etcd.test": [{ target: "127.0.0.1", port }] });
    const m = await srvMember("solo", dns, port, ["--discovery-srv=etcd.test", "--discovery-srv-name=blue"]);
    await waitHealthyOrExit(m);
    assert.deepEqual(logged(m, "got bootstrap from DNS for etcd-server").map((l) => l.node), [`solo=https://127.0.0.1:${port}`]);
    await m.dispose();
  });

  test("only _etcd-server (http) records: etcd 3.4.23's https lookup error stops the start", async () => {
    const port = await freePort();
    const dns = await dnsWith({ "_etcd-server._tcp.plain.test": [{ target: "127.0.0.1", port }] });
    const m = await srvMember("m1", dns, port, ["--discovery-srv=plain.test"], "http");
    assert.equal(await exitCodeWithin(m), 1);
    const why = `error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.plain.test on ${dns.server}: no such host`;
    assert.deepEqual(logged(m, "failed to resolve during SRV discovery").map((l) => l.error), [why]);
    assert.ok(m.lines().some((l) => l.error === `error setting up initial cluster: ${why}`), m.log().slice(-2000));
  });

  test("records that do not name this member: etcd's 'cannot find local etcd member'", async () => {
    const [mine, other] = [await freePort(), await freePort()];
    const dns = await dnsWith({ "_etcd-server-ssl._tcp.other.test": [{ target: "127.0.0.1", port: other }] });
    const m = await srvMember("m1", dns, mine, ["--discovery-srv=other.test"]);
    assert.equal(await exitCodeWithin(m), 1);
    assert.ok(m.lines().some((l) => l.error === 'error setting up initial cluster: cannot find local etcd member "m1" in SRV records'), m.log().slice(-2000));
  });

  test("an https record for a member advertising http: etcd's scheme mismatch", async () => {
    const port = await freePort();
    const dns = await dnsWith({ "_etcd-server-ssl._tcp.mixed.test": [{ target: "127.0.0.1", port }] });
    const m = await srvMember("m1", dns, port, ["--discovery-srv=mixed.test"], "http");
    assert.equal(await exitCodeWithin(m), 1);
    const why = `error querying DNS SRV records for _etcd-server-ssl bootstrap at https://127.0.0.1:${port} from DNS for etcd-server-ssl has scheme mismatch with expected peer http://127.0.0.1:${port}`;
    assert.ok(m.lines().some((l) => l.error === `error setting up initial cluster: ${why}`), m.log().slice(-2000));
  });
});
