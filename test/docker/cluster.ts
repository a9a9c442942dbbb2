/** Asking a deployed cluster how it is, through the ports published on 127.0.0.1 only. */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpGet, type ClientTlsFiles } from "../../ansible-free-scripts/common/health.js";
import type { Docker } from "./docker.js";
import type { DeclaredStack } from "./stack-cli.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or the time is up (undefined). */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(everyMs);
  }
}

/** GET `/health` or `/metrics` with a timeout, over https with the client certificate when `tls` is given (a TLS stack requires one). */
async function get(url: string, tls: ClientTlsFiles | undefined, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const r = await httpGet(url, timeoutMs, tls);
  if (!r) throw new Error(`GET ${url}: no answer within ${timeoutMs} ms`);
  return r;
}

/** `/health` says {"health":"true"}. */
export async function healthy(clientUrl: string, tls?: ClientTlsFiles): Promise<boolean> {
  try {
    const r = await get(`${clientUrl}/health`, tls);
    return r.status === 200 && (JSON.parse(r.body) as { health?: string }).health === "true";
  } catch {
    return false;
  }
}

/** Whether an https GET that trusts the CA but presents no client certificate gets any HTTP answer (a TLS stack refuses it). */
export function answersWithoutClientCert(url: string, ca: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(url, { ca: readFileSync(ca), agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
  });
}

/** `etcd_server_is_leader` from `/metrics`: 1, 0, or undefined when the member does not answer. */
export async function isLeader(clientUrl: string, tls?: ClientTlsFiles): Promise<number | undefined> {
  try {
    const r = await get(`${clientUrl}/metrics`, tls);
    const m = /^etcd_server_is_leader(?:\{[^}]*\})?\s+(\d+)/m.exec(r.body);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Indexes (into `urls`) of the members that say they lead. */
export async function leaders(urls: readonly string[], tls?: ClientTlsFiles): Promise<number[]> {
  const says = await Promise.all(urls.map((u) => isLeader(u, tls)));
  return says.flatMap((v, i) => (v === 1 ? [i] : []));
}

/** Docker's own health status of a container (`healthy`, `starting`, `unhealthy`, or none). */
export async function dockerHealth(docker: Docker, name: string): Promise<string | undefined> {
  const i = await docker.inspect<{ State: { Health?: { Status: string } } }>("container", name);
  return i?.State.Health?.Status;
}

/** The last log lines of every container of a stack, for a failure or skip message. */
export async function stackLogs(docker: Docker, s: DeclaredStack, lines = 8): Promise<string> {
  const parts: string[] = [];
  for (const c of s.containers) parts.push(`--- ${c.name} (last ${lines} lines)\n${(await docker.logs(c.name, lines)) || "(no output)"}`);
  return parts.join("\n");
}

/**
 * A second image with real etcd in it: `FROM` the etcd-ts image (same base, user, data volume
 * mount point and exec-form HEALTHCHECK), plus this machine's etcd binary as the entry point.
 */
export async function buildEtcdImage(docker: Docker, fromImage: string, tag: string, etcdBinary = "/usr/bin/etcd"): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), "etcdkit-etcd-image-"));
  try {
    copyFileSync(etcdBinary, join(ctx, "etcd"));
    writeFileSync(
      join(ctx, "Dockerfile"),
      `FROM ${fromImage}\nCOPY etcd /usr/local/bin/etcd\nENTRYPOINT ["/usr/local/bin/etcd"]\nLABEL etcdkit.test=docker-deploy\n`,
    );
    await docker.run(["build", "--tag", tag, ctx], { timeoutMs: 120_000, env: { DOCKER_BUILDKIT: "0" } });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
