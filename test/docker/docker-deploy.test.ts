/**
 * The Docker deployment for real: an engine (the running one, or a dockerd started here), an
 * offline base image (`docker import` of this machine's node and its shared libraries), the repo's
 * image built as the stack declares it, and the `etcd-1` / `etcd-3` stacks brought up with the
 * Docker CLI from the stacks' own synthesized declarations (same image, network, subnet, static
 * addresses, aliases, ETCD_* env, 127.0.0.1 publications, volumes, health check, restart policy).
 * TLS, the kit's default: the PKI is made and staged as `cdktf synth` does (prepareStackPki, in a temp
 * dir of the run), each member gets its certificate folder as a read-only bind mount, and the test
 * reaches the members over https with the stack's root client certificate (etcdctl --cacert/--cert/--key).
 *
 *  - etcd-1, etcd-ts: health through 127.0.0.1, put/get with etcdctl through the published port,
 *    a crash (SIGKILL of the server process) restarted by the restart policy, `docker kill` (a
 *    manual stop: Docker does not restart it) and `docker start`, and the data surviving a new
 *    container on the same volume.
 *  - etcd-3 with real etcd (this machine's /usr/bin/etcd in an image FROM the etcd-ts image): the
 *    stack's networking and env proven independently of etcd-ts: health on all, put on one member
 *    read on the others, `docker kill` of the leader (found through `/metrics`), a new leader, the
 *    old one back with the data.
 *  - etcd-3, etcd-ts: the same scenario on the same terms as real etcd (60 s to form a cluster);
 *    a cluster that does not form fails the test with the reason and the last log lines, as it
 *    does for real etcd (it used to be skipped, which hid etcd-ts not forming).
 *  - terraform apply/destroy of the synthesized stack (what `cdktf deploy`/`destroy` run) when the
 *    kreuzwerker/docker provider can be had; skipped with the reason when `terraform init` fails.
 *
 * Every case tears down and checks that no container, volume or network of the stack is left.
 * Runs on its own: `npx tsc -p . && node --test dist/test/docker/` (a few minutes: not in `npm test`).
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { which } from "../../ansible-free-scripts/common/paths.js";
import { packageRoot } from "../../server/util/package-root.js";
import { buildApp } from "../../stacks/app.js";
import { healthcheckCommand } from "../../stacks/constructs/member.js";
import { prepareImageApp } from "../../stacks/image-bundle.js";
import { OPTION_NAMES, readStackOptions } from "../../stacks/options.js";
import { prepareStackPki } from "../../stacks/prepare-pki.js";
import { dockerRestore } from "../../stacks/cli/docker-restore.js";
import type { ClientTlsFiles } from "../../ansible-free-scripts/common/health.js";
import { etcdctl } from "../support/etcdctl.js";
import { importBaseImage } from "./base-image.js";
import { answersWithoutClientCert, buildEtcdImage, dockerHealth, healthy, leaders, sleep, stackLogs, waitFor } from "./cluster.js";
import { ensureEngine, run, type Docker, type Engine } from "./docker.js";
import {
  applyStack,
  buildImage,
  createContainer,
  destroyStack,
  leftovers,
  synthStacks,
  verifyContainer,
  verifyNetwork,
  type Applied,
  type DeclaredStack,
} from "./stack-cli.js";

const ROOT = packageRoot();
const BASE_IMAGE = "etcdkit-base:local";
const ETCD_IMAGE = "etcdkit-etcd:local";
const T0 = Date.now();
const log = (line: string) => console.log(`[docker-deploy +${((Date.now() - T0) / 1000).toFixed(1)}s] ${line}`);
const summary: string[] = [];

// The stacks' PKI (CA, member and client certificates, the Docker members' staged mount folders) in a
// folder of this run, removed at the end: never the repo's .etcdkit/pki.
const PKI_ROOT = mkdtempSync(join(tmpdir(), "etcdkit-docker-pki-"));

/**
 * The stack options as `cdktf synth` would read them (ETCDKIT_* from the environment), with the offline
 * base and this run's PKI root. TLS, the kit's default: ETCDKIT_INSECURE from the environment is not
 * passed on, so this test always runs the stacks as `cdktf deploy` would by default.
 */
function stackEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of OPTION_NAMES) if (process.env[k] && k !== "ETCDKIT_INSECURE" && k !== "ETCDKIT_PKI_DIR") env[k] = process.env[k]!;
  return { ...env, ETCDKIT_SIZES: "1,3", ETCDKIT_BASE_IMAGE: BASE_IMAGE, ETCDKIT_PKI_DIR: PKI_ROOT, ...extra };
}

/** What `cdktf synth` runs before declaring the stacks (stacks/main.ts): the PKI made and the Docker members' folders staged. */
async function synthWithPki(env: Record<string, string>): Promise<ReturnType<typeof synthStacks>> {
  const options = readStackOptions(ROOT, env);
  await prepareStackPki(options, log);
  return synthStacks(options);
}

/** The client side of a TLS stack: CA, root client certificate and key, as the stack's `etcdctl` line names them. */
function clientTlsOf(s: DeclaredStack): ClientTlsFiles {
  const t = s.plan.clientTls;
  assert.ok(t && !s.plan.insecure, `${s.name} is planned with TLS`);
  return { ca: t.ca, cert: t.cert, key: t.key };
}

/** Debian's etcdctl over https with the stack's client certificate. */
const ctl = (tls: ClientTlsFiles, endpoint: string, args: readonly string[]) => etcdctl(endpoint, [`--cacert=${tls.ca}`, `--cert=${tls.cert}`, `--key=${tls.key}`, ...args]);

const stacks = await synthWithPki(stackEnv({}));
const etcd1 = stacks.get("etcd-1")!.declared;
const etcd3 = stacks.get("etcd-3")!.declared;
// The same stacks running real etcd: only the image differs (an existing image, not built).
const etcdStacks = await synthWithPki(stackEnv({ ETCDKIT_IMAGE: ETCD_IMAGE, ETCDKIT_BUILD: "false" }));
const etcd3Real = etcdStacks.get("etcd-3")!.declared;

