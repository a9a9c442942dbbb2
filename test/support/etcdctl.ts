import { spawn } from "node:child_process";

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs Debian's etcdctl (v3 API) against one or more endpoints, with optional stdin. A later
 * --command-timeout in `args` wins over the default 10 s.
 */
export function etcdctl(endpoints: string | readonly string[], args: readonly string[], stdin?: string, timeoutMs = 15000): Promise<CtlResult> {
  const endpoint = typeof endpoints === "string" ? endpoints : endpoints.join(",");
  return new Promise((resolve, reject) => {
    const child = spawn("etcdctl", [`--endpoints=${endpoint}`, "--command-timeout=10s", ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    if (child.stdin) {
      // etcdctl may exit before reading its input: that is its answer, not a test crash.
      child.stdin.on("error", () => undefined);
      child.stdin.end(stdin);
    }
  });
}

/** etcdctl output with what legitimately differs between two servers removed: cluster/member IDs, timings. */
export function normalize(r: CtlResult): { code: number; out: unknown; err: string } {
  // Interactive commands (txn -i) print their prompts before the JSON document.
  const lines = r.stdout.trimEnd().split("\n");
  const at = lines.findIndex((l) => l.startsWith("{") || l.startsWith("["));
  let out: unknown = r.stdout;
  if (at >= 0) {
    try {
      out = [...lines.slice(0, at), stripIds(JSON.parse(lines.slice(at).join("\n").replace(/:\s*(\d{16,})/g, ':"$1"')))];
    } catch {
      out = r.stdout;
    }
  }
  return { code: r.code, out, err: r.stderr.replace(/took:?\s*\S+/g, "took").replace(/\{"level".*\n?/g, "") };
}

function stripIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (["cluster_id", "member_id", "ID", "leader", "Endpoint"].includes(k)) continue;
      o[k] = stripIds(x);
    }
    return o;
  }
  return v;
}

/**
 * Runs an `etcdctl --endpoints=... [--cacert=... --cert=... --key=...]` line as the kit prints it (copy-paste,
 * as a user would), with `args` in place of its trailing command. Paths must not hold spaces.
 */
export function etcdctlFromLine(line: string, args: readonly string[], stdin?: string): Promise<CtlResult> {
  const words = line.trim().split(/\s+/);
  if (words[0] !== "etcdctl") throw new Error(`not an etcdctl line: ${line}`);
  const flags = words.slice(1).filter((w) => w.startsWith("--"));
  const endpoints = flags.find((f) => f.startsWith("--endpoints="));
  if (!endpoints) throw new Error(`no --endpoints in ${line}`);
  return etcdctl(endpoints.slice("--endpoints=".length), [...flags.filter((f) => f !== endpoints), ...args], stdin);
}
