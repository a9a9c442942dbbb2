/**
 * The benchmark against a TLS cluster (the kit's default): the local runner's TLS cluster of real etcd,
 * reached by the load generator's own HTTP/2 client over TLS with ALPN h2 and by grpc-js, both presenting
 * the root client certificate; without it the connection is refused. The --tls / --insecure options, the
 * plan of a --tls run (each topology both ways, for the server and the baseline), and a stack's `tls`
 * output read back for --stack-outputs.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceDefinition } from "../../server/api/proto/load.js";
import { EtcdChannel, errorKind, unary } from "../../bench/etcd-client.js";
import { GrpcH2Channel } from "../../bench/h2/channel.js";
import { fixedRequest, KV_PUT, KV_RANGE } from "../../bench/kv-requests.js";
import { registerEndpointTls } from "../../bench/endpoint-tls.js";
import { resolveOptions } from "../../bench/cli.js";
import { planRuns } from "../../bench/runner.js";
import { endpointsFromStackOutputs, localTarget, tlsFromStackOutputs } from "../../bench/target.js";
import { UsageError } from "../../bench/args.js";
import { LocalCluster } from "../../ansible-free-scripts/local/cluster.js";
import { which } from "../../ansible-free-scripts/common/paths.js";

const root = mkdtempSync(join(tmpdir(), "etcdkit-bench-tls-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("a TLS cluster of real etcd", { skip: which("etcd") ? false : "no etcd binary on PATH", timeout: 90_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.up({ members: 1, server: "etcd", dir: join(root, "c1"), name: "bench-tls" });
  });
  after(async () => {
    await cluster?.down();
  });

  test("the HTTP/2 load generator and grpc-js speak TLS with the client certificate; without it the member refuses", async () => {
    const ep = cluster.endpoints()[0]!;
    assert.match(ep, /^https:\/\//);
    // localTarget registers the cluster's client certificate for its endpoints, as the suite does.
    const target = localTarget(cluster, "etcd", 1);
    assert.deepEqual(target.tls, cluster.tls);
    const h2 = new GrpcH2Channel(ep, { timeoutMs: 5000 });
    const js = new EtcdChannel(ep);
    try {
      await h2.unary(KV_PUT, fixedRequest("Put", { key: Buffer.from("tls/a"), value: Buffer.from("1") }));
      const got = await unary(js.kv(), "Range", { key: Buffer.from("tls/a") }, 5000);
      assert.equal(Buffer.from(got.kvs[0].value).toString(), "1");
      const msg = await h2.unary(KV_RANGE, fixedRequest("Range", { key: Buffer.from("tls/a") }));
      assert.equal((serviceDefinition("etcdserverpb", "KV").Range!.responseDeserialize(msg) as { count: string }).count, "1");
    } finally {
      h2.close();
      js.close();
    }

    registerEndpointTls([ep], undefined);
    const bare = new GrpcH2Channel(ep, { timeoutMs: 2000, connectTimeoutMs: 2000 });
    try {
      const e = await bare.unary(KV_PUT, fixedRequest("Put", { key: Buffer.from("tls/b"), value: Buffer.from("1") })).catch((x: unknown) => x);
      assert.match(errorKind(e), /UNAVAILABLE: No connection established: .*no client certificate registered/);
    } finally {
      bare.close();
    }
    const plain = new GrpcH2Channel(ep.replace("https:", "http:"), { timeoutMs: 2000, connectTimeoutMs: 2000 });
    try {
      const e = await plain.unary(KV_PUT, fixedRequest("Put", { key: Buffer.from("tls/c"), value: Buffer.from("1") })).catch((x: unknown) => x);
      assert.match(errorKind(e), /^UNAVAILABLE/, "plaintext HTTP/2 does not reach a TLS member");
    } finally {
      plain.close();
    }
  });
});

test("--tls plans each topology with TLS and plaintext for the server and the baseline; --insecure plaintext; TLS by default", () => {
  const both = resolveOptions({ tls: true, topologies: ["1", "3"], baseline: "none" });
  assert.deepEqual(both.transports, ["tls", "plaintext"]);
  assert.deepEqual(
    planRuns({ ...both, baseline: "etcd-ts-other" }, []).map((p) => `${p.members}-${p.server}-${p.tls ? "tls" : "plain"}`),
    ["1-etcd-ts-tls", "1-etcd-ts-other-tls", "1-etcd-ts-plain", "1-etcd-ts-other-plain", "3-etcd-ts-tls", "3-etcd-ts-other-tls", "3-etcd-ts-plain", "3-etcd-ts-other-plain"],
  );
  assert.deepEqual(resolveOptions({}).transports, ["tls"]);
  assert.deepEqual(resolveOptions({ insecure: true }).transports, ["plaintext"]);
  assert.throws(() => resolveOptions({ tls: true, insecure: true }), UsageError);
  assert.throws(() => resolveOptions({ tls: true, endpoints: ["http://127.0.0.1:1"] }), /--endpoints or --stack-outputs/);
  assert.throws(() => resolveOptions({ cacert: "a", cert: "b", key: "c" }), /go with --endpoints/);
  assert.throws(() => resolveOptions({ cacert: "a", endpoints: ["https://127.0.0.1:1"] }), /together/);
  assert.deepEqual(resolveOptions({ cacert: "/a", cert: "/b", key: "/c", endpoints: ["https://127.0.0.1:1"] }).clientTls, { ca: "/a", cert: "/b", key: "/c" });
});

test("--stack-outputs: the endpoints and the stack's tls output", () => {
  const file = join(root, "outputs.json");
  const out = {
    "etcd-3": {
      client_endpoints: ["https://127.0.0.1:23301", "https://127.0.0.1:23302"],
      etcdctl: "etcdctl --endpoints=127.0.0.1:23301 --cacert=/p/ca.crt --cert=/p/clients/root.crt --key=/p/clients/root.key endpoint status -w table",
      tls: { insecure: false, cacert: "/p/ca.crt", cert: "/p/clients/root.crt", key: "/p/clients/root.key" },
    },
  };
  writeFileSync(file, JSON.stringify(out));
  assert.deepEqual(endpointsFromStackOutputs(file), ["https://127.0.0.1:23301", "https://127.0.0.1:23302"]);
  assert.deepEqual(tlsFromStackOutputs(file), { ca: "/p/ca.crt", cert: "/p/clients/root.crt", key: "/p/clients/root.key" });
  writeFileSync(file, JSON.stringify({ "etcd-3": { client_endpoints: ["http://127.0.0.1:23301"], tls: { insecure: true } } }));
  assert.equal(tlsFromStackOutputs(file), undefined);
});
