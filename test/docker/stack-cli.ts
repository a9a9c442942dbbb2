/**
 * A CDKTF stack, applied with the Docker CLI instead of Terraform: the stack is synthesized
 * in-process from the same options and topology plan `cdktf synth` uses, and each declared
 * docker_image / docker_network / docker_volume / docker_container becomes the `docker` command
 * that creates the same thing. Attributes this file does not know are refused (a construct that
 * grows a setting must grow a translation here too), and `verifyContainer` reads every created
 * container back with `docker inspect` and compares it with the declaration. The TLS stacks'
 * certificate folder (a read-only bind `mounts` entry, staged by `prepareStackPki` as `cdktf synth`
 * does) becomes `--mount type=bind,...,readonly`, and `group_add` becomes `--group-add`.
 *
 * One thing the CLI cannot say: an exec-form health check (`--health-cmd` is always CMD-SHELL,
 * which a shell-less image cannot run). The stack's health-check test must therefore equal the
 * image's own exec-form HEALTHCHECK, which the container inherits; interval, timeout, retries and
 * start period are passed as flags. `verifyContainer` checks the result.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Testing } from "cdktf";
import { buildApp } from "../../stacks/app.js";
import type { EtcdClusterStack } from "../../stacks/etcd-cluster-stack.js";
import type { StacksOptions } from "../../stacks/options.js";
import type { TopologyPlan } from "../../topology/index.js";
import type { Docker } from "./docker.js";

type Json = Record<string, any>;

export interface DeclaredImage {
  readonly id: string;
  readonly name: string;
  readonly build?: { context: string; dockerfile: string; buildArgs: Record<string, string>; tags: string[]; labels: Record<string, string> };
}
export interface DeclaredNetwork {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly labels: Record<string, string>;
}
export interface DeclaredVolume {
  readonly id: string;
  readonly name: string;
  readonly labels: Record<string, string>;
}
export interface DeclaredContainer {
  readonly id: string;
  readonly name: string;
  readonly hostname: string;
  /** The docker_image resource whose image the container runs. */
  readonly imageId: string;
  readonly env: string[];
  readonly networks: { name: string; ipv4Address: string; aliases: string[] }[];
  readonly ports: { internal: number; external: number; ip: string; protocol: string }[];
  readonly mounts: { volume: string; target: string }[];
  /** Bind mounts (the TLS stacks' certificate folder, read-only). */
  readonly binds: { source: string; target: string; readOnly: boolean }[];
  /** Supplementary groups (group_add): the deploying user's group when the certificates stay theirs. */
  readonly groupAdd: string[];
  readonly healthcheck: { test: string[]; interval: string; timeout: string; retries: number; startPeriod: string };
  readonly restart: string;
  readonly mustRun: boolean;
  readonly labels: Record<string, string>;
}

/**
 * The stack's backup container (constructs/backup.ts): created, never started by Terraform
 * (`start = false`); each `docker start -a` runs its entrypoint (`etcdkit backup`) once.
 */
export interface DeclaredBackup {
  readonly id: string;
  readonly name: string;
  readonly imageId: string;
  readonly entrypoint: string[];
  readonly networks: string[];
  readonly mounts: { volume: string; target: string }[];
  readonly binds: { source: string; target: string; readOnly: boolean }[];
  readonly groupAdd: string[];
  readonly labels: Record<string, string>;
}

export interface DeclaredStack {
  readonly name: string;
  readonly plan: TopologyPlan;
  readonly images: DeclaredImage[];
  readonly networks: DeclaredNetwork[];
  readonly volumes: DeclaredVolume[];
  /** The members' containers. */
  readonly containers: DeclaredContainer[];
  /** The scheduled-backup container, when the stack has one. */
  readonly backups: DeclaredBackup[];
  /** The synthesized Terraform JSON. */
  readonly json: Json;
}

