/**
 * The health probe of a container (Docker HEALTHCHECK, Kubernetes startup/liveness/readiness exec
 * probes): `node /app/dist/stacks/pod/probe.js [/health|/livez|/readyz]`. It asks the member in its
 * own container, on 127.0.0.1 at the port of ETCD_LISTEN_CLIENT_URLS, over https when that URL
 * is https, checking the member against ETCD_TRUSTED_CA_FILE and presenting the member's own
 * certificate (ETCD_CERT_FILE/ETCD_KEY_FILE: `etcdkit pki` makes member certificates good for
 * client authentication too), so a probe passes a member that requires client certificates,
 * which Kubernetes' httpGet probes cannot. Exit 0 for a healthy answer, 1 otherwise. Shell-free:
 * the image has no shell and no curl.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";

const TIMEOUT_MS = 2500;

export interface ProbeTarget {
  readonly url: string;
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
}

/** Where to ask, from the member's environment: the first client URL, on 127.0.0.1 (its certificate names 127.0.0.1). */
export function probeTarget(env: NodeJS.ProcessEnv, path: string): ProbeTarget {
  const first = (env.ETCD_LISTEN_CLIENT_URLS ?? "http://0.0.0.0:2379").split(",")[0]!.trim();
  const u = new URL(first);
  const url = `${u.protocol}//127.0.0.1:${u.port || "2379"}${path}`;
  if (u.protocol !== "https:") return { url };
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  return { url, tls: { ca: read(env.ETCD_TRUSTED_CA_FILE), cert: read(env.ETCD_CERT_FILE), key: read(env.ETCD_KEY_FILE) } };
}

/** /health wants {"health":"true"}; /livez and /readyz want a 200. */
export function healthyAnswer(path: string, status: number, body: string): boolean {
  if (status !== 200) return false;
  if (path !== "/health") return true;
  try {
    const h = (JSON.parse(body) as { health?: unknown }).health;
    return h === "true" || h === true;
  } catch {
    return false;
  }
}

export function probe(t: ProbeTarget, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onRes = (res: http.IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve(healthyAnswer(path, res.statusCode ?? 0, body)));
    };
    const req = t.url.startsWith("https:") ? https.get(t.url, { ...t.tls, agent: false, timeout: TIMEOUT_MS }, onRes) : http.get(t.url, { agent: false, timeout: TIMEOUT_MS }, onRes);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
  });
}

if (process.argv[1] && /probe\.js$/.test(process.argv[1])) {
  const path = process.argv[2] ?? "/health";
  let ok = false;
  try {
    ok = await probe(probeTarget(process.env, path), path);
  } catch {
    ok = false;
  }
  process.exit(ok ? 0 : 1);
}
