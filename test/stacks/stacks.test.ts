/**
 * The CDKTF stacks, synthesized in-process (no Terraform, no provider download, no Docker):
 * resources per topology, addresses, ports, health checks, the bare-host env files and units
 * (parsed back by the server's own parser, and checked by `systemd-analyze verify`), and bad input
 * refused before any construct exists. TLS (the default): each member's certificate folder from the
 * stack's PKI (made as `cdktf synth` makes it) bind-mounted read-only, the member's env naming those
 * files, the health check through the image's probe, a `tls` output and an etcdctl line with
 * --cacert/--cert/--key; ETCDKIT_INSECURE=true gives plaintext stacks without mounts.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Testing } from "cdktf";
import { Container } from "@cdktf/provider-docker/lib/container/index.js";
import { Image } from "@cdktf/provider-docker/lib/image/index.js";
import { Network } from "@cdktf/provider-docker/lib/network/index.js";
import { Volume } from "@cdktf/provider-docker/lib/volume/index.js";
import { buildApp, declareStacks } from "../../stacks/app.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { stagedCertificateDir } from "../../stacks/constructs/docker-tls.js";
import { readStackOptions, type StacksOptions } from "../../stacks/options.js";
import { contains, parseSubnet, planStacks, unitFileName, type ClusterSize } from "../../topology/index.js";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";
import { parseEnvFile } from "../../server/config/render.js";
import { parseConfig } from "../../server/config/parse.js";

const ROOT = packageRoot();
const SIZES: ClusterSize[] = [1, 3, 5, 7];
// The stacks' PKI in a temporary folder (cdktf synth makes it under .etcdkit/pki), made once for every stack.
const PKI_ROOT = mkdtempSync(join(tmpdir(), "etcdkit-stacks-pki-"));
after(() => rmSync(PKI_ROOT, { recursive: true, force: true }));
const options = (env: Record<string, string> = {}): StacksOptions => readStackOptions(ROOT, { ETCDKIT_PKI_DIR: PKI_ROOT, ETCDKIT_K8S_SIZES: "1", ...env });
await prepareStackPki(options(), () => {});

type Json = Record<string, any>;
const isBackup = (r: Json) => ((r.labels ?? []) as Json[]).some((l) => l.label === "etcdkit.role" && l.value === "backup");
/** The resources of a type, without the backup container and volume (test/stacks/docker-backup.test.ts has those). */
const resources = (synth: Json, type: string): Json[] => Object.values((synth.resource?.[type] ?? {}) as Record<string, Json>).filter((r) => !isBackup(r));