/** Synthesizes the stacks of `options` in-process (as `cdktf synth` does) and returns them by name. */
export function synthStacks(options: StacksOptions): Map<string, { stack: EtcdClusterStack; declared: DeclaredStack }> {
  const outdir = mkdtempSync(join(tmpdir(), "etcdkit-docker-synth-"));
  try {
    const { stacks } = buildApp(options, { outdir });
    return new Map(stacks.map((s) => [s.plan.stackName, { stack: s, declared: readStack(s.plan.stackName, s.plan, JSON.parse(Testing.synth(s)) as Json) }]));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function only(what: string, obj: Json, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (k === "//") continue; // cdktf metadata
    if (!known.includes(k)) throw new Error(`${what} declares "${k}", which the Docker CLI runner does not translate: teach test/docker/stack-cli.ts`);
  }
}

function labelMap(what: string, labels: Json[] | Record<string, string> | undefined): Record<string, string> {
  if (!labels) return {};
  if (!Array.isArray(labels)) return { ...labels };
  return Object.fromEntries(
    labels.map((l) => {
      only(`${what} label`, l, ["label", "value"]);
      return [l.label as string, l.value as string];
    }),
  );
}

const REF = /^\$\{(docker_[a-z_]+)\.([^.}]+)\.([a-z_]+)\}$/;

/** `${docker_network.ID.name}` -> the declared name; anything else must be a literal. */
function resolveName(json: Json, value: string, type: string): string {
  const m = REF.exec(value);
  if (!m) return value;
  if (m[1] !== type || m[3] !== "name") throw new Error(`unexpected reference ${value} (wanted ${type}.*.name)`);
  const r = json.resource?.[type]?.[m[2]!];
  if (!r) throw new Error(`reference ${value} to a resource the stack does not declare`);
  return r.name as string;
}