describe("Docker deploy of the etcd-1 and etcd-3 stacks", { timeout: 15 * 60_000 }, () => {
  let engine: Engine | undefined;
  let skip: string | undefined;
  let docker: Docker;
  let imageReady = false;
  const touched: DeclaredStack[] = [];
  const createdImages: string[] = [];

  before(async () => {
    const e = await ensureEngine(log);
    if ("skip" in e) {
      skip = `no Docker engine: ${e.skip}`;
      log(`SKIP ${skip}`);
      return;
    }
    engine = e;
    docker = e.docker;
    log(`engine: ${e.description}`);
    // An engine that was running already may hold a real deployment of these stacks: leave it alone.
    for (const s of [etcd1, etcd3]) {
      const there = await leftovers(docker, s);
      if (there.length > 0) {
        skip = `stack ${s.name} is already deployed on ${e.description} (${there.join(", ")}): not touching it`;
        log(`SKIP ${skip}`);
      }
    }
  });

  after(async () => {
    rmSync(PKI_ROOT, { recursive: true, force: true });
    if (!engine) return;
    try {
      for (const s of touched) await destroyStack(docker, s);
      for (const s of touched) assert.deepEqual(await leftovers(docker, s), [], `${s.name} left behind`);
      if (!engine.started) for (const img of createdImages) await docker.run(["image", "rm", img], { allowFail: true });
    } finally {
      await engine.stop();
      if (engine.started) log(`stopped the dockerd started here (pid ${engine.pid}) and removed its data root`);
      log(`done in ${((Date.now() - T0) / 1000).toFixed(0)} s\n  ${summary.join("\n  ")}`);
    }
  });

  const needEngine = (t: TestContext): boolean => {
    if (skip) t.skip(skip);
    return !skip;
  };
  const needImage = () => assert.ok(imageReady, "the etcd-ts image was not built (see the image test)");

  test("offline base image: docker import of this node and the shared libraries ldd lists", async (t) => {
    if (!needEngine(t)) return;
    const { files } = await importBaseImage(docker, BASE_IMAGE);
    if (!engine!.started) createdImages.push(BASE_IMAGE);
    const out = await docker.out(["run", "--rm", "--user", "1000:1000", BASE_IMAGE, "node", "-e", "console.log(process.version, process.getuid())"]);
    assert.equal(out, `${process.version} 1000`);
    const size = Number(await docker.out(["image", "inspect", "--format", "{{.Size}}", BASE_IMAGE]));
    log(`base ${BASE_IMAGE}: ${(size / 1e6).toFixed(0)} MB, ${files.length} files (${files.join(" ")}) + /etc/passwd, /etc/group, /tmp`);
  });

  test("the etcd-ts image: built offline as the stacks declare it; small, non-root, exec-form HEALTHCHECK, no shell", async (t) => {
    if (!needEngine(t)) return;
    // Both stacks declare the same image build; the prepared app is what the Dockerfile copies.
    assert.deepEqual(etcd3.images, etcd1.images);
    const [image] = etcd1.images;
    assert.equal(image!.build?.buildArgs.BASE_IMAGE, BASE_IMAGE);
    const app = prepareImageApp({ root: ROOT });
    log(`prepared ${app.dir}: ${(app.bytes / 1e6).toFixed(1)} MB, ${app.packages.length} packages for ${app.roots.join(", ")}${app.compiled ? " (compiled first)" : ""}`);
    for (const dev of ["typescript", "tsx", "etcd3", "esbuild", "cdktf", "@cdktf/provider-docker", "autocannon", "execa"]) {
      assert.ok(!app.packages.includes(dev), `${dev} must not be in the image`);
    }
    const t0 = Date.now();
    await buildImage(docker, image!);
    const info = (await docker.inspect<any>("image", image!.name))!;
    const mb = info.Size / 1e6;
    summary.push(`image ${image!.name}: ${mb.toFixed(0)} MB (built in ${((Date.now() - t0) / 1000).toFixed(0)} s from ${BASE_IMAGE})`);
    log(summary.at(-1)!);
    assert.equal(info.Config.User, "1000:1000");
    assert.deepEqual(info.Config.Entrypoint, ["node", "/app/bin/etcd-ts.js"]);
    assert.deepEqual(info.Config.Healthcheck.Test, healthcheckCommand());
    assert.ok(mb < 250, `image is ${mb.toFixed(0)} MB`);
    const version = await docker.out(["run", "--rm", image!.name, "--version"]);
    assert.match(version, /etcd-ts Version/);
    const inImage = await docker.out([
      "run",
      "--rm",
      "--entrypoint",
      "node",
      image!.name,
      "-e",
      "const fs=require('fs');console.log(JSON.stringify({mods:fs.readdirSync('/app/node_modules'),data:fs.statSync('/var/lib/etcd').uid,shell:fs.existsSync('/bin/sh')}))",
    ]);
    const seen = JSON.parse(inImage) as { mods: string[]; data: number; shell: boolean };
    for (const dev of ["typescript", "tsx", "etcd3", "cdktf", "@cdktf", "autocannon", "esbuild"]) assert.ok(!seen.mods.includes(dev), `${dev} in the image`);
    assert.equal(seen.data, 1000, "/var/lib/etcd belongs to the runtime user");
    assert.equal(seen.shell, false, "no shell in the image");
    imageReady = true;
  });

  /** Applies a declared stack with the CLI and checks every resource against its declaration. */
  async function bringUp(s: DeclaredStack): Promise<Applied> {
    touched.push(s);
    const applied = await applyStack(docker, s, { build: false });
    for (const n of s.networks) assert.deepEqual(await verifyNetwork(docker, n), []);
    for (const c of s.containers) assert.deepEqual(await verifyContainer(docker, c, applied.imageIds.get(c.imageId)!), []);
    log(`${s.name}: up (${s.containers.map((c) => `${c.name} ${c.networks[0]?.ipv4Address} -> 127.0.0.1:${c.ports[0]?.external}`).join(", ")})`);
    return applied;
  }

  async function tearDown(s: DeclaredStack): Promise<void> {
    await destroyStack(docker, s);
    assert.deepEqual(await leftovers(docker, s), [], `${s.name}: nothing left after teardown`);
    log(`${s.name}: torn down, no container, volume or network left`);
  }

  const waitDockerHealthy = async (names: readonly string[], ms = 45_000) =>
    waitFor(async () => (await Promise.all(names.map((n) => dockerHealth(docker, n)))).every((h) => h === "healthy"), ms, 500);

  test("etcd-1 (etcd-ts): health and put/get through 127.0.0.1, crash restart by policy, docker kill + start, data kept in the volume", async (t) => {
    if (!needEngine(t)) return;
    needImage();
    const s = etcd1;
    assert.equal(s.plan.members.length, 1);
    const [member] = s.plan.members;
    const [c] = s.containers;
    const url = member!.clientUrl;
    const tls = clientTlsOf(s);
    assert.equal(url, `https://127.0.0.1:${c!.ports[0]!.external}`);
    const applied = await bringUp(s);
    try {
      assert.ok(await waitFor(() => healthy(url, tls), 30_000), `etcd-1 not healthy at ${url}\n${await stackLogs(docker, s)}`);
      assert.ok(await waitDockerHealthy([c!.name]), `docker health of ${c!.name}: ${await dockerHealth(docker, c!.name)}`);
      let r = await ctl(tls, url, ["put", "deploy/key", "one"]);
      assert.equal(r.code, 0, r.stderr);
      r = await ctl(tls, url, ["get", "deploy/key", "--print-value-only"]);
      assert.equal(r.stdout.trim(), "one");
      // TLS is required, not offered: no client certificate, no answer.
      assert.equal(await answersWithoutClientCert(`${url}/health`, tls.ca), false, "/health answered a client with no certificate");
      r = await etcdctl(url, [`--cacert=${tls.ca}`, "--dial-timeout=3s", "--command-timeout=5s", "get", "deploy/key"]);
      assert.notEqual(r.code, 0, "etcdctl without a client certificate must fail");
      log(`etcd-1: https with the stack's client certificate; without one, /health and etcdctl get nothing`);

      // A crash: SIGKILL of the server process from the host. restart: unless-stopped brings it back.
      // (`docker kill` would not do: Docker counts it as a manual stop, which unless-stopped respects.)
      const before = (await docker.inspect<any>("container", c!.name))!.State;
      let crashed = false;
      try {
        process.kill(before.Pid, "SIGKILL");
        crashed = true;
      } catch (e) {
        t.diagnostic(`cannot signal pid ${before.Pid} from here (a remote engine?): ${(e as Error).message}; crash restart not exercised`);
      }
      if (crashed) {
        const restarted = await waitFor(async () => {
          const st = await docker.inspect<any>("container", c!.name);
          return st && st.RestartCount >= 1 && st.State.Running && st.State.Pid !== before.Pid ? st : undefined;
        }, 20_000);
        assert.ok(restarted, `the restart policy did not restart the crashed member\n${await stackLogs(docker, s)}`);
        assert.ok(await waitFor(() => healthy(url, tls), 30_000), "not healthy after the crash restart");
        r = await ctl(tls, url, ["get", "deploy/key", "--print-value-only"]);
        assert.equal(r.stdout.trim(), "one", "value after the crash restart");
        log(`etcd-1: crashed (SIGKILL of pid ${before.Pid} from the host), restarted by the policy (restart count ${restarted.RestartCount}), value kept`);
      }

      // docker kill: a manual stop, which unless-stopped does not undo; docker start does.
      await docker.run(["kill", c!.name]);
      await sleep(3000);
      const killed = (await docker.inspect<any>("container", c!.name))!.State;
      if (!killed.Running) await docker.run(["start", c!.name]);
      log(`etcd-1: docker kill -> ${killed.Running ? "restarted by Docker" : "stays stopped (manual stop), docker start"}`);
      assert.ok(await waitFor(() => healthy(url, tls), 30_000), "not healthy after docker start");
      r = await ctl(tls, url, ["put", "deploy/key", "two"]);
      assert.equal(r.code, 0, r.stderr);

      // A new container on the same volume keeps the data.
      const oldId = (await docker.inspect<any>("container", c!.name))!.Id;
      await docker.run(["rm", "--force", c!.name]);
      await createContainer(docker, c!, applied.imageIds);
      const newId = (await docker.inspect<any>("container", c!.name))!.Id;
      assert.notEqual(newId, oldId);
      assert.deepEqual(await verifyContainer(docker, c!, applied.imageIds.get(c!.imageId)!), []);
      assert.ok(await waitFor(() => healthy(url, tls), 30_000), `not healthy in the new container\n${await stackLogs(docker, s)}`);
      r = await ctl(tls, url, ["get", "deploy/key", "--print-value-only"]);
      assert.equal(r.stdout.trim(), "two", "the new container reads the data from the volume");
      log("etcd-1: a new container on the same volume has the data");

      // The scheduled backup: what the host timer runs, once (docker start -a of the created-only container).
      const [backup] = s.backups;
      assert.ok(backup, "the stack declares its backup container (ETCDKIT_DOCKER_BACKUP defaults to daily)");
      const created = (await docker.inspect<any>("container", backup!.name))!.State;
      assert.equal(created.Status, "created", "Terraform creates the backup container without starting it");
      const run = await docker.run(["start", "-a", backup!.name], { timeoutMs: 120_000, allowFail: true });
      assert.equal(run.code, 0, `docker start -a ${backup!.name}: ${run.stdout}\n${run.stderr}`);
      const image = applied.imageIds.get(backup!.imageId)!;
      const listed = await docker.out(["run", "--rm", "--entrypoint", "node", "--mount", `type=volume,source=${backup!.mounts[0]!.volume},target=/b,readonly`, image, "-e", "console.log(require('fs').readdirSync('/b').join(' '))"]);
      const files = listed.trim().split(" ");
      assert.ok(files.some((f) => /^etcd-1-\d{8}T\d{9}Z\.db$/.test(f)) && files.some((f) => /^etcd-1-\d{8}T\d{9}Z\.json$/.test(f)), `a backup and its sidecar in the volume: ${listed}`);
      log(`etcd-1: docker start -a ${backup!.name} saved ${files.join(", ")} in volume ${backup!.mounts[0]!.volume}`);

      // Restore in place from that backup (etcdkit restore --docker-stack): a later write is gone, the backed-up value is back.
      r = await ctl(tls, url, ["put", "deploy/key", "three"]);
      assert.equal(r.code, 0, r.stderr);
      const copied = mkdtempSync(join(tmpdir(), "etcdkit-docker-restore-"));
      try {
        const db = files.find((f) => f.endsWith(".db"))!;
        await docker.run(["cp", `${backup!.name}:/var/backups/etcdkit/${db}`, copied]);
        const steps: string[] = [];
        await dockerRestore({ plan: s.plan, from: join(copied, db), docker: { run: (args) => docker.run(args, { allowFail: true, timeoutMs: 180_000 }) }, log: (l) => steps.push(l), healthTimeoutMs: 60_000 });
        assert.ok(steps.some((l) => /old data dir kept at \/var\/lib\/etcd\/etcd-1\.pre-restore-/.test(l)), steps.join("\n"));
        r = await ctl(tls, url, ["get", "deploy/key", "--print-value-only"]);
        assert.equal(r.stdout.trim(), "two", "the backed-up value, not the later write");
        r = await ctl(tls, url, ["put", "deploy/key", "four"]);
        assert.equal(r.code, 0, `the restored member takes writes: ${r.stderr}`);
        log(`etcd-1: restored in place from ${db} (${steps.filter((l) => /restored|kept/.test(l)).join("; ")})`);
      } finally {
        rmSync(copied, { recursive: true, force: true });
      }
      summary.push("etcd-1 with etcd-ts: ran (health, put/get, crash restart by policy, docker kill + start, volume persistence, one scheduled backup, restore in place)");
    } finally {
      await tearDown(s);
    }
  });

  /** How long three members get to form a cluster: the same for etcd-ts as for real etcd. */
  const FORM_MS = 60_000;

  /**
   * The 3-member scenario on a declared stack: all healthy, put on one / read on the others,
   * docker kill of the leader, a new leader among the others, writes go on, the old leader back.
   * `formMs`: how long the members get to form a cluster; not forming fails the test.
   */
  async function threeMembers(s: DeclaredStack, what: string, formMs: number): Promise<void> {
    const members = s.plan.members;
    assert.equal(members.length, s.containers.length);
    const urls = members.map((m) => m.clientUrl);
    const names = members.map((m) => m.containerName!);
    const tls = clientTlsOf(s);
    await bringUp(s);
    try {
      const started = Date.now();
      const formed = await waitFor(async () => (await Promise.all(urls.map((u) => healthy(u, tls)))).every(Boolean) && (await leaders(urls, tls)).length === 1, formMs, 500);
      if (!formed) {
        summary.push(`${what}: FAILED (no cluster within ${formMs / 1000} s)`);
        assert.fail(`${what}: the ${members.length} members did not form a cluster within ${formMs / 1000} s (health: ${(await Promise.all(urls.map((u) => healthy(u, tls)))).join(", ")}; leaders: ${JSON.stringify(await leaders(urls, tls))})\n${await stackLogs(docker, s)}`);
      }
      log(`${what}: a cluster with one leader, /health true on all ${members.length} members, ${((Date.now() - started) / 1000).toFixed(1)} s after start`);
      assert.ok(await waitDockerHealthy(names), `docker health: ${(await Promise.all(names.map((n) => dockerHealth(docker, n)))).join(", ")}`);
      log(`${what}: all ${members.length} healthy by Docker's health check too`);

      let r = await ctl(tls, urls[0]!, ["put", "cluster/key", "written-on-1"]);
      assert.equal(r.code, 0, r.stderr);
      for (const u of urls.slice(1)) {
        r = await ctl(tls, u, ["get", "cluster/key", "--print-value-only"]);
        assert.equal(r.stdout.trim(), "written-on-1", `read on ${u}: ${r.stderr}`);
      }
      const [leader] = await leaders(urls, tls);
      assert.ok(leader !== undefined);
      log(`${what}: put on ${members[0]!.name}, read on the others; leader ${members[leader]!.name} (etcd_server_is_leader 1)`);

      await docker.run(["kill", names[leader]!]);
      const others = urls.map((_, i) => i).filter((i) => i !== leader);
      const t0 = Date.now();
      const next = await waitFor(async () => {
        const l = await leaders(others.map((i) => urls[i]!), tls);
        return l.length === 1 ? others[l[0]!] : undefined;
      }, 20_000);
      assert.ok(next !== undefined, `no new leader among ${others.map((i) => members[i]!.name).join(", ")}\n${await stackLogs(docker, s)}`);
      log(`${what}: docker kill ${names[leader]} -> new leader ${members[next].name} after ${Date.now() - t0} ms`);
      const follower = others.find((i) => i !== next)!;
      r = await ctl(tls, urls[follower]!, ["put", "cluster/key", "after-failover"]);
      assert.equal(r.code, 0, r.stderr);
      r = await ctl(tls, urls[next]!, ["get", "cluster/key", "--print-value-only"]);
      assert.equal(r.stdout.trim(), "after-failover");

      await docker.run(["start", names[leader]!]);
      assert.ok(await waitFor(() => healthy(urls[leader]!, tls), 30_000), `${names[leader]} not healthy after docker start\n${await stackLogs(docker, s)}`);
      const caught = await waitFor(async () => {
        const g = await ctl(tls, urls[leader]!, ["get", "cluster/key", "--print-value-only"]);
        return g.stdout.trim() === "after-failover";
      }, 15_000);
      assert.ok(caught, `${names[leader]} did not catch up`);
      assert.equal((await leaders(urls, tls)).length, 1);
      log(`${what}: ${names[leader]} back (docker start), caught up`);
      summary.push(`${what}: ran (health on all, put/get across members, leader kill -> new leader, old leader back)`);
    } finally {
      await tearDown(s);
    }
  }

  test("etcd-3 with real etcd in the image: the stack's network and env make a cluster that survives its leader's docker kill", async (t) => {
    if (!needEngine(t)) return;
    needImage();
    const etcd = which("etcd");
    if (!etcd) {
      summary.push("etcd-3 with real etcd: skipped (no etcd binary)");
      return t.skip("no etcd binary on this machine (Debian: etcd-server)");
    }
    const version = (await run(etcd, ["--version"])).stdout.split("\n")[0];
    await buildEtcdImage(docker, etcd1.images[0]!.name, ETCD_IMAGE, etcd);
    if (!engine!.started) createdImages.push(ETCD_IMAGE);
    log(`${ETCD_IMAGE}: ${version} FROM ${etcd1.images[0]!.name}`);
    // Same declarations as etcd-3 apart from the image.
    assert.deepEqual(
      etcd3Real.containers.map(({ imageId: _i, ...c }) => c),
      etcd3.containers.map(({ imageId: _i, ...c }) => c),
    );
    assert.deepEqual(etcd3Real.networks, etcd3.networks);
    await threeMembers(etcd3Real, "etcd-3 with real etcd", FORM_MS);
  });

  test(`etcd-3 (etcd-ts): ${etcd3.plan.members.length} members from the plan form a cluster that survives its leader's docker kill`, async (t) => {
    if (!needEngine(t)) return;
    needImage();
    await threeMembers(etcd3, "etcd-3 with etcd-ts", FORM_MS);
  });

  test("terraform apply/destroy of the synthesized etcd-1 stack (what cdktf deploy/destroy run)", async (t) => {
    if (!needEngine(t)) return;
    needImage();
    const terraform = which("terraform");
    if (!terraform) {
      summary.push("terraform variant: skipped (no terraform)");
      return t.skip("terraform is not installed");
    }
    const out = mkdtempSync(join(tmpdir(), "etcdkit-tf-"));
    try {
      const extra: Record<string, string> = { ETCDKIT_SIZES: "1", ETCDKIT_STATE_DIR: join(out, "state") };
      if (docker.host) extra.ETCDKIT_DOCKER_HOST = docker.host;
      const tfOptions = readStackOptions(ROOT, stackEnv(extra));
      await prepareStackPki(tfOptions, log);
      const { app, stacks: tfStacks } = buildApp(tfOptions, { outdir: join(out, "cdktf.out") });
      app.synth();
      const dir = join(out, "cdktf.out", "stacks", "etcd-1");
      assert.ok(existsSync(join(dir, "cdk.tf.json")));
      const env = { ...process.env, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
      const tf = (args: string[], timeoutMs = 300_000) => run(terraform, [...args, "-input=false", "-no-color"], { cwd: dir, env, timeoutMs, allowFail: true });
      const init = await tf(["init"], 120_000);
      if (init.code !== 0) {
        const text = init.stderr || init.stdout;
        const why = text.slice(Math.max(0, text.indexOf("Error:"))).replace(/[│╷╵]/g, " ").replace(/\s+/g, " ").trim();
        const reason = `terraform init cannot install the kreuzwerker/docker provider here: ${why.slice(0, 300)}`;
        log(`SKIP ${reason}`);
        summary.push("terraform variant: skipped (provider cannot be installed)");
        return t.skip(reason);
      }
      const s = (await synthWithPki(stackEnv(extra))).get("etcd-1")!.declared;
      const tls = clientTlsOf(s);
      touched.push(s);
      try {
        const apply = await tf(["apply", "-auto-approve"], 600_000);
        assert.equal(apply.code, 0, apply.stderr || apply.stdout);
        const url = tfStacks[0]!.plan.members[0]!.clientUrl;
        assert.ok(await waitFor(() => healthy(url, tls), 60_000), `not healthy at ${url}`);
        for (const c of s.containers) assert.ok(await docker.inspect("container", c.name), `${c.name} created by terraform`);
        const r = await ctl(tls, url, ["put", "tf/key", "v"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal((await ctl(tls, url, ["get", "tf/key", "--print-value-only"])).stdout.trim(), "v");
      } finally {
        const destroy = await tf(["destroy", "-auto-approve"], 300_000);
        assert.equal(destroy.code, 0, destroy.stderr || destroy.stdout);
        assert.deepEqual(await leftovers(docker, s), []);
      }
      summary.push("terraform variant: ran (apply, health, put/get, destroy)");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("nothing of the stacks is left on the engine", async (t) => {
    if (!needEngine(t)) return;
    for (const s of [etcd1, etcd3]) assert.deepEqual(await leftovers(docker, s), [], s.name);
  });
});