describe("CDKTF stacks etcd-1, etcd-3, etcd-5, etcd-7", () => {
  const { stacks } = buildApp(options(), { outdir: mkdtempSync(join(tmpdir(), "etcdkit-synth-")) });
  const synths = new Map(stacks.map((s) => [s.plan.size, JSON.parse(Testing.synth(s)) as Json]));
  const raw = new Map(stacks.map((s) => [s.plan.size, Testing.synth(s)]));

  test("four stacks named by size, each valid terraform JSON with the docker provider", () => {
    assert.deepEqual(stacks.map((s) => s.node.id), ["etcd-1", "etcd-3", "etcd-5", "etcd-7"]);
    for (const s of stacks) {
      assert.ok(Testing.toHaveProvider(raw.get(s.plan.size)!, "docker"));
      assert.equal(Object.keys(synths.get(s.plan.size)!.terraform.required_providers)[0], "docker");
    }
  });

  for (const size of SIZES) {
    test(`etcd-${size}: ${size} containers with unique static addresses in the stack's own subnet`, () => {
      const synth = synths.get(size)!;
      const containers = resources(synth, "docker_container");
      assert.equal(containers.length, size);
      const [net] = resources(synth, "docker_network");
      assert.equal(resources(synth, "docker_network").length, 1);
      const subnet = parseSubnet(net!.ipam_config[0].subnet);
      const gateway = net!.ipam_config[0].gateway as string;
      assert.ok(contains(subnet, gateway));
      const addresses = containers.map((c) => c.networks_advanced[0].ipv4_address as string);
      assert.equal(new Set(addresses).size, size, "unique addresses");
      for (const a of addresses) {
        assert.ok(contains(subnet, a), `${a} in ${subnet.cidr}`);
        assert.notEqual(a, gateway);
      }
      // alias = member name, hostname = member name, on this stack's network
      for (const c of containers) {
        const env = parseEnvFile(c.env.join("\n"));
        assert.deepEqual(c.networks_advanced[0].aliases, [env.ETCD_NAME]);
        assert.equal(c.hostname, env.ETCD_NAME);
        assert.match(c.networks_advanced[0].name, /docker_network\./);
      }
    });

    test(`etcd-${size}: ETCD_INITIAL_CLUSTER names every member with its peer URL; env parses back to the model`, () => {
      const synth = synths.get(size)!;
      const stack = stacks.find((s) => s.plan.size === size)!;
      const containers = resources(synth, "docker_container");
      const expected = stack.plan.members.map((m) => `${m.name}=https://${m.address}:2380`).join(",");
      for (const c of containers) {
        const env = parseEnvFile(c.env.join("\n"));
        assert.equal(env.ETCD_INITIAL_CLUSTER, expected);
        const ip = c.networks_advanced[0].ipv4_address;
        assert.equal(env.ETCD_INITIAL_ADVERTISE_PEER_URLS, `https://${ip}:2380`);
        assert.equal(env.ETCD_ADVERTISE_CLIENT_URLS, `https://${ip}:2379`);
        const model = stack.plan.members.find((m) => m.name === env.ETCD_NAME)!;
        assert.deepEqual(parseConfig([], env).config, model.config);
      }
    });

    test(`etcd-${size}: client port published on 127.0.0.1 only; a volume and a health check per member`, () => {
      const synth = synths.get(size)!;
      const containers = resources(synth, "docker_container");
      const volumes = resources(synth, "docker_volume");
      assert.equal(volumes.length, size);
      const volumeRefs = new Set<string>();
      for (const c of containers) {
        assert.equal(c.ports.length, 1);
        assert.equal(c.ports[0].ip, "127.0.0.1");
        assert.equal(c.ports[0].internal, 2379);
        assert.equal(c.volumes.length, 1);
        assert.equal(c.volumes[0].container_path, "/var/lib/etcd");
        volumeRefs.add(c.volumes[0].volume_name);
        assert.deepEqual(c.healthcheck.test, ["CMD", "node", "/app/dist/stacks/pod/probe.js", "/health"]);
        assert.equal(c.restart, "unless-stopped");
        assert.match(c.image, /docker_image\..*\.image_id/);
      }
      assert.equal(volumeRefs.size, size, "each member mounts its own volume");
      assert.ok(
        Testing.toHaveResourceWithProperties(raw.get(size)!, Container.tfResourceType, {
          name: `etcd-${size}-etcd-1`,
          restart: "unless-stopped",
          ports: [{ internal: 2379, external: 23000 + 100 * size + 1, ip: "127.0.0.1", protocol: "tcp" }],
        }),
      );
      assert.ok(Testing.toHaveResourceWithProperties(raw.get(size)!, Volume.tfResourceType, { name: `etcd-${size}-etcd-1-data` }));
      assert.ok(
        Testing.toHaveResourceWithProperties(raw.get(size)!, Network.tfResourceType, {
          name: `etcd-${size}-net`,
          ipam_config: [{ subnet: `172.28.${size}.0/24`, gateway: `172.28.${size}.1` }],
        }),
      );
      assert.ok(
        Testing.toHaveResourceWithProperties(raw.get(size)!, Image.tfResourceType, {
          name: "etcd-ts:local",
          keep_locally: true,
          build: { context: ROOT, dockerfile: "Dockerfile", build_args: { BASE_IMAGE: "node:20-bookworm-slim" } },
        }),
      );
    });

    test(`etcd-${size}: outputs client endpoints and an etcdctl line`, () => {
      const out = synths.get(size)!.output;
      const endpoints = out.client_endpoints.value as string[];
      assert.equal(endpoints.length, size);
      assert.ok(endpoints.every((e) => /^https:\/\/127\.0\.0\.1:\d+$/.test(e)));
      const pki = join(PKI_ROOT, `etcd-${size}`);
      assert.equal(
        out.etcdctl.value,
        `etcdctl --endpoints=${endpoints.map((u: string) => new URL(u).host).join(",")} --cacert=${pki}/ca.crt --cert=${pki}/clients/root.crt --key=${pki}/clients/root.key endpoint status -w table`,
      );
      assert.deepEqual(out.tls.value, { insecure: false, cacert: `${pki}/ca.crt`, cert: `${pki}/clients/root.crt`, key: `${pki}/clients/root.key` });
    });

    test(`etcd-${size}: each member's certificates mounted read-only, its env names them, client certificates required`, () => {
      const stack = stacks.find((s) => s.plan.size === size)!;
      for (const c of resources(synths.get(size)!, "docker_container")) {
        const name = (c.name as string).slice(`etcd-${size}-`.length);
        assert.deepEqual(c.mounts, [{ type: "bind", source: stagedCertificateDir(join(PKI_ROOT, `etcd-${size}`), name), target: `/etc/etcdkit/pki/${name}`, read_only: true }]);
        const env = Object.fromEntries((c.env as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
        assert.equal(env.ETCD_CERT_FILE, `/etc/etcdkit/pki/${name}/server.crt`);
        assert.equal(env.ETCD_PEER_KEY_FILE, `/etc/etcdkit/pki/${name}/peer.key`);
        assert.equal(env.ETCD_CLIENT_CERT_AUTH, "true");
        assert.equal(env.ETCD_PEER_CLIENT_CERT_AUTH, "true");
        assert.match(env.ETCD_LISTEN_CLIENT_URLS!, /^https:/);
        // The staged copies are the PKI's files, in the form uid 1000 in the container can read and nobody else.
        const staged = stagedCertificateDir(join(PKI_ROOT, `etcd-${size}`), name);
        const member = stack.plan.members.find((m) => m.name === name)!;
        for (const f of member.tls!.files) {
          const copy = join(staged, f.target.slice(f.target.lastIndexOf("/") + 1));
          assert.equal(readFileSync(copy, "utf8"), readFileSync(f.source, "utf8"));
          const st = statSync(copy);
          if (process.getuid?.() === 0) {
            assert.equal(st.uid, 1000, `${copy} belongs to the container's user`);
            assert.equal(st.mode & 0o777, f.private ? 0o600 : 0o644);
          } else assert.equal(st.mode & 0o777, f.private ? 0o640 : 0o644);
        }
      }
    });
  }

  test("published ports are unique across all four stacks; subnets do not overlap", () => {
    const ports = [...synths.values()].flatMap((s) => resources(s, "docker_container").map((c) => c.ports[0].external as number));
    assert.equal(ports.length, 16);
    assert.equal(new Set(ports).size, 16);
    const subnets = [...synths.values()].map((s) => resources(s, "docker_network")[0]!.ipam_config[0].subnet as string);
    assert.equal(new Set(subnets).size, 4);
  });

  test("ETCDKIT_INSECURE=true: plaintext stacks, no certificate mounts, a tls output that says so", () => {
    const plain = buildApp(options({ ETCDKIT_INSECURE: "true", ETCDKIT_SIZES: "3" }), { outdir: mkdtempSync(join(tmpdir(), "etcdkit-synth-plain-")) });
    const synth = JSON.parse(Testing.synth(plain.stacks[0]!)) as Json;
    for (const c of resources(synth, "docker_container")) {
      assert.equal(c.mounts, undefined);
      assert.ok((c.env as string[]).includes("ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379"));
      assert.ok(!(c.env as string[]).some((e) => e.startsWith("ETCD_CERT_FILE=")));
    }
    assert.deepEqual(synth.output.tls.value, { insecure: true });
    assert.ok(!String(synth.output.etcdctl.value).includes("--cacert"));
    assert.throws(() => readStackOptions(ROOT, { ETCDKIT_INSECURE: "yes" }), /ETCDKIT_INSECURE must be true or false/);
  });

  describe("full synth writes bare-host env files and systemd units next to each stack", () => {
    const outdir = mkdtempSync(join(tmpdir(), "etcdkit-cdktf-out-"));
    after(() => rmSync(outdir, { recursive: true, force: true }));
    // systemd-analyze verify checks that ExecStart='s executable exists: use this machine's node.
    const nodePath = existsSync("/usr/bin/node") ? "/usr/bin/node" : process.execPath;
    const built = buildApp(options({ ETCDKIT_HOSTS_3: "10.0.0.11,10.0.0.12,10.0.0.13", ETCDKIT_HOST_NODE: nodePath }), { outdir });
    built.app.synth();
    const memberFiles = built.stacks.flatMap((s) =>
      s.plan.members.map((m) => ({
        stack: s,
        name: m.name,
        env: join(outdir, "stacks", s.node.id, "hosts", m.name, `${m.name}.env`),
        unit: join(outdir, "stacks", s.node.id, "hosts", m.name, unitFileName(m.name)),
      })),
    );

    test("every stack folder has cdk.tf.json and one env file + unit per member", () => {
      for (const s of built.stacks) assert.ok(existsSync(join(outdir, "stacks", s.node.id, "cdk.tf.json")));
      assert.equal(memberFiles.length, 16);
      for (const f of memberFiles) {
        assert.ok(existsSync(f.env), f.env);
        assert.ok(existsSync(f.unit), f.unit);
      }
    });

    test("env files parse back (parseEnvFile + the server's parseConfig) to the model", () => {
      const hostPlans = new Map<string, any>();
      for (const f of memberFiles) {
        const parsed = parseConfig([], parseEnvFile(readFileSync(f.env, "utf8")));
        assert.equal(parsed.warnings.length, 0, parsed.warnings.join("; "));
        const cfg = parsed.config;
        assert.equal(cfg.name, f.name);
        assert.equal(cfg.initialCluster.length, f.stack.plan.size);
        assert.equal(cfg.initialClusterToken, `etcdkit-${f.stack.node.id}`);
        assert.equal(cfg.dataDir, `/var/lib/etcdkit/${f.name}`);
        hostPlans.set(`${f.stack.node.id}/${f.name}`, cfg);
      }
      // etcd-3 was given host addresses: peers are reached there, members listen on them.
      const m2 = hostPlans.get("etcd-3/etcd-2");
      assert.deepEqual(m2.initialAdvertisePeerUrls, ["https://10.0.0.12:2380"]);
      assert.deepEqual(m2.listenClientUrls, ["https://10.0.0.12:2379"]);
      assert.equal(m2.initialCluster.map((m: any) => `${m.name}=${m.peerUrls[0]}`).join(","), "etcd-1=https://10.0.0.11:2380,etcd-2=https://10.0.0.12:2380,etcd-3=https://10.0.0.13:2380");
      // the others default to the member names as host names and listen on all addresses
      const m1 = hostPlans.get("etcd-5/etcd-4");
      assert.deepEqual(m1.advertiseClientUrls, ["https://etcd-4:2379"]);
      assert.deepEqual(m1.listenClientUrls, ["https://0.0.0.0:2379"]);
    });

    test("units: Type=notify, EnvironmentFile=, ExecStart=, Restart=always, RestartSec=5, LimitNOFILE=65536, User=", () => {
      for (const f of memberFiles) {
        const u = readFileSync(f.unit, "utf8");
        for (const line of ["Type=notify", `EnvironmentFile=/etc/etcdkit/${f.name}.env`, `ExecStart=${nodePath} /opt/etcdkit/bin/etcd-ts.js`, "Restart=always", "RestartSec=5", "LimitNOFILE=65536", "User=etcd", "WantedBy=multi-user.target"]) {
          assert.ok(u.split("\n").includes(line), `${f.unit} has ${line}`);
        }
      }
    });

    test("units pass systemd-analyze verify", (t) => {
      let tool = which("systemd-analyze");
      if (!tool) {
        const r = spawnSync("sh", ["-c", "apt-get install -y -qq systemd >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq systemd >/dev/null 2>&1)"], { timeout: 300_000 });
        tool = which("systemd-analyze");
        if (!tool) {
          t.skip(`systemd-analyze is missing and Debian's systemd package could not be installed (exit ${r.status})`);
          return;
        }
      }
      const units = memberFiles.map((f) => f.unit);
      const r = spawnSync(tool, ["verify", ...units], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), "", "no warnings");
    });

    test("one backup timer + service per cluster, on its first member's host, systemd-analyze verify clean", (t) => {
      for (const s of built.stacks) {
        const host = join(outdir, "stacks", s.node.id, "hosts");
        const found = s.plan.members.map((m) => readdirSync(join(host, m.name)).filter((f) => f.startsWith("etcdkit-backup-")));
        assert.deepEqual(found[0], [`etcdkit-backup-${s.plan.stackName}.service`, `etcdkit-backup-${s.plan.stackName}.timer`]);
        assert.ok(found.slice(1).every((f) => f.length === 0), "only the first host");
        const svc = readFileSync(join(host, s.plan.members[0]!.name, `etcdkit-backup-${s.plan.stackName}.service`), "utf8").split("\n");
        // the hosts' client URLs: the addresses given for 3 members, the member names for the others
        // (https: the stacks deploy TLS; the backup presents the first member's certificate, which the PKI issues for client auth too)
        const eps = s.plan.members.map((m, i) => (s.plan.size === 3 ? `https://10.0.0.1${i + 1}:2379` : `https://${m.name}:2379`)).join(",");
        const pki = `/etc/etcdkit/pki/${s.plan.members[0]!.name}`;
        const tls = `--cacert=${pki}/ca.crt --cert=${pki}/server.crt --key=${pki}/server.key`;
        assert.ok(svc.includes(`ExecStart=${nodePath} /opt/etcdkit/bin/etcdkit.js backup --endpoints=${eps} --cluster=${s.plan.stackName} --backup-dir=/var/backups/etcdkit/${s.plan.stackName} --keep=7 ${tls}`), svc.join("\n"));
        assert.ok(svc.includes("Type=oneshot") && svc.includes("User=etcd") && svc.includes(`ReadWritePaths=/var/backups/etcdkit/${s.plan.stackName}`));
        const timer = readFileSync(join(host, s.plan.members[0]!.name, `etcdkit-backup-${s.plan.stackName}.timer`), "utf8").split("\n");
        for (const line of ["OnCalendar=daily", "Persistent=true", `Unit=etcdkit-backup-${s.plan.stackName}.service`, "WantedBy=timers.target"]) assert.ok(timer.includes(line), line);
      }
      const tool = which("systemd-analyze");
      if (!tool) return t.skip("systemd-analyze is missing");
      const files = built.stacks.flatMap((s) => [".service", ".timer"].map((x) => join(outdir, "stacks", s.node.id, "hosts", s.plan.members[0]!.name, `etcdkit-backup-${s.plan.stackName}${x}`)));
      const r = spawnSync(tool, ["verify", ...files], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), "", "no warnings");
    });
  });

  test("backup options: off renders no timer; schedule, dir, keep and max age are checked", () => {
    assert.equal(options({ ETCDKIT_HOST_BACKUP: "off" }).bareHosts.backup, undefined);
    assert.deepEqual(options({ ETCDKIT_HOST_BACKUP: "*-*-* 02:30:00", ETCDKIT_HOST_BACKUP_KEEP: "3", ETCDKIT_HOST_BACKUP_MAX_AGE: "14d", ETCDKIT_HOST_BACKUP_DIR: "/srv/bk" }).bareHosts.backup, {
      schedule: "*-*-* 02:30:00",
      dir: "/srv/bk",
      keep: 3,
      maxAge: "14d",
    });
    assert.throws(() => options({ ETCDKIT_HOST_BACKUP: "daily\nExecStartPre=/bin/sh" }), /ETCDKIT_HOST_BACKUP "daily\\nExecStartPre=\/bin\/sh" is not a systemd calendar expression/);
    assert.throws(() => options({ ETCDKIT_HOST_BACKUP: "daily;$(x)" }), /is not a systemd calendar expression/);
    assert.throws(() => options({ ETCDKIT_HOST_BACKUP_KEEP: "0" }), /ETCDKIT_HOST_BACKUP_KEEP must be at least 1/);
    assert.throws(() => options({ ETCDKIT_HOST_BACKUP_MAX_AGE: "7 days" }), /ETCDKIT_HOST_BACKUP_MAX_AGE must be a number and a unit/);
    assert.throws(() => options({ ETCDKIT_HOST_BACKUP_DIR: "/var/x y" }), /ETCDKIT_HOST_BACKUP_DIR "\/var\/x y" may only hold/);
  });

  describe("bad input is refused before anything is created", () => {
    const refused = (env: Record<string, string>, re: RegExp) => {
      const outdir = mkdtempSync(join(tmpdir(), "etcdkit-refused-"));
      try {
        const app = new App({ outdir });
        assert.throws(() => declareStacks(app, options(env)), re);
        assert.equal(app.node.children.length, 0, "no stack was declared");
        assert.deepEqual(existsSync(join(outdir, "stacks")) ? readdirSync(join(outdir, "stacks")) : [], [], "nothing synthesized");
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    };
    test("an even member count", () => refused({ ETCDKIT_SIZES: "1,4" }, /cluster size must be 1, 3, 5 or 7, got 4 \(an even count/));
    test("a subnet too small for the members and a gateway", () => refused({ ETCDKIT_SUBNET_7: "172.28.7.0/29" }, /172\.28\.7\.0\/29 is too small for 7 members and a gateway/));
    test("overlapping subnets", () => refused({ ETCDKIT_SUBNET_1: "172.28.0.0/16" }, /subnets overlap/));
    test("a bad name", () => refused({ ETCDKIT_NAME_PREFIX: "Etcd_" }, /not a valid name/));
    test("a published port clash between stacks", () => {
      assert.throws(
        () => planStacks([{ size: 1, hostPorts: [23302] }, { size: 3 }]),
        /port clash in the declared stacks: 127\.0\.0\.1:23302 is wanted by etcd-1\/etcd-1 \(published client\) and etcd-3\/etcd-2/,
      );
      assert.throws(() => planStacks([{ size: 3, hostPorts: [24001, 24002, 24001] }]), /port clash in stack etcd-3/);
    });
    test("a tuning etcd would refuse", () => refused({ ETCDKIT_HEARTBEAT_MS: "300", ETCDKIT_ELECTION_MS: "1000" }, /at least 5 times/));
  });
});

test("cdktf.json runs stacks/main.ts and synthesizes without a provider download", () => {
  const cfg = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8"));
  assert.equal(cfg.language, "typescript");
  assert.equal(cfg.app, "npx tsx stacks/main.ts");
  assert.deepEqual(cfg.terraformProviders, []);
  const outdir = mkdtempSync(join(tmpdir(), "etcdkit-main-"));
  try {
    execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "stacks", "main.ts")], {
      cwd: ROOT,
      env: { ...process.env, CDKTF_OUTDIR: outdir, ETCDKIT_SIZES: "3", ETCDKIT_K8S_SIZES: "3" },
      stdio: "pipe",
    });
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8"));
    assert.deepEqual(Object.keys(manifest.stacks), ["etcd-3", "etcd-k8s-3"]);
    assert.ok(existsSync(join(outdir, "stacks", "etcd-k8s-3", "cdk.tf.json")));
    assert.ok(existsSync(join(outdir, "stacks", "etcd-3", "hosts", "etcd-2", "etcdkit-etcd-2.service")));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