/** Reads the stack's docker resources, refusing attributes it cannot translate. */
export function readStack(name: string, plan: TopologyPlan, json: Json): DeclaredStack {
  const res = (type: string): [string, Json][] => Object.entries((json.resource?.[type] ?? {}) as Record<string, Json>);
  for (const type of Object.keys(json.resource ?? {})) {
    if (!["docker_image", "docker_network", "docker_volume", "docker_container"].includes(type)) throw new Error(`stack ${name} declares ${type}: not translated`);
  }
  const images = res("docker_image").map(([id, r]): DeclaredImage => {
    only(`docker_image ${id}`, r, ["name", "keep_locally", "build", "triggers"]);
    if (!r.build) return { id, name: r.name };
    const b = r.build as Json;
    only(`docker_image ${id} build`, b, ["context", "dockerfile", "build_args", "tag", "label"]);
    return {
      id,
      name: r.name,
      build: { context: b.context, dockerfile: b.dockerfile ?? "Dockerfile", buildArgs: { ...(b.build_args ?? {}) }, tags: [...(b.tag ?? [r.name])], labels: labelMap(id, b.label) },
    };
  });
  const networks = res("docker_network").map(([id, r]): DeclaredNetwork => {
    only(`docker_network ${id}`, r, ["name", "driver", "ipam_config", "labels"]);
    if ((r.ipam_config ?? []).length !== 1) throw new Error(`docker_network ${id}: one ipam_config expected`);
    const ipam = r.ipam_config[0] as Json;
    only(`docker_network ${id} ipam_config`, ipam, ["subnet", "gateway"]);
    return { id, name: r.name, driver: r.driver ?? "bridge", subnet: ipam.subnet, gateway: ipam.gateway, labels: labelMap(id, r.labels) };
  });
  const volumes = res("docker_volume").map(([id, r]): DeclaredVolume => {
    only(`docker_volume ${id}`, r, ["name", "labels"]);
    return { id, name: r.name, labels: labelMap(id, r.labels) };
  });
  const isBackup = (r: Json) => ((r.labels ?? []) as Json[]).some((l) => l.label === "etcdkit.role" && l.value === "backup");
  const mountsOf = (id: string, r: Json) => ({
    mounts: (r.volumes ?? []).map((v: Json) => {
      only(`docker_container ${id} volumes`, v, ["volume_name", "container_path"]);
      return { volume: resolveName(json, v.volume_name, "docker_volume"), target: v.container_path };
    }),
    binds: (r.mounts ?? []).map((m: Json) => {
      only(`docker_container ${id} mounts`, m, ["type", "source", "target", "read_only"]);
      if (m.type !== "bind") throw new Error(`docker_container ${id}: a ${m.type} mount is not translated (only bind)`);
      return { source: m.source, target: m.target, readOnly: m.read_only === true };
    }),
  });
  const imageOf = (id: string, r: Json) => {
    const img = REF.exec(r.image as string);
    if (!img || img[1] !== "docker_image" || img[3] !== "image_id") throw new Error(`docker_container ${id}: image ${r.image} is not a docker_image reference`);
    return img[2]!;
  };
  const backups = res("docker_container")
    .filter(([, r]) => isBackup(r))
    .map(([id, r]): DeclaredBackup => {
      only(`docker_container ${id}`, r, ["name", "image", "entrypoint", "networks_advanced", "volumes", "mounts", "group_add", "start", "must_run", "restart", "labels"]);
      if (r.start !== false || r.must_run !== false || r.restart !== "no") throw new Error(`backup container ${id}: must be created only (start false, must_run false, restart no)`);
      return {
        id,
        name: r.name,
        imageId: imageOf(id, r),
        entrypoint: [...r.entrypoint],
        networks: (r.networks_advanced ?? []).map((n: Json) => {
          only(`docker_container ${id} networks_advanced`, n, ["name"]);
          return resolveName(json, n.name, "docker_network");
        }),
        ...mountsOf(id, r),
        groupAdd: [...(r.group_add ?? [])].map(String),
        labels: labelMap(id, r.labels),
      };
    });
  const containers = res("docker_container").filter(([, r]) => !isBackup(r)).map(([id, r]): DeclaredContainer => {
    only(`docker_container ${id}`, r, ["name", "hostname", "image", "env", "networks_advanced", "ports", "volumes", "mounts", "group_add", "healthcheck", "restart", "must_run", "labels"]);
    const hc = r.healthcheck as Json;
    only(`docker_container ${id} healthcheck`, hc, ["test", "interval", "timeout", "retries", "start_period"]);
    return {
      id,
      name: r.name,
      hostname: r.hostname,
      imageId: imageOf(id, r),
      env: [...(r.env ?? [])],
      networks: (r.networks_advanced ?? []).map((n: Json) => {
        only(`docker_container ${id} networks_advanced`, n, ["name", "ipv4_address", "aliases"]);
        return { name: resolveName(json, n.name, "docker_network"), ipv4Address: n.ipv4_address, aliases: [...(n.aliases ?? [])] };
      }),
      ports: (r.ports ?? []).map((p: Json) => {
        only(`docker_container ${id} ports`, p, ["internal", "external", "ip", "protocol"]);
        return { internal: p.internal, external: p.external, ip: p.ip ?? "0.0.0.0", protocol: p.protocol ?? "tcp" };
      }),
      ...mountsOf(id, r),
      groupAdd: [...(r.group_add ?? [])].map(String),
      healthcheck: { test: [...hc.test], interval: hc.interval, timeout: hc.timeout, retries: hc.retries, startPeriod: hc.start_period },
      restart: r.restart ?? "no",
      mustRun: r.must_run ?? true,
      labels: labelMap(id, r.labels),
    };
  });
  return { name, plan, images, networks, volumes, containers, backups, json };
}

const flags = (flag: string, labels: Record<string, string>) => Object.entries(labels).flatMap(([k, v]) => [flag, `${k}=${v}`]);

