/** A member's HTTP endpoints: /health and /metrics (served on the client URL by etcd 3.4+ and etcd-ts). */

export async function isHealthy(clientUrl: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { health?: unknown };
    return body.health === "true" || body.health === true;
  } catch {
    return false;
  }
}

/** true/false from `etcd_server_is_leader`, undefined when the member does not answer. */
export async function isLeader(clientUrl: string, timeoutMs = 1000): Promise<boolean | undefined> {
  try {
    const res = await fetch(`${clientUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const m = /^etcd_server_is_leader\s+([0-9.e+-]+)\s*$/m.exec(await res.text());
    return m ? Number(m[1]) === 1 : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true or the deadline passes; `failFast` may throw to stop early. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, failFast?: () => Promise<void> | void, intervalMs = 150): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (failFast) await failFast();
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