/** `docker build` of a declared image (the stack's build context, Dockerfile, build args, tags, labels). */
export async function buildImage(docker: Docker, image: DeclaredImage): Promise<void> {
  const b = image.build;
  if (!b) throw new Error(`docker_image ${image.name} has no build: it must exist already`);
  await docker.run(
    [
      "build",
      "--file",
      join(b.context, b.dockerfile),
      ...Object.entries(b.buildArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...b.tags.flatMap((t) => ["--tag", t]),
      ...flags("--label", b.labels),
      b.context,
    ],
    { timeoutMs: 300_000, env: { DOCKER_BUILDKIT: "0" } }, // the legacy builder, as the Terraform provider uses it
  );
}

/** Go duration strings as the stack writes them (5s, 20s, 1m30s) in nanoseconds, as `docker inspect` shows them. */
export function durationNs(d: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let m: RegExpExecArray | null;
  let matched = "";
  while ((m = re.exec(d))) {
    matched += m[0];
    total += Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as "ms" | "s" | "m" | "h"];
  }
  if (matched !== d) throw new Error(`not a duration: ${d}`);
  return Math.round(total);
}

export interface Applied {
  /** docker_image resource id -> image ID the containers run. */
  readonly imageIds: Map<string, string>;
}

/**
 * Creates what the stack declares, in Terraform's order: image (built, or an existing local
 * image: nothing is pulled), network, volumes, containers (started when must_run).
 */
export async function applyStack(docker: Docker, s: DeclaredStack, opts: { build: boolean }): Promise<Applied> {
  const imageIds = new Map<string, string>();
  for (const img of s.images) {
    if (img.build && opts.build) await buildImage(docker, img);
    const inspected = await docker.inspect<{ Id: string }>("image", img.name);
    if (!inspected) throw new Error(`image ${img.name} is not on the engine (nothing can be pulled here): build it first`);
    imageIds.set(img.id, inspected.Id);
  }
  for (const n of s.networks) {
    await docker.run(["network", "create", "--driver", n.driver, "--subnet", n.subnet, "--gateway", n.gateway, ...flags("--label", n.labels), n.name]);
  }
  for (const v of s.volumes) await docker.run(["volume", "create", ...flags("--label", v.labels), v.name]);
  for (const c of s.containers) await createContainer(docker, c, imageIds);
  for (const b of s.backups) await createBackupContainer(docker, b, imageIds);
  return { imageIds };
}

/** `docker create` of the backup container, not started (Terraform's start = false): `docker start -a` runs one backup. */
export async function createBackupContainer(docker: Docker, b: DeclaredBackup, imageIds: Map<string, string>): Promise<void> {
  const image = imageIds.get(b.imageId);
  if (!image) throw new Error(`container ${b.name}: image resource ${b.imageId} was not applied`);
  const [entry, ...args] = b.entrypoint;
  const [first, ...more] = b.networks;
  await docker.run([
    "create",
    "--name",
    b.name,
    "--entrypoint",
    entry!,
    ...(first ? ["--network", first] : []),
    ...b.mounts.flatMap((m) => ["--mount", `type=volume,source=${m.volume},target=${m.target}`]),
    ...b.binds.flatMap((x) => ["--mount", `type=bind,source=${x.source},target=${x.target}${x.readOnly ? ",readonly" : ""}`]),
    ...b.groupAdd.flatMap((g) => ["--group-add", g]),
    "--restart",
    "no",
    ...flags("--label", b.labels),
    image,
    ...args,
  ]);
  for (const n of more) await docker.run(["network", "connect", n, b.name]);
}

/** `docker create` (+ `network connect` for further networks) and `docker start` of one declared container. */
export async function createContainer(docker: Docker, c: DeclaredContainer, imageIds: Map<string, string>): Promise<void> {
  const image = imageIds.get(c.imageId);
  if (!image) throw new Error(`container ${c.name}: image resource ${c.imageId} was not applied`);
  const img = await docker.inspect<{ Config: { Healthcheck?: { Test?: string[] } } }>("image", image);
  const imageTest = img?.Config.Healthcheck?.Test ?? [];
  if (JSON.stringify(imageTest) !== JSON.stringify(c.healthcheck.test)) {
    throw new Error(
      `container ${c.name}: the stack's health check ${JSON.stringify(c.healthcheck.test)} differs from the image's HEALTHCHECK ${JSON.stringify(imageTest)}; ` +
        "the Docker CLI can only set shell-form health checks, so they must agree",
    );
  }
  const [first, ...more] = c.networks;
  await docker.run([
    "create",
    "--name",
    c.name,
    "--hostname",
    c.hostname,
    ...c.env.flatMap((e) => ["--env", e]),
    ...(first ? ["--network", first.name, "--ip", first.ipv4Address, ...first.aliases.flatMap((a) => ["--network-alias", a])] : []),
    ...c.ports.flatMap((p) => ["--publish", `${p.ip}:${p.external}:${p.internal}/${p.protocol}`]),
    ...c.mounts.flatMap((m) => ["--mount", `type=volume,source=${m.volume},target=${m.target}`]),
    ...c.binds.flatMap((b) => ["--mount", `type=bind,source=${b.source},target=${b.target}${b.readOnly ? ",readonly" : ""}`]),
    ...c.groupAdd.flatMap((g) => ["--group-add", g]),
    "--health-interval",
    c.healthcheck.interval,
    "--health-timeout",
    c.healthcheck.timeout,
    "--health-retries",
    String(c.healthcheck.retries),
    "--health-start-period",
    c.healthcheck.startPeriod,
    "--restart",
    c.restart,
    ...flags("--label", c.labels),
    image,
  ]);
  for (const n of more) await docker.run(["network", "connect", "--ip", n.ipv4Address, ...n.aliases.flatMap((a) => ["--alias", a]), n.name, c.name]);
  if (c.mustRun) await docker.run(["start", c.name]);
}

/** Differences between a created container (docker inspect) and its declaration; empty when they agree. */
export async function verifyContainer(docker: Docker, c: DeclaredContainer, imageId: string): Promise<string[]> {
  const i = await docker.inspect<Json>("container", c.name);
  if (!i) return [`container ${c.name} does not exist`];
  const diffs: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`${c.name} ${what}: got ${JSON.stringify(got)}, declared ${JSON.stringify(want)}`);
  };
  eq("image", i.Image, imageId);
  eq("hostname", i.Config.Hostname, c.hostname);
  const env = new Set(i.Config.Env as string[]);
  for (const e of c.env) if (!env.has(e)) diffs.push(`${c.name} env: ${e} missing`);
  for (const n of c.networks) {
    const got = i.NetworkSettings.Networks?.[n.name];
    if (!got) {
      diffs.push(`${c.name}: not on network ${n.name}`);
      continue;
    }
    eq(`address on ${n.name}`, got.IPAMConfig?.IPv4Address, n.ipv4Address);
    eq(`live address on ${n.name}`, got.IPAddress, n.ipv4Address);
    for (const a of n.aliases) if (!(got.Aliases ?? []).includes(a)) diffs.push(`${c.name}: alias ${a} missing on ${n.name}`);
  }
  for (const p of c.ports) eq(`publication of ${p.internal}/${p.protocol}`, i.HostConfig.PortBindings?.[`${p.internal}/${p.protocol}`], [{ HostIp: p.ip, HostPort: String(p.external) }]);
  eq("publications", Object.keys(i.HostConfig.PortBindings ?? {}).length, c.ports.length);
  for (const m of c.mounts) {
    const got = (i.Mounts as Json[]).find((x) => x.Destination === m.target);
    eq(`mount at ${m.target}`, got ? { type: got.Type, name: got.Name } : undefined, { type: "volume", name: m.volume });
  }
  for (const b of c.binds) {
    const got = (i.Mounts as Json[]).find((x) => x.Destination === b.target);
    eq(`bind mount at ${b.target}`, got ? { type: got.Type, source: got.Source, rw: got.RW } : undefined, { type: "bind", source: b.source, rw: !b.readOnly });
  }
  eq("mounts", (i.Mounts as Json[]).length, c.mounts.length + c.binds.length);
  eq("supplementary groups", i.HostConfig.GroupAdd ?? [], c.groupAdd);
  eq("health check", i.Config.Healthcheck, {
    Test: c.healthcheck.test,
    Interval: durationNs(c.healthcheck.interval),
    Timeout: durationNs(c.healthcheck.timeout),
    StartPeriod: durationNs(c.healthcheck.startPeriod),
    Retries: c.healthcheck.retries,
  });
  eq("restart policy", i.HostConfig.RestartPolicy?.Name, c.restart);
  for (const [k, v] of Object.entries(c.labels)) eq(`label ${k}`, i.Config.Labels?.[k], v);
  if (c.mustRun) eq("running", i.State.Running, true);
  return diffs;
}

/** Differences between the created network and its declaration. */
export async function verifyNetwork(docker: Docker, n: DeclaredNetwork): Promise<string[]> {
  const i = await docker.inspect<Json>("network", n.name);
  if (!i) return [`network ${n.name} does not exist`];
  const diffs: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`network ${n.name} ${what}: got ${JSON.stringify(got)}, declared ${JSON.stringify(want)}`);
  };
  eq("driver", i.Driver, n.driver);
  eq("ipam", (i.IPAM.Config as Json[]).map((c) => ({ subnet: c.Subnet, gateway: c.Gateway })), [{ subnet: n.subnet, gateway: n.gateway }]);
  for (const [k, v] of Object.entries(n.labels)) eq(`label ${k}`, i.Labels?.[k], v);
  return diffs;
}

/** Removes what applyStack created (images are kept, like the stack's keep_locally). */
export async function destroyStack(docker: Docker, s: DeclaredStack): Promise<void> {
  for (const c of [...s.containers, ...s.backups]) await docker.run(["rm", "--force", "--volumes", c.name], { allowFail: true });
  for (const v of s.volumes) await docker.run(["volume", "rm", "--force", v.name], { allowFail: true });
  for (const n of s.networks) await docker.run(["network", "rm", n.name], { allowFail: true });
}

/** What is left of a stack on the engine: containers, volumes, networks with the stack's label or a declared name. */
export async function leftovers(docker: Docker, s: DeclaredStack): Promise<string[]> {
  const lines = async (args: string[]) => (await docker.out(args)).split("\n").filter(Boolean);
  const label = `label=etcdkit.stack=${s.name}`;
  const left = new Set<string>();
  const containers = new Set([...s.containers, ...s.backups].map((c) => c.name));
  const volumes = new Set(s.volumes.map((v) => v.name));
  const networks = new Set(s.networks.map((n) => n.name));
  for (const x of await lines(["ps", "--all", "--filter", label, "--format", "{{.Names}}"])) left.add(`container ${x}`);
  for (const x of await lines(["ps", "--all", "--format", "{{.Names}}"])) if (containers.has(x)) left.add(`container ${x}`);
  for (const x of await lines(["volume", "ls", "--filter", label, "--format", "{{.Name}}"])) left.add(`volume ${x}`);
  for (const x of await lines(["volume", "ls", "--format", "{{.Name}}"])) if (volumes.has(x)) left.add(`volume ${x}`);
  for (const x of await lines(["network", "ls", "--filter", label, "--format", "{{.Name}}"])) left.add(`network ${x}`);
  for (const x of await lines(["network", "ls", "--format", "{{.Name}}"])) if (networks.has(x)) left.add(`network ${x}`);
  return [...left].sort();
}
